"""Env adapter plugin kind: turns an operator's env spec into a running simulator.

The prefix of ``--env PREFIX:TARGET`` picks the adapter (``gym:`` built in,
``unity:`` from the env_unity plugin). Adapters run on the host, from the operator's
command line only: a remote caller can name an env the operator allowed, never a target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv


class EnvStartError(RuntimeError):
    """The operator's env cannot start (a missing simulator build, a port in use): one line that says why."""


class EnvAdapter(ABC):
    """Makes envs of one family from a target string."""

    name: str

    def prepare(self, target: str) -> None:
        """Check ``target`` when a host starts, so a broken one stops the host at once instead of
        failing the first remote ``make``; raise ValueError (a bad spec) or EnvStartError. The
        default checks nothing (a gym id is checked by its first make)."""

    @abstractmethod
    def make(self, target: str, **kwargs: Any) -> gym.Env:
        """Make one env for ``target`` (e.g. a registered id or ``module:factory``)."""

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> VectorEnv:
        """Make ``num_envs`` copies as one vector env; the default steps them in this process.

        An adapter may return any VectorEnv (any autoreset mode); the EnvService
        normalises what goes on the wire.
        """
        return SyncVectorEnv(
            [lambda: DeferSelfReset(self.make(target, **kwargs)) for _ in range(num_envs)],
            autoreset_mode=AutoresetMode.SAME_STEP,
        )


class DeferSelfReset(gym.Wrapper):
    """A pre-1.0 env that resets itself, made fit for a Gymnasium 1.x vector env.

    Such an env returns the *next* episode's first observation on the step that ends an
    episode and puts the terminal one in ``info["final_observation"]``. A 1.x
    ``SyncVectorEnv`` then resets it a second time: its ``final_obs`` is the already
    reset observation and one episode is skipped. This wrapper returns the terminal
    observation from that step (its info as the step's) and hands the self-reset
    observation to the vector env's autoreset ``reset()``, so the env is reset once.
    Envs that do not reset themselves pass through unchanged.
    """

    FINAL_OBSERVATION, FINAL_INFO = "final_observation", "final_info"

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._next_reset: tuple[Any, dict] | None = None

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and isinstance(info, dict) and self.FINAL_OBSERVATION in info:
            info = dict(info)
            final = info.pop(self.FINAL_OBSERVATION)
            final_info = info.pop(self.FINAL_INFO, None)
            if final_info is None:  # the ending step's info is what is left; the reset's was not kept
                final_info, info = info, {}
            self._next_reset = (observation, info)
            return final, reward, terminated, truncated, final_info
        return observation, reward, terminated, truncated, info

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        pending, self._next_reset = self._next_reset, None
        if pending is not None and seed is None and options is None:
            return pending
        return self.env.reset(seed=seed, options=options)
