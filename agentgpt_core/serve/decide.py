"""One forward pass for a batch of agents: the policy's action, then the control value.

Used the same way by the batched and the unbatched paths, so both choose identically:
each row takes its distribution's mode (``deterministic``) or a sample, and then the
control-value mixture (control.py) decides between that and a uniformly random action.
Rows with an action mask (``[rows, mask_width]``, masks.py) choose among allowed actions
only, in both.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import torch

from ..policy import GPTActorCritic, Window
from .control import mix, random_raw_actions


class Decided(NamedTuple):
    """A pass's choices: raw actions (answered) and their token features (remembered as each
    agent's previous action), both computed once for the whole batch."""

    raw: np.ndarray  # [rows, raw_dim]
    features: np.ndarray  # [rows, action_feature_dim]

    def rows(self, start: int, stop: int) -> Decided:
        return Decided(self.raw[start:stop], self.features[start:stop])


class Decider:
    """Turns windows into raw actions; thread-safe (one forward pass at a time)."""

    def __init__(self, policy: GPTActorCritic, seed: int | None = None) -> None:
        self.policy = policy
        self.rng = np.random.default_rng(seed)
        self.lock = threading.Lock()
        self.forward_passes = 0
        self.rows = 0

    def decide(self, window: Window, deterministic: np.ndarray, control: np.ndarray, mask: np.ndarray | None = None) -> Decided:
        """Actions for ``window``'s rows; per-row ``deterministic``, ``control`` and (optional) ``mask``."""
        rows = window.valid.shape[0]
        with self.lock, torch.inference_mode():
            distribution, _ = self.policy(window, None if mask is None else torch.from_numpy(mask))
            if deterministic.all():
                chosen = distribution.mode()
            elif not deterministic.any():
                chosen = distribution.sample()
            else:
                chosen = torch.where(torch.from_numpy(deterministic)[:, None], distribution.mode(), distribution.sample())
            chosen = chosen.numpy()
            self.forward_passes += 1
            self.rows += rows
            if not (control >= 1.0).all():
                draws = self.rng.random(rows)
                random = random_raw_actions(self.policy.action_head, rows, self.rng, mask)
                chosen = mix(chosen, random, control, draws).astype(np.float32)
            return Decided(chosen, self.policy.action_features(chosen))
