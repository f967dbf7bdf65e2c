"""Envs whose legal actions change every step, for the action-mask tests.

``ShiftingMask`` draws a fresh random mask each step and reports it in
``info["action_mask"]`` (masks.py's convention); an illegal action ends the episode
with a penalty and is counted in ``ILLEGAL`` (keyed by the env's ``tag``), so a test
can read how many illegal actions an in-process host's envs were sent.
Served as ``ALIAS=gym:tests.envs_masks:FACTORY`` from the checkout root.
"""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ILLEGAL: Counter = Counter()  # tag -> illegal actions taken
PENALTY = -5.0


class ShiftingMask(gym.Env):
    """Pick any legal action (+1 each step); legal actions change every step; 12 steps long.

    ``kind``: ``discrete`` (Discrete(5), one mask array), ``multi`` (MultiDiscrete([3, 4]),
    one array per branch) or ``hybrid`` (Tuple(Box, MultiDiscrete([3, 4])), Unity's form).
    The observation shows the mask, so a policy could learn it without masks too, slowly.
    """

    LENGTH = 12

    def __init__(self, kind: str = "discrete", tag: str = "default"):
        self.kind, self.tag = kind, tag
        self.branches = [5] if kind == "discrete" else [3, 4]
        discrete = spaces.Discrete(5) if kind == "discrete" else spaces.MultiDiscrete([3, 4])
        self.action_space = (
            spaces.Tuple((spaces.Box(-1.0, 1.0, (2,), np.float32), discrete)) if kind == "hybrid" else discrete
        )
        self.observation_space = spaces.Box(0.0, 1.0, (sum(self.branches),), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw()

    def _draw(self):
        self.mask = []
        for n in self.branches:
            allowed = self.np_random.random(n) < 0.5
            allowed[self.np_random.integers(n)] = True  # never an empty branch
            self.mask.append(allowed.astype(np.int8))
        info_mask = self.mask[0] if self.kind == "discrete" else list(self.mask)
        return np.concatenate(self.mask).astype(np.float32), {"action_mask": info_mask}

    def step(self, action):
        choices = [int(action)] if self.kind == "discrete" else list(np.asarray(action[1] if self.kind == "hybrid" else action).ravel())
        self.t += 1
        if not all(mask[c] for mask, c in zip(self.mask, choices)):
            ILLEGAL[self.tag] += 1
            observation, info = self._draw()
            return observation, PENALTY, True, False, info
        observation, info = self._draw()
        return observation, 1.0, False, self.t >= self.LENGTH, info


def shifting_mask(kind: str = "discrete", tag: str = "default") -> gym.Env:
    return ShiftingMask(kind, tag)


def shifting_branches() -> gym.Env:
    """The MultiDiscrete kind, whose masks are lists of per-branch arrays (for specs, which take no kwargs)."""
    return ShiftingMask("multi")


def counted_tictactoe(tag: str = "tictactoe"):
    """PettingZoo's tictactoe_v3 (an AECEnv with illegal moves ending the game), counting
    illegal moves in ``ILLEGAL[tag]`` before PettingZoo's own wrapper punishes them."""
    from pettingzoo.classic import tictactoe_v3
    from pettingzoo.utils.wrappers import BaseWrapper

    class CountIllegal(BaseWrapper):
        def step(self, action):
            agent = self.env.agent_selection
            alive = not (self.env.terminations.get(agent) or self.env.truncations.get(agent))
            if alive and action is not None and not self.env.observe(agent)["action_mask"][action]:
                ILLEGAL[tag] += 1
            super().step(action)

    return CountIllegal(tictactoe_v3.env())
