"""The endpoint and deployment YAML files load with the Azure ML SDK's own loaders and carry the
routes, port and variables the server uses (route paths are read from src/api/routes.rs)."""

import pathlib
import re

import pytest
from azure.ai.ml import load_online_deployment, load_online_endpoint

ROOT = pathlib.Path(__file__).resolve().parents[2]


def route_constants():
    source = (ROOT / "src" / "api" / "routes.rs").read_text()
    return dict(re.findall(r'pub const (\w+_PATH): &str = "([^"]+)";', source))


@pytest.mark.parametrize("name,identity", [("endpoint.yml", "system_assigned"), ("endpoint-uai.yml", "user_assigned")])
def test_endpoint_loads_with_its_identity(name, identity):
    endpoint = load_online_endpoint(ROOT / name)
    assert endpoint.auth_mode == "key"
    assert endpoint.identity.type == identity
    if identity == "user_assigned":
        assert endpoint.identity.user_assigned_identities[0].resource_id.endswith("/aml-scorer-identity")


@pytest.mark.parametrize("name,endpoint_file", [("deployment.yml", "endpoint.yml"), ("deployment-uai.yml", "endpoint-uai.yml")])
def test_deployment_routes_port_and_variables(name, endpoint_file):
    deployment = load_online_deployment(ROOT / name)
    routes = route_constants()
    config = deployment.environment.inference_config
    assert (config.liveness_route.path, config.liveness_route.port) == (routes["LIVENESS_PATH"], 5001)
    assert (config.readiness_route.path, config.readiness_route.port) == (routes["READINESS_PATH"], 5001)
    assert (config.scoring_route.path, config.scoring_route.port) == (routes["SCORING_PATH"], 5001)
    assert deployment.environment.image.endswith("/aml-scorer:0.1.0")
    variables = deployment.environment_variables
    assert {"STORAGE_ACCOUNT_NAME", "STORAGE_CONTAINER_NAME", "FILE_NAME"} <= set(variables)
    assert ("UAI_CLIENT_ID" in variables) == name.endswith("-uai.yml")
    assert deployment.name == "blue"
    assert deployment.endpoint_name == load_online_endpoint(ROOT / endpoint_file).name
    assert deployment.instance_count >= 1 and deployment.instance_type
    assert deployment.request_settings.max_concurrent_requests_per_instance > 1
    assert deployment.readiness_probe.period <= 10
