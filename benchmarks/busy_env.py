"""An env with a fixed cost per step, for measuring how hosts scale (transports.py).

``sleep`` stands for a simulator whose step runs elsewhere (a game engine, a GPU, a
robot): the host process waits, it does not burn the trainer machine's cores. Serve
it with ``--env busy=gym:busy_env:make_env`` and ``PYTHONPATH=benchmarks``.
"""

from __future__ import annotations

import time

import gymnasium as gym


class FixedCostCartPole(gym.Wrapper):
    def __init__(self, step_seconds: float):
        super().__init__(gym.make("CartPole-v1"))
        self.step_seconds = step_seconds

    def step(self, action):
        time.sleep(self.step_seconds)
        return self.env.step(action)


def make_env(step_seconds: float = 0.001) -> gym.Env:
    return FixedCostCartPole(step_seconds)
