"""Typed errors over HTTP: each answered with its status and body, and the host keeps serving others."""

from __future__ import annotations

import gymnasium as gym
import httpx
import msgpack
import numpy as np
import pytest

from agentgpt_core.envs.service import EnvService
from agentgpt_core.protocol.errors import (
    EnvError,
    EnvNotAllowed,
    InvalidAction,
    MalformedPayload,
    PayloadTooLarge,
    Unauthorized,
    UnknownEnvKey,
)
from agentgpt_core.remote import RemoteEnv
from agentgpt_transport_http import HttpClient, HttpServer

from .conftest import KEY, SMALL_BODY_LIMIT

pytestmark = pytest.mark.timeout(60)
AUTH = {"Authorization": f"Bearer {KEY}"}
ODD_ENV = "AgentgptHttpOddObservation-v0"


@pytest.fixture(scope="module")
def bystander(server):
    """An env in its own session, stepped after every error to show the host is unharmed."""
    env = RemoteEnv(server.url, "CartPole-v1", api_key=KEY)
    env.reset(seed=0)
    yield env
    env.close()


@pytest.fixture
def http(url, bystander):
    """A raw httpx client for hand-made requests; checks the bystander still steps afterwards."""
    with httpx.Client(base_url=url, headers={"X-AgentGPT-Session": "raw-requests"}) as client:
        yield client
    _, _, terminated, truncated, _ = bystander.step(0)
    if terminated or truncated:
        bystander.reset()


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    return error


def test_malformed_json_is_400(http):
    response = http.post("/make", headers=AUTH, content=b'{"env_name": "CartPole-v1"')
    assert error_of(response, 400)["code"] == "malformed_payload"


def test_malformed_msgpack_is_400_in_msgpack(http):
    headers = {**AUTH, "Content-Type": "application/msgpack", "Accept": "application/msgpack"}
    response = http.post("/step", headers=headers, content=b"\xc1\xc1")
    assert response.status_code == 400 and response.headers["content-type"] == "application/msgpack"
    assert msgpack.unpackb(response.content)["error"]["code"] == "malformed_payload"


def test_params_that_are_not_an_object_are_400(http):
    assert error_of(http.post("/step", headers=AUTH, json=[1, 2]), 400)["code"] == "malformed_payload"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}])
def test_missing_or_wrong_key_is_401(http, headers):
    assert error_of(http.post("/make", headers=headers, json={"env_name": "CartPole-v1"}), 401)["code"] == "unauthorized"
    assert error_of(http.get("/info", headers=headers), 401)["code"] == "unauthorized"


def test_wrong_key_raises_unauthorized_in_remote_env(url, bystander):
    with pytest.raises(Unauthorized):
        RemoteEnv(url, "CartPole-v1", api_key="wrong")
    bystander.step(1)


def test_ping_needs_no_key_and_info_does(http):
    assert http.get("/ping").json()["ok"] is True
    assert http.post("/ping").json()["ok"] is True
    assert "CartPole-v1" in http.get("/info", headers=AUTH).json()["envs"]


def test_unknown_env_key_is_404(http, url):
    assert error_of(http.post("/step", headers=AUTH, json={"env_key": "nope", "action": 0}), 404)["code"] == "unknown_env_key"
    assert error_of(http.get("/action_space", headers=AUTH, params={"env_key": "nope"}), 404)["code"] == "unknown_env_key"
    with HttpClient(url, api_key=KEY) as client, pytest.raises(UnknownEnvKey):
        client.call("reset")  # a fresh session holds no env


def test_env_not_served_is_403(http, url):
    assert error_of(http.post("/make", headers=AUTH, json={"env_name": "MountainCar-v0"}), 403)["code"] == "env_not_allowed"
    with pytest.raises(EnvNotAllowed, match="CartPole-v1"):
        RemoteEnv(url, "MountainCar-v0", api_key=KEY)


@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_bad_actions_are_422(url, bystander, codec):
    with RemoteEnv(url, "Pendulum-v1", api_key=KEY, codec=codec) as pendulum, RemoteEnv(url, "CartPole-v1", api_key=KEY, codec=codec) as cartpole:
        pendulum.reset(seed=0)
        cartpole.reset(seed=0)
        for env, action in [(pendulum, np.zeros(2, np.float32)), (pendulum, [[0.0]]), (pendulum, np.array([9.0], np.float32)), (cartpole, 5), (cartpole, 0.5), (cartpole, "left")]:
            with pytest.raises(InvalidAction):
                env.step(action)
            bystander.step(0)
        pendulum.step(np.array([1.0], np.float32))  # the envs themselves still work
        cartpole.step(1)


def test_bad_action_status_and_body(http):
    made = http.post("/make", headers=AUTH, json={"env_name": "CartPole-v1"}).json()
    http.post("/reset", headers=AUTH, json={"env_key": made["env_key"]})
    assert error_of(http.post("/step", headers=AUTH, json={"env_key": made["env_key"], "action": [0, 1]}), 422)["code"] == "invalid_action"
    http.post("/close", headers=AUTH, json={"env_key": made["env_key"]})


def test_oversized_body_is_413_from_content_length(http):
    body = b'{"action": "' + b"x" * SMALL_BODY_LIMIT + b'"}'
    assert error_of(http.post("/step", headers=AUTH, content=body), 413)["code"] == "payload_too_large"


def test_oversized_body_is_413_while_streaming(http):
    def chunks():  # no Content-Length: chunked transfer encoding
        for _ in range(8):
            yield b"x" * 1024

    assert error_of(http.post("/step", headers=AUTH, content=chunks()), 413)["code"] == "payload_too_large"


def test_oversized_call_raises_payload_too_large_in_client(url, bystander):
    with HttpClient(url, api_key=KEY, codec="json") as client, pytest.raises(PayloadTooLarge):
        client.call("make", {"env_name": "CartPole-v1", "kwargs": {"padding": "x" * SMALL_BODY_LIMIT}})
    bystander.step(0)


def test_bad_seed_is_a_typed_422(http):
    response = http.post("/make", headers=AUTH, json={"env_name": "CartPole-v1", "seed": "42"})
    assert error_of(response, 422)["code"] == "invalid_argument"


def test_unknown_path_and_wrong_verb_are_404_json(http):
    assert error_of(http.get("/nowhere"), 404)["code"] == "unknown_method"
    assert error_of(http.post("/teleport", headers=AUTH, json={}), 404)["code"] == "unknown_method"
    assert error_of(http.get("/step", headers=AUTH), 404)["code"] == "unknown_method"


def test_malformed_payload_reaches_the_client_typed(url):
    with HttpClient(url, api_key=KEY) as client, pytest.raises(MalformedPayload, match="action"):
        client.call("step", {})


class OddObservationEnv(gym.Env):
    """Returns an observation no codec can carry: the host's fault, not the caller's."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return object(), {}

    def step(self, action):
        return object(), 0.0, False, False, {}


def test_a_result_that_cannot_be_encoded_is_500_env_error():
    if ODD_ENV not in gym.registry:
        gym.register(ODD_ENV, entry_point=OddObservationEnv, disable_env_checker=True)
    service = EnvService([f"gym:{ODD_ENV}"])
    with HttpServer(service) as server, HttpClient(server.url) as client:
        client.call("make", {"env_name": ODD_ENV})
        with pytest.raises(EnvError, match="cannot be sent as msgpack"):
            client.call("reset")
        assert client.call("ping")["ok"]
    service.close()
