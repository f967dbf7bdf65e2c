"""Fixtures for the WebSocket transport's tests: loopback only, small timeouts."""

from __future__ import annotations

import time

import gymnasium as gym
import pytest

from agentgpt_core.plugins import reset_plugin_manager

SLOW_ENV = "AgentgptWsSlowCartPole-v0"


class SlowCartPole(gym.Wrapper):
    """CartPole whose step takes ``delay`` seconds: a simulator that is busy."""

    def __init__(self, delay: float = 1.0):
        super().__init__(gym.make("CartPole-v1"))
        self.delay = delay

    def step(self, action):
        time.sleep(self.delay)
        return self.env.step(action)


if SLOW_ENV not in gym.registry:
    gym.register(SLOW_ENV, entry_point=SlowCartPole)


@pytest.fixture(autouse=True)
def ws_plugin_loaded(monkeypatch):
    """Load this plugin (and no other third-party one) through its entry point."""
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "ws")
    reset_plugin_manager()
    yield
    reset_plugin_manager()


def _wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout)``: poll until true; what a test needs instead of sleeps."""
    return _wait_until


@pytest.fixture
def slow_env() -> str:
    """A registered env id whose step sleeps (a pass-through kwarg ``delay`` sets how long)."""
    return SLOW_ENV
