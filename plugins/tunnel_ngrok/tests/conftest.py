"""Fixtures for the tunnel tests: local stand-ins for ngrok's agent and a localtunnel server.

Everything binds 127.0.0.1 and is stopped by its fixture. pyngrok is never allowed to
download the ngrok agent: a test that would trigger one fails instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentgpt_core.envs.service import EnvService
from agentgpt_core.plugins import get_plugin_manager, reset_plugin_manager

KEY = "tunnel-test-key"
TOKEN = "fake-ngrok-token-7f3a9c"
STANDINS = Path(__file__).parent / "standins"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"tunnel_standins_{name}", STANDINS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lt_server = _load("lt_server")


@pytest.fixture(autouse=True)
def tunnel_plugin_loaded(monkeypatch):
    """Load the first-party plugins through their entry points; no real ngrok settings leak in."""
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "http,ws,ngrok")
    for variable in ("NGROK_AUTHTOKEN", "PYNGROK_NGROK_PATH", "NGROK_API_KEY", "AGENTGPT_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(autouse=True)
def no_ngrok_download(monkeypatch):
    """Fail loudly if pyngrok ever tries to download the ngrok agent."""
    from pyngrok import installer

    def refuse(*args, **kwargs):
        raise AssertionError("pyngrok tried to download the ngrok agent")

    monkeypatch.setattr(installer, "install_ngrok", refuse)


@dataclass
class FakeNgrok:
    """The fake agent's paths: the executable, an ngrok config, and its record of what it did."""

    path: Path
    config: Path
    record_path: Path

    def record(self) -> dict:
        return json.loads(self.record_path.read_text()) if self.record_path.exists() else {}

    def options(self, **extra) -> dict:
        return {"ngrok_path": str(self.path), "config_path": str(self.config), **extra}

    def cli_options(self) -> list[str]:
        return ["--tunnel-option", f"ngrok_path={self.path}", "--tunnel-option", f"config_path={self.config}"]


@pytest.fixture
def fake_ngrok(tmp_path, monkeypatch) -> FakeNgrok:
    """The stand-in agent, executable, run by this interpreter; NGROK_AUTHTOKEN set to a fake token."""
    exe = tmp_path / "ngrok"
    exe.write_text(f"#!{sys.executable}\n" + (STANDINS / "fake_ngrok.py").read_text())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "ngrok.yml"
    config.write_text('version: "3"\nagent:\n  log_level: info\n')
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_NGROK_RECORD", str(record))
    monkeypatch.setenv("NGROK_AUTHTOKEN", TOKEN)
    return FakeNgrok(exe, config, record)


@pytest.fixture
def make_localtunnel_server():
    """``make(**settings)``: a started stand-in localtunnel server on loopback, stopped after the test."""
    servers = []

    def make(**settings):
        servers.append(lt_server.LocaltunnelServer(**settings).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def localtunnel_server(make_localtunnel_server):
    return make_localtunnel_server()


@pytest.fixture(params=["http", "ws"])
def cartpole_server(request):
    """A CartPole host listening on 127.0.0.1 with an API key, over HTTP and over WebSocket."""
    service = EnvService(["gym:CartPole-v1"])
    server = get_plugin_manager().get("transports", request.param).server(service, host="127.0.0.1", port=0, api_key=KEY)
    server.start()
    yield server
    server.stop()
    service.close()


def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process ``pid`` has exited (or is a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as stat_file:
                if stat_file.read().split(")")[-1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def key() -> str:
    """The API key the test hosts demand."""
    return KEY


@pytest.fixture
def token() -> str:
    """The fake ngrok auth token (NGROK_AUTHTOKEN under ``fake_ngrok``): it must never show up in output."""
    return TOKEN


@pytest.fixture
def gone():
    """``gone(pid)``: whether that process exits within a few seconds."""
    return process_gone
