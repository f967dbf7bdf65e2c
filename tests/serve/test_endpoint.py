"""The policy server over real transports on 127.0.0.1: SageMaker's routes, GPTAPI, typed errors, auth."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from agentgpt_core import GPTAPI
from agentgpt_core.cli import cli
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import InvalidArgument, MalformedPayload, TooManyAgents, Unauthorized, UnknownMethod
from agentgpt_core.serve import InferenceService

from .test_cartpole import play
from .test_service import make_policy, obs

KEY = "serve-key"


@pytest.fixture(scope="module")
def toy_server():
    """A small Discrete(5) policy behind HTTP with an API key and room for 8 agents."""
    service = InferenceService(make_policy(), max_agents=8, batch_window_s=0.002)
    with get_plugin_manager().get("transports", "http").server(service, port=0, api_key=KEY) as server:
        yield server.url
    service.close()


@pytest.mark.parametrize("transport, codec", [("http", "msgpack"), ("http", "json"), ("ws", "msgpack")])
def test_a_trained_cartpole_served_over_the_wire_balances_three_poles(cartpole_run, transport, codec):
    service = InferenceService.from_run(cartpole_run)
    with get_plugin_manager().get("transports", transport).server(service, port=0) as server:
        with GPTAPI.connect(server.url, codec=codec) as api:
            assert api.action_space.n == 2 and api.observation_space.shape == (4,)
            returns = play(api)
            assert api.get_agent_ids() == []  # play() terminates its agents
    service.close()
    assert min(returns) >= 475, returns


def test_sagemaker_routes_ping_and_invocations(toy_server):
    assert httpx.get(f"{toy_server}/ping").json()["ok"] is True  # no key needed for health checks
    body = {"action": "select_action", "args": {"agent_ids": [0, 1], "observations": [[0.1, 0.2, 0.3], None]}}
    answer = httpx.post(f"{toy_server}/invocations", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200 and answer.json()["actions"][1] is None
    assert answer.json()["actions"][0] in range(5)
    refused = httpx.post(f"{toy_server}/invocations", json=body)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    nan = b'{"action": "select_action", "args": {"agent_ids": [5], "observations": [[NaN, 0, 0]]}}'
    answer = httpx.post(f"{toy_server}/invocations", content=nan, headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert answer.status_code == 422 and "NaN" in answer.json()["error"]["message"]


def test_bad_calls_get_typed_errors_while_another_client_keeps_playing(toy_server):
    with GPTAPI.connect(toy_server, api_key=KEY) as good, GPTAPI.connect(toy_server, api_key=KEY, codec="json") as bad:
        stop, played, failures = threading.Event(), [], []

        def keep_playing():
            try:
                while not stop.is_set():
                    played.append(good.select_action([0, 1], obs(len(played), 2)))
            except Exception as exc:  # noqa: BLE001 - any failure of the good client fails the test
                failures.append(exc)

        player = threading.Thread(target=keep_playing)
        player.start()
        try:
            with pytest.raises(InvalidArgument, match="shape"):
                bad.select_action([0], [[0.1, 0.2]])
            with pytest.raises(InvalidArgument, match="NaN"):
                bad.select_action([0], np.array([[0.1, np.nan, 0.2]], np.float32))
            with pytest.raises(UnknownMethod, match="unknown action"):
                bad.client.call("invocations", {"action": "fly", "args": {}})
            with pytest.raises(MalformedPayload):
                bad.client.call("invocations", {"action": "status", "args": "all"})
            with pytest.raises(TooManyAgents):
                bad.select_action(list(range(100, 107)), obs(0, 7))  # 2 live + 7 > 8
            assert bad.get_agent_ids() == []  # the refused call added no one
            bad.select_action([0, 1, 2], obs(1, 3))  # and the server still answers the same client
        finally:
            stop.set()
            player.join()
        assert not failures and len(played) > 0
        assert sorted(good.get_agent_ids()) == [0, 1]
        good.reset_agents()
        bad.reset_agents()


def test_agents_join_terminate_and_rejoin_through_the_client(toy_server):
    with GPTAPI.connect(toy_server, api_key=KEY) as api:
        fresh = api.select_action(["new"], obs(9))
        for i in range(4):
            api.select_action(["old"], obs(i))
        assert sorted(api.get_agent_ids()) == ["new", "old"]
        assert api.terminate_agents(["old"]) == ["old"]
        assert np.array_equal(api.select_action(["old"], obs(9)), fresh)
        both = api.select_action(["new", "old"], [None, obs(3)[0]], terminated_agent_ids=["old"])
        assert both[0] is None and both.dtype == object
        api.set_control_value(0.25, ["old"])
        assert api.get_control_value(["old", "new"]).tolist() == [0.25, 1.0]
        assert api.sample_action(3).shape == (3,) and api.sample_observation(2).shape == (2, 3)
        assert api.reset_agents() == 2 and api.get_agent_ids() == []
    with pytest.raises(Unauthorized):
        GPTAPI.connect(toy_server, api_key="wrong")


def test_serve_needs_an_api_key_beyond_loopback(cartpole_run):
    result = CliRunner().invoke(cli, ["serve", "--policy", str(cartpole_run), "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "API key" in result.output


def test_agentgpt_serve_prints_its_url_and_answers(cartpole_run):
    process = subprocess.Popen(
        [sys.executable, "-m", "agentgpt_core", "serve", "--policy", str(cartpole_run), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL=http://127.0.0.1:"), line + process.stderr.read()
        with GPTAPI.connect(line.split("=", 1)[1].strip()) as api:
            assert api.select_action([0], [[0.0, 0.0, 0.01, 0.0]]).dtype == np.int64
            status = api.status()
            assert status["agents"] == 1 and json.dumps(status)
    finally:
        process.terminate()
        process.wait(timeout=20)


GAME_WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None  # a game's Python: no torch installed
from agentgpt_core import GPTAPI
with GPTAPI.connect(sys.argv[1], api_key=sys.argv[2]) as api:
    print(api.select_action(["npc"], [[0.1, 0.2, 0.3]]).tolist())
"""


def test_a_game_needs_no_torch_to_use_the_client(toy_server):
    done = subprocess.run([sys.executable, "-c", GAME_WITHOUT_TORCH, toy_server, KEY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] in range(5)
