"""Endpoints against moto (create, reuse by name, delete), and a GPTAPI whose calls go through
boto3's sagemaker-runtime client to a local ``agentgpt serve`` (the runtime's endpoint URL
points at it; the SageMaker API itself is moto)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from agentgpt_trainer_sagemaker.aws import Aws, SageMakerError
from agentgpt_trainer_sagemaker.config import load_config
from agentgpt_trainer_sagemaker.endpoints import delete_endpoint, deploy, list_endpoints

MODEL = "s3://agentgpt-test/jobs/agentgpt-1/output/model.tar.gz"


def _targets(requests: list[dict]) -> list[str]:
    names = []
    for request in requests:
        target = {k.lower(): v for k, v in (request.get("headers") or {}).items()}.get("x-amz-target", "")
        if target:
            names.append(target.rsplit(".", 1)[-1])
    return names


def test_an_endpoint_is_created_then_reused_by_name_then_deleted(account, aws, recorded):
    config = load_config(None, {**account, "endpoint_instance_type": "ml.c5.large", "endpoint_instance_count": 2})
    lines: list[str] = []
    name = deploy(Aws(), config, MODEL, "cartpole-live", echo=lines.append, poll_s=0.01)
    assert name == "cartpole-live"
    sagemaker = aws.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService"
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.large", 2)
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Image"] == account["image_uri"] and model["PrimaryContainer"]["ModelDataUrl"] == MODEL
    assert model["ExecutionRoleArn"] == account["role_arn"]

    assert deploy(Aws(), config, None, "cartpole-live", echo=lines.append, poll_s=0.01) == name
    assert lines[-1] == "reusing endpoint cartpole-live (InService)"
    assert _targets(recorded()).count("CreateEndpoint") == 1 and _targets(recorded()).count("CreateModel") == 1
    assert [e["EndpointName"] for e in list_endpoints(Aws())] == [name]

    assert delete_endpoint(Aws(), name) == [f"endpoint {name}", f"endpoint config {name}", f"model {name}"]
    assert list_endpoints(Aws()) == [] and sagemaker.list_models()["Models"] == []


def test_reusing_a_name_that_does_not_exist_needs_a_policy(account, aws):
    with pytest.raises(SageMakerError, match="no endpoint 'nothing-here' to reuse"):
        deploy(Aws(), load_config(None, account), None, "nothing-here", poll_s=0.01)
    with pytest.raises(SageMakerError, match="^no endpoint nothing-here in us-east-1$"):
        delete_endpoint(Aws(), "nothing-here")


def _play(api, seeds=(0, 1, 2), max_steps=200) -> tuple[list[float], list[int]]:
    """Three CartPole envs as three agents (None for a finished one); returns and every action taken."""
    envs = [gymnasium.make("CartPole-v1") for _ in seeds]
    observations = [env.reset(seed=seed)[0] for env, seed in zip(envs, seeds)]
    returns, done, taken = [0.0] * 3, [False] * 3, []
    ids = [f"cart-{i}" for i in range(3)]
    for _ in range(max_steps):
        actions = api.select_action(ids, [None if d else o for d, o in zip(done, observations)])
        for i, env in enumerate(envs):
            if not done[i]:
                taken.append(int(actions[i]))
                observations[i], reward, terminated, truncated, _ = env.step(int(actions[i]))
                returns[i] += reward
                done[i] = terminated or truncated
        if all(done):
            break
    api.terminate_agents(ids)
    return returns, taken


def test_run_on_cloud_gives_a_gptapi_that_drives_three_cartpoles_through_the_runtime(account, aws, local_serve, tiny_policy, monkeypatch):
    from agentgpt_core import GPTAPI
    from agentgpt_core.plugins import get_plugin_manager
    from agentgpt_core.serve import InferenceService
    from agentgpt_trainer_sagemaker import run_on_cloud

    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", local_serve)  # InvokeEndpoint -> POST {url}/endpoints/NAME/invocations
    config = load_config(None, account)
    with run_on_cloud(config, "cartpole-live", policy=tiny_policy, echo=lambda line: None, poll_s=0.01) as api:
        assert api.client.endpoint_name == "cartpole-live"
        assert isinstance(api.action_space, gymnasium.spaces.Discrete) and api.observation_space.shape == (4,)
        returns, taken = _play(api)
        assert api.ping()["ok"] is True
    # The policy went to S3 and the endpoint was made for it.
    model = aws.client("sagemaker").describe_model(ModelName="cartpole-live")
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://agentgpt-test/jobs/models/cartpole-live/model.tar.gz"
    assert aws.client("s3").head_object(Bucket="agentgpt-test", Key="jobs/models/cartpole-live/model.tar.gz")["ContentLength"] > 0
    # The same policy in-process takes the same deterministic actions: the runtime path changes nothing.
    service = InferenceService.from_run(tiny_policy)
    with get_plugin_manager().get("transports", "memory").server(service) as server, GPTAPI.connect(server.url) as direct:
        assert _play(direct) == (returns, taken)
    service.close()
    assert min(returns) >= 8 and len(taken) == sum(returns)


def test_typed_errors_come_back_through_the_runtime_as_the_servers_classes(account, aws, local_serve, monkeypatch):
    from agentgpt_core.protocol.errors import InvalidArgument, UnknownMethod
    from agentgpt_trainer_sagemaker.runtime import SageMakerRuntimeClient
    from agentgpt_core import GPTAPI

    api = GPTAPI(SageMakerRuntimeClient("any-name", endpoint_url=local_serve, codec="json"))
    with pytest.raises(InvalidArgument):
        api.select_action(["a"], [[0.0, 1.0]])  # CartPole observations have 4 numbers
    with pytest.raises(UnknownMethod):
        api.client.call("invocations", {"action": "fly", "args": {}})
    assert api.select_action(["a"], np.zeros((1, 4), np.float32)).shape == (1,)  # still serving
    api.close()


def test_each_runtime_client_is_its_own_session_on_a_shared_endpoint(aws, local_serve):
    """SageMaker passes only its custom-attributes header to the container: that header names the session."""
    from agentgpt_core import GPTAPI
    from agentgpt_trainer_sagemaker.runtime import SageMakerRuntimeClient

    first = GPTAPI(SageMakerRuntimeClient("shared", endpoint_url=local_serve))
    second = GPTAPI(SageMakerRuntimeClient("shared", endpoint_url=local_serve))
    first.select_action(["hero"], np.zeros((1, 4), np.float32))
    assert first.get_agent_ids() == ["hero"] and second.get_agent_ids() == []
    first.close()
    second.close()


def test_the_runtime_path_takes_endpoint_names_only_and_answers_failures_as_sagemaker(local_serve):
    import json
    import urllib.error
    import urllib.request

    def post(path: str, body: dict) -> tuple[int, dict, str]:
        request = urllib.request.Request(local_serve + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read()), answer.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers.get("Content-Type")

    status, body, _ = post("/endpoints/cart-pole-1/invocations", {"action": "sample_action", "args": {"num_agents": 2}})
    assert status == 200 and len(body["actions"]) == 2
    status, body, _ = post("/endpoints/not_a_name/invocations", {"action": "status", "args": {}})
    assert status == 404 and body["error"]["code"] == "unknown_method"
    status, body, _ = post("/endpoints/cart-pole-1/invocations", {"action": "fly", "args": {}})
    assert status == 424 and body["ErrorCode"] == "CLIENT_ERROR_FROM_MODEL" and body["OriginalStatusCode"] == 404
    assert json.loads(body["OriginalMessage"])["error"]["code"] == "unknown_method"


def test_gptapi_connect_reaches_an_endpoint_by_url(aws, local_serve, monkeypatch):
    from agentgpt_core import GPTAPI
    from agentgpt_core.kinds import Unsupported
    from agentgpt_core.plugins import get_plugin_manager, reset_plugin_manager
    from agentgpt_core.protocol.errors import InvalidArgument

    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "http,sagemaker")
    reset_plugin_manager()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", local_serve)
    with GPTAPI.connect("sagemaker://cartpole?region=us-east-1") as api:
        assert api.client.endpoint_name == "cartpole" and api.sample_action(3).shape == (3,)
    with pytest.raises(InvalidArgument, match="sagemaker://ENDPOINT_NAME"):
        GPTAPI.connect("sagemaker://cartpole/extra")
    with pytest.raises(Unsupported):
        get_plugin_manager().get("transports", "sagemaker").server(None)
    reset_plugin_manager()
