"""Rolling per-row context windows: what the policy remembers between steps.

Training, evaluation and serving all step the policy the same way: each env/agent row
keeps its last K tokens; an episode start clears the row; a row with no data this step
(a missing agent) gets no token, so it is never faked. The previous action and reward of
the newest token are the ones recorded after the row's last step.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import GPTActorCritic, Window, symlog


class ContextWindows:
    def __init__(self, policy: GPTActorCritic, num_rows: int) -> None:
        self.policy = policy
        k, rows = policy.max_input_states, num_rows
        self.observation = np.zeros((rows, k, policy.obs_dim), np.float32)
        self.previous_action = np.zeros((rows, k, policy.action_feature_dim), np.float32)
        self.previous_reward = np.zeros((rows, k), np.float32)
        self.valid = np.zeros((rows, k), bool)
        self.pending_action = np.zeros((rows, policy.action_feature_dim), np.float32)
        self.pending_reward = np.zeros(rows, np.float32)
        self.start_episodes(np.ones(rows, bool))

    def start_episodes(self, rows: np.ndarray) -> None:
        """Forget the history of ``rows`` (bool mask): their next token starts an episode."""
        self.valid[rows] = False
        self.pending_action[rows] = 0.0
        self.pending_action[rows, -1] = 1.0
        self.pending_reward[rows] = 0.0

    def observe(self, observation: np.ndarray, rows: np.ndarray) -> None:
        """Append a token for each row in the bool mask ``rows``; ``observation`` is normalised."""
        every_row = rows.all()
        for array, new in (
            (self.observation, observation),
            (self.previous_action, self.pending_action),
            (self.previous_reward, self.pending_reward),
            (self.valid, np.ones(len(rows), bool)),
        ):
            if every_row:  # the common case, shifted in place
                array[:, :-1] = array[:, 1:]
                array[:, -1] = new
            else:
                array[rows] = np.roll(array[rows], -1, axis=1)
                array[rows, -1] = new[rows]

    def record(self, raw_action: np.ndarray, reward: np.ndarray, rows: np.ndarray) -> None:
        """Remember the action taken and reward received by ``rows`` for their next token."""
        self.pending_action[rows] = self.policy.action_features(raw_action[rows])
        self.pending_reward[rows] = symlog(np.asarray(reward, np.float32)[rows])

    def window(self) -> Window:
        """All rows' windows as tensors (copies, safe to keep in a rollout buffer)."""
        return Window(
            torch.tensor(self.observation),
            torch.tensor(self.previous_action),
            torch.tensor(self.previous_reward),
            torch.tensor(self.valid),
        )

    def window_with(self, observation: np.ndarray, rows: np.ndarray) -> Window:
        """Windows of ``rows`` as if ``observation[rows]`` were appended (for bootstrapping a
        truncated episode's final observation), leaving the stored context untouched."""
        probe = ContextWindows.__new__(ContextWindows)
        probe.policy = self.policy
        for name in ("observation", "previous_action", "previous_reward", "valid", "pending_action", "pending_reward"):
            setattr(probe, name, getattr(self, name)[rows].copy())
        probe.observe(observation[rows], np.ones(int(rows.sum()), bool))
        return probe.window()
