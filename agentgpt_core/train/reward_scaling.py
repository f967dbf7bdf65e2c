"""Reward scaling by the running standard deviation of the discounted return.

Dividing rewards by that std (as Stable-Baselines3's VecNormalize and CleanRL's
NormalizeReward do) keeps value targets near unit scale for tasks such as Pendulum whose
rewards are large and negative, and for CartPole, whose undiscounted +1 rewards make value
targets of ~50 that swamp the policy's share of the clipped gradient in the shared trunk.
"""

from __future__ import annotations

import numpy as np


class ReturnScaler:
    def __init__(self, num_rows: int, gamma: float, clip: float = 10.0) -> None:
        self.gamma, self.clip = gamma, clip
        self.discounted_return = np.zeros(num_rows)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def __call__(self, reward: np.ndarray, done: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Scale ``reward`` of the bool-mask ``rows`` (the others are returned untouched)."""
        self.discounted_return[rows] = self.discounted_return[rows] * self.gamma + reward[rows]
        self._update(self.discounted_return[rows])
        self.discounted_return[done] = 0.0
        scaled = reward.astype(np.float64).copy()
        scaled[rows] = np.clip(reward[rows] / np.sqrt(self.var + 1e-8), -self.clip, self.clip)
        return scaled

    def _update(self, batch: np.ndarray) -> None:
        if len(batch) == 0:
            return
        n, batch_mean, batch_var = len(batch), batch.mean(), batch.var()
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def state_dict(self) -> dict:
        return {
            "mean": float(self.mean),
            "var": float(self.var),
            "count": float(self.count),
            "discounted_return": self.discounted_return.tolist(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]
        if len(state["discounted_return"]) == len(self.discounted_return):
            self.discounted_return[:] = state["discounted_return"]
