"""The ``gym:`` env adapter: registered Gymnasium ids and operator-side factories."""

from __future__ import annotations

import importlib
from typing import Any, Callable

import gymnasium as gym
from gymnasium.vector import AutoresetMode, VectorEnv

from ..hookspecs import hookimpl
from ..kinds import EnvAdapter
from ..kinds.env_adapter import DeferSelfReset


class GymAdapter(EnvAdapter):
    """``gym:CartPole-v1`` makes a registered id; ``gym:pkg.module:factory`` calls a factory.

    The factory form is for operators only (it imports code); the EnvService never
    passes a remote caller's text here, only targets from the operator's specs.
    """

    name = "gym"

    def make(self, target: str, **kwargs: Any) -> gym.Env:
        if ":" in target:
            return _factory(target)(**kwargs)
        return gym.make(target, **kwargs)

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> VectorEnv:
        if ":" in target:
            made = _factory(target)
            if getattr(made, "vectorized", False):  # a factory that builds its own vector env
                return made(num_envs=num_envs, **kwargs)
            return super().make_vec(target, num_envs, **kwargs)
        return gym.make_vec(
            target,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            wrappers=[DeferSelfReset],  # a pre-1.0 env that resets itself is reset once, not twice
            **kwargs,
        )


def _factory(target: str) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load env factory {target!r}: {exc}") from exc
    if not callable(factory):
        raise ValueError(f"env factory {target!r} is not callable")
    return factory


@hookimpl
def register_env_adapters(register):
    register(GymAdapter())
