"""``EnvLauncher.launch_on_local_with_url`` through this plugin's tunnels, against the stand-in
ngrok agent and the stand-in localtunnel server."""

from __future__ import annotations

import threading

import pytest

from agentgpt_core import EnvLauncher, RemoteEnv
from agentgpt_core.hosting import LaunchError
from agentgpt_core.protocol.errors import Unauthorized


def test_a_url_launch_through_ngrok_steps_cartpole_and_stop_closes_the_tunnel(fake_ngrok, gone):
    launch = EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", tunnel="ngrok", region="eu", **fake_ngrok.options())
    with launch:
        assert launch.url != launch.local_url  # the agent's forwarded address, not the server's
        with RemoteEnv(launch.url, "CartPole-v1", api_key=launch.api_key) as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
        with pytest.raises(Unauthorized):
            RemoteEnv(launch.url, "CartPole-v1", api_key="not-the-key")
        agent = fake_ngrok.record()["pid"]
    record = fake_ngrok.record()
    assert record["region"] == "eu" and record["requests"][-1]["method"] == "DELETE"
    assert gone(agent), "stop() stopped the ngrok agent"


def test_a_refused_ngrok_token_is_a_launch_error_and_the_server_is_stopped(fake_ngrok, monkeypatch, token):
    monkeypatch.setenv("FAKE_NGROK_MODE", "refuse-token")
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(LaunchError, match="ERR_NGROK_107") as caught:
        EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", tunnel="ngrok", **fake_ngrok.options())
    assert token not in str(caught.value)
    assert not [t for t in threading.enumerate() if t.name.startswith("agentgpt-http") and t.name not in before]


def test_a_url_launch_through_localtunnel(localtunnel_server):
    with EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", tunnel="localtunnel", server=localtunnel_server.url,
                                              api_key="k-lt") as launch:
        with RemoteEnv(launch.url, "CartPole-v1", api_key="k-lt") as env:
            env.reset(seed=0)
            assert env.step(1)[1] == 1.0
    assert localtunnel_server.requests == ["/?new"]
