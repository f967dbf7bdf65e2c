"""Server lifecycle, binding rules, plugin registration, OpenAPI, and the client's connection handling."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import gymnasium as gym
import httpx
import pytest

from agentgpt_core.envs.service import EnvService
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import TransportError
from agentgpt_core.remote import RemoteEnv
from agentgpt_transport_http import HttpClient, HttpServer, HttpTransport

from .conftest import KEY

pytestmark = pytest.mark.timeout(60)
SLEEPY_ENV = "AgentgptHttpSleepyCartPole-v0"


class SleepyCartPole(gym.Wrapper):
    """CartPole whose step waits ``delay`` seconds, as a simulator behind a socket does."""

    def __init__(self, delay: float = 0.5):
        super().__init__(gym.make("CartPole-v1"))
        self.delay = delay

    def step(self, action):
        time.sleep(self.delay)
        return self.env.step(action)


if SLEEPY_ENV not in gym.registry:
    gym.register(SLEEPY_ENV, entry_point=SleepyCartPole)


def test_the_plugin_registers_http_and_https():
    manager = get_plugin_manager()
    assert isinstance(manager.get("transports", "http"), HttpTransport)
    assert isinstance(manager.transport_for_url("https://example.com/envs"), HttpTransport)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_refuses_a_reachable_address_without_a_key(host):
    service = EnvService(["gym:CartPole-v1"])
    with pytest.raises(ValueError, match="API key"):
        HttpTransport().server(service, host=host)
    HttpTransport().server(service, host=host, api_key=KEY)  # allowed with a key (built, never bound here)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_key(host):
    HttpTransport().server(EnvService(["gym:CartPole-v1"]), host=host)


def test_port_zero_start_stop_frees_the_port():
    server = HttpServer(EnvService(["gym:CartPole-v1"]))
    server.start()
    server.start()  # idempotent
    port = server.port
    assert port > 0 and server.url == f"http://127.0.0.1:{port}"
    assert httpx.get(f"{server.url}/ping").json()["ok"] is True
    server.stop()
    server.stop()  # idempotent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


def test_connection_refused_is_a_transport_error_naming_the_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(TransportError, match=url):
        RemoteEnv(url, "CartPole-v1")


def test_client_reconnects_when_the_server_closed_its_connection():
    service = EnvService(["gym:CartPole-v1"])
    with HttpServer(service) as first:
        port = first.port
        client = HttpClient(first.url)
        assert client.call("ping")["ok"]
    with HttpServer(service, port=port):  # same port, new server: the kept-alive socket is dead
        assert client.call("ping")["ok"]
    client.close()


def test_openapi_documents_every_protocol_route(url):
    schema = httpx.get(f"{url}/openapi.json").json()
    for method in ["make", "make_vec", "reset", "step", "close", "action_space", "observation_space", "ping", "info"]:
        assert "post" in schema["paths"][f"/{method}"]
    assert schema["paths"]["/step"]["post"]["requestBody"]["content"]["application/json"]["example"] == {"action": 0}
    assert {"get", "post"} <= set(schema["paths"]["/observation_space"])
    assert schema["paths"]["/ping"]["post"]["security"] == []
    assert httpx.get(f"{url}/docs").status_code == 200


def test_a_slow_env_does_not_hold_up_other_sessions():
    service = EnvService(["gym:CartPole-v1", f"gym:{SLEEPY_ENV}"])
    with HttpServer(service) as server:
        sleepy = RemoteEnv(server.url, SLEEPY_ENV, delay=0.5)
        fast = RemoteEnv(server.url, "CartPole-v1")
        sleepy.reset(seed=0)
        fast.reset(seed=0)
        stepping = threading.Thread(target=lambda: [sleepy.step(0) for _ in range(3)])
        stepping.start()
        time.sleep(0.1)
        started = time.perf_counter()
        for _ in range(20):
            fast.step(0)
        elapsed = time.perf_counter() - started
        stepping.join()
        assert elapsed < 0.4, f"20 fast steps took {elapsed:.3f} s while a slow env stepped"
        sleepy.close()
        fast.close()
    service.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_with_a_certificate(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key), "-out", str(cert),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this self-signed certificate
    with HttpServer(EnvService(["gym:CartPole-v1"]), api_key=KEY, ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with RemoteEnv(server.url, "CartPole-v1", api_key=KEY) as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
