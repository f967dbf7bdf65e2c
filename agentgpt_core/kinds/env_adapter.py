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


class EnvAdapter(ABC):
    """Makes envs of one family from a target string."""

    name: str

    @abstractmethod
    def make(self, target: str, **kwargs: Any) -> gym.Env:
        """Make one env for ``target`` (e.g. a registered id or ``module:factory``)."""

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> VectorEnv:
        """Make ``num_envs`` copies as one vector env; the default steps them in this process.

        An adapter may return any VectorEnv (any autoreset mode); the EnvService
        normalises what goes on the wire.
        """
        return SyncVectorEnv(
            [lambda: self.make(target, **kwargs) for _ in range(num_envs)],
            autoreset_mode=AutoresetMode.SAME_STEP,
        )
