"""Tiny envs for the trainer tests (one per action-space kind the policy must handle), as fixtures."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

torch.set_num_threads(1)


class MultiDiscreteMatch(gymnasium.Env):
    """Pick the component values shown in the observation; MultiDiscrete actions, Box obs."""

    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
    action_space = spaces.MultiDiscrete([3, 2])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def _observe(self):
        self.target = self.np_random.integers([0, 0], [3, 2])
        return (self.target / np.array([2.0, 1.0])).astype(np.float32)

    def step(self, action):
        reward = float(np.sum(np.asarray(action) == self.target))
        self.t += 1
        return self._observe(), reward, False, self.t >= 6, {}


class HybridReach(gymnasium.Env):
    """Choose a flag and a 2-D point; Tuple(Discrete, Box) actions, Dict observations.

    Ends by truncation, so the trainer's final-observation bootstrap runs.
    """

    observation_space = spaces.Dict(
        {"goal": spaces.Box(-1.0, 1.0, (2,), np.float32), "flag": spaces.Discrete(2)}
    )
    action_space = spaces.Tuple((spaces.Discrete(2), spaces.Box(-1.0, 1.0, (2,), np.float32)))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def _observe(self):
        self.goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self.flag = int(self.np_random.integers(2))
        return {"goal": self.goal, "flag": self.flag}

    def step(self, action):
        choice, point = action
        assert self.action_space.contains((int(choice), np.asarray(point, np.float32)))
        reward = float(choice == self.flag) - float(np.abs(point - self.goal).sum())
        self.t += 1
        return self._observe(), reward, False, self.t >= 5, {}


class AliveRows(gymnasium.vector.VectorWrapper):
    """Marks odd rows as having no data on odd steps, like a multi-agent env with absent agents."""

    def reset(self, **kwargs):
        self.t = 0
        observation, infos = self.env.reset(**kwargs)
        return observation, {**infos, "alive": np.ones(self.num_envs, bool)}

    def step(self, actions):
        self.t += 1
        observation, reward, terminated, truncated, infos = self.env.step(actions)
        alive = np.ones(self.num_envs, bool)
        if self.t % 2:
            alive[1::2] = False
        return observation, reward, terminated, truncated, {**infos, "alive": alive}


def same_step(factory, num_envs: int) -> SyncVectorEnv:
    return SyncVectorEnv([factory] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


@pytest.fixture
def toy_envs():
    """The toy env classes and a SAME_STEP SyncVectorEnv builder, as a namespace."""

    class Toys:
        multi_discrete = MultiDiscreteMatch
        hybrid = HybridReach
        alive_rows = AliveRows
        vector = staticmethod(same_step)

    return Toys
