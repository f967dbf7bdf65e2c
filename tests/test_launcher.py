"""``EnvLauncher``: the seeds' Python API, served from this process on loopback with real servers.

``launch_on_local_with_url`` goes through the ``memory`` tunnel (the stand-in the CLI tests
use; the ngrok plugin's tests run it through their stand-in ngrok agent), and
``launch_on_cloud`` through the built-in ``local`` Host plugin.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import threading

import pytest

from agentgpt_core import EnvLauncher, RemoteEnv
from agentgpt_core.hosting import LaunchError, outward_address
from agentgpt_core.launcher import LocalLaunch
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import Unauthorized


def steps(url: str, key: str | None) -> float:
    with RemoteEnv(url, "CartPole-v1", api_key=key) as env:
        env.reset(seed=0)
        return env.step(0)[1]


def port_is_free(url: str) -> bool:
    """Whether a server could listen on ``url``'s port again (SO_REUSEADDR, as servers bind: closed
    connections in TIME_WAIT do not count, a listening socket does)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))
            sock.listen()
        except OSError:
            return False
    return True


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_a_url_launch_serves_through_the_tunnel_with_a_generated_key(transport):
    tunnel = get_plugin_manager().get("tunnels", "memory")
    launch = EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", tunnel="memory", transport=transport)
    try:
        assert isinstance(launch, LocalLaunch) and launch.envs == ["CartPole-v1"]
        assert tunnel.opened == [launch.local_url] and launch.url.startswith(f"{transport}://127.0.0.1:")
        assert len(launch.api_key) >= 32 and launch.api_key not in repr(launch)
        assert steps(launch.url, launch.api_key) == 1.0
        with pytest.raises(Unauthorized):
            steps(launch.url, "not-the-key")
        with pytest.raises(Unauthorized):
            steps(launch.url, None)
        assert not port_is_free(launch.local_url)
    finally:
        launch.stop()
    assert tunnel.opened == [], "stop() closed the tunnel"
    assert port_is_free(launch.local_url) and not launch.running
    launch.stop()  # idempotent


def test_a_given_key_and_the_context_manager():
    with EnvLauncher.launch_on_local_with_url(["gym:CartPole-v1", "gym:Acrobot-v1"], tunnel="memory", api_key="k-given",
                                              num_envs=2) as launch:
        assert launch.api_key == "k-given" and launch.envs == ["CartPole-v1", "Acrobot-v1"]
        assert steps(launch.url, "k-given") == 1.0
    assert port_is_free(launch.local_url)


def test_num_envs_caps_what_callers_may_run():
    with EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", tunnel="memory", num_envs=1) as launch:
        with RemoteEnv(launch.url, "CartPole-v1", api_key=launch.api_key):
            with pytest.raises(Exception, match="at most 1 envs"):
                RemoteEnv(launch.url, "CartPole-v1", api_key=launch.api_key)


@pytest.mark.parametrize("settings,message", [
    ({"tunnel": "carrier-pigeon"}, "no tunnel named 'carrier-pigeon'"),
    ({"tunnel": "memory", "authtoken": "abc"}, "secrets are never"),
    ({"tunnel": "memory", "region": "eu"}, "takes no options"),
    ({"tunnel": "memory", "api_key": " "}, "blank"),
    ({"tunnel": "memory", "transport": "pigeon"}, "no transport named 'pigeon'"),
    ({"tunnel": "memory", "num_envs": 0}, "num_envs"),
])
def test_bad_settings_are_value_errors_before_anything_starts(settings, message):
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match=message):
        EnvLauncher.launch_on_local_with_url("gym:CartPole-v1", **settings)
    assert set(threading.enumerate()) <= before  # nothing started (an earlier test's thread may have ended meanwhile)


def test_a_bad_env_spec_is_a_value_error():
    with pytest.raises(ValueError, match="ADAPTER:TARGET"):
        EnvLauncher.launch_on_local_with_url("CartPole-v1", tunnel="memory")


def test_a_port_in_use_is_a_launch_error_and_nothing_is_left_running():
    before = set(threading.enumerate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LaunchError):
            EnvLauncher.launch_on_local_with_ip("gym:CartPole-v1", host="127.0.0.1", port=port)
    assert set(threading.enumerate()) <= before, "the env service started for it was closed"


def test_an_ip_launch_on_loopback_demands_its_key():
    with EnvLauncher.launch_on_local_with_ip("gym:CartPole-v1", host="127.0.0.1", port=0) as launch:
        assert launch.url == launch.local_url and launch.url.startswith("http://127.0.0.1:")
        assert len(launch.api_key) >= 32
        assert steps(launch.url, launch.api_key) == 1.0
        with pytest.raises(Unauthorized):
            steps(launch.url, "not-the-key")
    assert port_is_free(launch.local_url)


def test_an_ip_launch_names_the_address_it_is_given():
    with EnvLauncher.launch_on_local_with_ip("gym:CartPole-v1", host="127.0.0.1", port=0, api_key="k",
                                             address="192.0.2.7", transport="ws") as launch:
        port = launch.local_url.rsplit(":", 1)[1]
        assert launch.url == f"ws://192.0.2.7:{port}" and launch.local_url.startswith("ws://127.0.0.1:")


def test_the_outward_address_is_an_address_found_without_the_network():
    assert ipaddress.ip_address(outward_address()).version == 4


def test_a_launch_still_up_at_interpreter_exit_is_stopped():
    script = (
        "import atexit\n"
        "from agentgpt_core import EnvLauncher\n"
        "from agentgpt_core.plugins import get_plugin_manager\n"
        "tunnel = get_plugin_manager().get('tunnels', 'memory')\n"
        "held = {}\n"
        "atexit.register(lambda: print('at exit:', held['launch'].running, tunnel.opened, flush=True))  # runs after ours\n"
        "held['launch'] = EnvLauncher.launch_on_local_with_url('gym:CartPole-v1', tunnel='memory')\n"
        "print('up:', held['launch'].running, tunnel.opened != [], flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["up: True True", "at exit: False []"]


def test_launch_on_cloud_dispatches_to_the_named_host_plugin():
    with EnvLauncher.launch_on_cloud("gym:CartPole-v1", host="local", instances=1, api_key="k-local") as run:
        (url,) = run.urls
        assert steps(url, "k-local") == 1.0
    assert port_is_free(url), "stop() terminated the host"
    run.stop()  # idempotent


def test_launch_on_cloud_names_the_package_of_a_missing_host_plugin():
    with pytest.raises(ValueError, match="pip install agentgpt-host-docker"):
        EnvLauncher.launch_on_cloud("gym:CartPole-v1", host="docker")
