"""Shared fixtures: first-party plugins only, and an in-memory env host."""

from __future__ import annotations


import pytest



@pytest.fixture
def memory_host():
    """A CartPole/Pendulum EnvService behind the in-memory transport; yields (url, service)."""
    from agentgpt_core.envs import EnvService
    from agentgpt_core.plugins import get_plugin_manager

    service = EnvService(["gym:CartPole-v1", "gym:Pendulum-v1"])
    with get_plugin_manager().get("transports", "memory").server(service) as server:
        yield server.url, service
    service.close()
