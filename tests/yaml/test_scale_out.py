"""The scale-out manifests, checked without a cluster: the Kubernetes objects against the official
schemas of a current Kubernetes (strict: unknown fields fail), the KServe objects loaded field by
field into the kserve SDK's models (unknown fields fail), the Azure ML Kubernetes deployment with
the SDK's loaders, and autoscale.sh run against a stand-in `az` that records its calls."""

import os
import pathlib
import re
import stat
import subprocess

import kserve
import kubernetes.client
import kubernetes_validate
import pytest
import yaml
from azure.ai.ml import load_online_deployment, load_online_endpoint
from azure.ai.ml.entities import KubernetesOnlineDeployment, KubernetesOnlineEndpoint

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.34.0"


def routes():
    source = (ROOT / "src" / "api" / "routes.rs").read_text()
    return dict(re.findall(r'pub const (\w+_PATH): &str = "([^"]+)";', source))


def documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubernetes_objects():
    return {doc["kind"]: doc for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")) for doc in documents(path)}


@pytest.mark.parametrize("path", sorted((DEPLOY / "kubernetes").glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_objects_validate_strictly(path):
    for doc in documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kubernetes_objects_fit_together_and_the_server():
    objects = kubernetes_objects()
    assert set(objects) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    deployment = objects["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert objects["Service"]["spec"]["selector"] == labels
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == 5001
    assert container["readinessProbe"]["httpGet"]["path"] == routes()["READINESS_PATH"]
    assert container["livenessProbe"]["httpGet"]["path"] == routes()["LIVENESS_PATH"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    # The image's user (Dockerfile `USER`).
    assert "USER 65532:65532" in (ROOT / "Dockerfile").read_text()
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]


def strict_load(value, type_name):
    """Builds the kserve/kubernetes SDK model `type_name` from camelCase YAML, failing on any field
    the model does not have (the SDK's own deserializer would drop it silently)."""
    if value is None:
        return None
    # The kserve models write list[...] and dict(...); the kubernetes client List[...], Dict(...).
    if type_name.lower().startswith("list["):
        assert isinstance(value, list), f"{type_name}: {value!r}"
        return [strict_load(v, type_name[5:-1]) for v in value]
    if type_name.lower().startswith(("dict(", "dict[")):
        assert isinstance(value, dict), f"{type_name}: {value!r}"
        return value
    if type_name in ("str", "int", "bool", "float", "object", "datetime"):
        return value
    model = getattr(kserve, type_name, None) or getattr(kubernetes.client, type_name, None)
    assert model is not None, f"no SDK model {type_name}"
    if type_name in ("ResourceQuantity", "IntOrString") or not hasattr(model, "openapi_types"):
        return value
    assert isinstance(value, dict), f"{type_name}: {value!r}"
    by_key = {key: attribute for attribute, key in model.attribute_map.items()}
    unknown = set(value) - set(by_key)
    assert not unknown, f"{type_name} has no field {sorted(unknown)}"
    return model(**{by_key[k]: strict_load(v, model.openapi_types[by_key[k]]) for k, v in value.items()})


@pytest.mark.parametrize(
    "name,model",
    [
        ("servingruntime.yaml", "V1alpha1ServingRuntime"),
        ("inferenceservice.yaml", "V1beta1InferenceService"),
        ("servingruntime-grpc.yaml", "V1alpha1ServingRuntime"),
        ("inferenceservice-grpc.yaml", "V1beta1InferenceService"),
    ],
)
def test_kserve_objects_load_into_the_sdk_models(name, model):
    (doc,) = documents(DEPLOY / "kserve" / name)
    loaded = strict_load(doc, model)
    assert loaded.api_version.startswith("serving.kserve.io/")


def test_the_inference_service_uses_the_runtime_on_the_v2_protocol():
    (runtime,) = documents(DEPLOY / "kserve" / "servingruntime.yaml")
    (service,) = documents(DEPLOY / "kserve" / "inferenceservice.yaml")
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"] == ["v2"]
    assert model["modelFormat"]["name"] in [f["name"] for f in runtime["spec"]["supportedModelFormats"]]
    container = runtime["spec"]["containers"][0]
    # The server serves the model under the InferenceService's name, on the port KServe routes to.
    assert "--model-name={{.Name}}" in container["args"] and "--model-dir=/mnt/models" in container["args"]
    assert f"--port={container['ports'][0]['containerPort']}" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == routes()["V2_READY_PATH"]


def test_the_grpc_runtime_exposes_the_grpc_port_as_h2c_and_probes_readiness_over_http():
    (runtime,) = documents(DEPLOY / "kserve" / "servingruntime-grpc.yaml")
    (service,) = documents(DEPLOY / "kserve" / "inferenceservice-grpc.yaml")
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"] == ["grpc-v2"]
    container = runtime["spec"]["containers"][0]
    # Knative routes one port: the gRPC one, named h2c (HTTP/2 cleartext), as the server serves it.
    (port,) = container["ports"]
    assert port["name"] == "h2c" and port["containerPort"] == 8081
    assert f"--grpc-port={port['containerPort']}" in container["args"]
    cli = (ROOT / "src" / "config" / "cli.rs").read_text()
    assert 'env = "AML_SCORER_GRPC_PORT", default_value = "8081"' in cli
    # Readiness over the HTTP port inside the pod (a gRPC port answers no HTTP/1.1 probe).
    (http_port,) = [arg.split("=", 1)[1] for arg in container["args"] if arg.startswith("--port=")]
    assert container["readinessProbe"]["exec"]["command"] == ["/aml-scorer", "--probe", f"--port={http_port}"]
    assert 'ENTRYPOINT ["/aml-scorer"]' in (ROOT / "Dockerfile").read_text()
    assert container["livenessProbe"]["tcpSocket"]["port"] == port["containerPort"]
    assert "--model-name={{.Name}}" in container["args"] and "--model-dir=/mnt/models" in container["args"]


def test_the_azure_ml_kubernetes_deployment_loads_with_requests_and_limits():
    endpoint = load_online_endpoint(DEPLOY / "azureml" / "endpoint-k8s.yml")
    deployment = load_online_deployment(DEPLOY / "azureml" / "deployment-k8s.yml")
    assert isinstance(endpoint, KubernetesOnlineEndpoint) and endpoint.compute
    assert isinstance(deployment, KubernetesOnlineDeployment)
    assert deployment.endpoint_name == endpoint.name
    assert deployment.instance_type and deployment.instance_count >= 2
    assert deployment.resources.requests.cpu and deployment.resources.limits.memory
    config = deployment.environment.inference_config
    assert config.readiness_route.path == routes()["READINESS_PATH"]
    assert config.scoring_route.path == routes()["SCORING_PATH"]


def test_autoscale_creates_cpu_and_request_rules_for_the_deployment(tmp_path):
    calls = tmp_path / "calls"
    az = tmp_path / "az"
    # A stand-in `az`: records each call; `show` answers a resource id.
    az.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$CALLS"\n'
        'case "$*" in *" show "*) echo "/subscriptions/s/resourceGroups/rg/providers/x/$2";; esac\n'
    )
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", CALLS=str(calls), RESOURCE_GROUP="rg", WORKSPACE="ws")
    result = subprocess.run([DEPLOY / "azureml" / "autoscale.sh"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    assert any(l.startswith("monitor autoscale create") and "--min-count 2" in l and "--resource /subscriptions/" in l for l in lines)
    rules = [l for l in lines if l.startswith("monitor autoscale rule create")]
    assert any("CpuUtilizationPercentage > 70" in r and "--scale out" in r for r in rules)
    assert any("CpuUtilizationPercentage < 25" in r and "--scale in" in r for r in rules)
    assert any("RequestsPerMinute > 840000" in r and "deployment == blue" in r and "--resource /subscriptions/" in r for r in rules)
    # Without the workspace settings it stops before calling Azure.
    bare = {k: v for k, v in env.items() if k != "WORKSPACE"}
    assert subprocess.run([DEPLOY / "azureml" / "autoscale.sh"], env=bare, capture_output=True).returncode != 0
