"""deployment-monitoring.yml loads with the Azure ML SDK's own loader and asks for the two
collections the server fills (model_inputs, model_outputs), on the routes and port it serves."""

import pathlib

from azure.ai.ml import load_online_deployment

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_monitoring_deployment_collects_inputs_and_outputs():
    deployment = load_online_deployment(ROOT / "deployment-monitoring.yml")
    collector = deployment.data_collector
    assert set(collector.collections) == {"model_inputs", "model_outputs"}
    for collection in collector.collections.values():
        assert str(collection.enabled).lower() == "true"
    assert collector.sampling_rate == 1.0
    assert collector.rolling_rate.lower() == "hour"


def test_monitoring_deployment_is_the_plain_deployment_plus_collection():
    monitored = load_online_deployment(ROOT / "deployment-monitoring.yml")
    plain = load_online_deployment(ROOT / "deployment.yml")
    assert plain.data_collector is None
    assert monitored.environment.image == plain.environment.image
    assert monitored.environment.inference_config.scoring_route.path == plain.environment.inference_config.scoring_route.path
    assert monitored.environment_variables == plain.environment_variables
    assert monitored.endpoint_name == plain.endpoint_name
