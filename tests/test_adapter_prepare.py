"""EnvAdapter.prepare: a host checks each operator spec when it starts, not at the first remote make."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agentgpt_core.envs import EnvService
from agentgpt_core.kinds import EnvAdapter, EnvStartError


class Checked(EnvAdapter):
    name = "checked"

    def __init__(self):
        self.prepared: list[str] = []

    def prepare(self, target: str) -> None:
        if target == "broken":
            raise EnvStartError("simulator 'broken' did not start")
        self.prepared.append(target)

    def make(self, target, **kwargs):
        return gym.make("CartPole-v1")


def test_every_spec_is_prepared_once_when_the_service_starts():
    adapter = Checked()
    EnvService(["a=checked:one", "b=checked:two"], adapters={"checked": adapter}, idle_timeout_s=None)
    assert adapter.prepared == ["one", "two"]


def test_a_target_that_cannot_start_stops_the_service_before_it_serves():
    with pytest.raises(EnvStartError, match="did not start"):
        EnvService(["checked:broken"], adapters={"checked": Checked()}, idle_timeout_s=None)


def test_the_default_prepare_checks_nothing():
    from agentgpt_core.builtins.env_gym import GymAdapter

    assert GymAdapter().prepare("NoSuchEnv-v0") is None  # a gym id is still checked by its first make
