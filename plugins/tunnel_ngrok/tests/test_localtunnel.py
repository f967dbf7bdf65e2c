"""The localtunnel client against a loopback server speaking localtunnel's protocol."""

from __future__ import annotations

import time

import pytest

from agentgpt_core.kinds import TunnelError
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.remote import RemoteEnv


def localtunnel(server_url: str, **options):
    return get_plugin_manager().get("tunnels", "localtunnel").configure(server=server_url, **options)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


def test_remote_env_steps_cartpole_through_the_tunnel(localtunnel_server, cartpole_server, key):
    with localtunnel(localtunnel_server.url) as tunnel:
        url = tunnel.open(cartpole_server.url)
        assert localtunnel_server.requests == ["/?new"]
        assert wait_for(lambda: localtunnel_server.parked() == localtunnel_server.max_conn_count)
        assert url.split("://")[0] == cartpole_server.url.split("://")[0] and url != cartpole_server.url
        for _ in range(2):  # more connections than one: each ends, and the client replaces it
            with RemoteEnv(url, "CartPole-v1", api_key=key) as env:
                env.reset(seed=0)
                for _ in range(5):
                    assert env.step(0)[1] == 1.0
        assert wait_for(lambda: localtunnel_server.parked() >= 1)
    assert wait_for(lambda: not any(t.is_alive() for t in tunnel._threads) and not tunnel._sockets)


def test_a_subdomain_is_asked_for_by_path(localtunnel_server):
    with localtunnel(localtunnel_server.url, subdomain="my-trainer") as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert localtunnel_server.requests == ["/my-trainer"]


def test_an_https_url_becomes_wss_and_plain_http_off_loopback_is_refused(make_localtunnel_server):
    good = make_localtunnel_server(public_url="https://abc.loca.lt")
    with localtunnel(good.url) as tunnel:
        assert tunnel.open("ws://127.0.0.1:8765") == "wss://abc.loca.lt"
    bad = make_localtunnel_server(public_url="http://abc.loca.lt")
    with pytest.raises(TunnelError, match="plain-http"), localtunnel(bad.url) as tunnel:
        tunnel.open("ws://127.0.0.1:8765")


def test_a_refusing_or_absent_server_is_a_one_line_error(make_localtunnel_server):
    refusing = make_localtunnel_server(refuse="subdomain is taken")
    with pytest.raises(TunnelError, match="refused a tunnel \\(403\\): subdomain is taken"), localtunnel(refusing.url) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    with pytest.raises(TunnelError, match="cannot reach") as caught, localtunnel("http://127.0.0.1:9", timeout=2) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert "\n" not in str(caught.value)


def test_the_server_url_must_be_a_url():
    with pytest.raises(ValueError, match="https://"):
        localtunnel("localtunnel.me")
