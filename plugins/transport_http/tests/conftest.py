"""Fixtures for the HTTP transport's tests: real uvicorn servers on 127.0.0.1, port 0."""

from __future__ import annotations

import pytest

from agentgpt_core.envs.service import EnvService
from agentgpt_core.plugins import reset_plugin_manager
from agentgpt_transport_http import HttpServer

KEY = "test-key"
SMALL_BODY_LIMIT = 4096


@pytest.fixture(autouse=True)
def http_plugin_loaded(monkeypatch):
    """Load this plugin (and no other third-party one) through its entry point."""
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "http")
    monkeypatch.delenv("AGENTGPT_API_KEY", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(scope="module")
def service():
    service = EnvService(["gym:CartPole-v1", "gym:Pendulum-v1"])
    yield service
    service.close()


@pytest.fixture(scope="module")
def server(service):
    """One keyed server per test module, with a small body limit so 413 is cheap to provoke."""
    with HttpServer(service, api_key=KEY, max_body_bytes=SMALL_BODY_LIMIT) as server:
        yield server


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url
