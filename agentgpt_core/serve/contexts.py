"""Per-agent context windows in growable slot arrays, keyed by (session, agent id).

A game sends only each agent's newest observation; the server remembers the rest: the
agent's last K tokens (observation, previous action, previous reward), built exactly as
``ContextWindows`` builds them in training and evaluation (same layout, same episode
start flag, same symlog reward). Agents live in rows ("slots") of a few arrays so that
a batch of agents is gathered with one fancy index, not one small array per agent.

The arrays start small and double when full, so memory follows the number of live
agents; ``AgentTable`` (agents.py) decides who gets a slot and when one is freed.
Nothing here locks: the table's lock covers every call.
"""

from __future__ import annotations

import numpy as np

from ..policy import GPTActorCritic, Window
from ..policy.model import symlog

INITIAL_SLOTS = 64
_ARRAYS = ("observation", "previous_action", "previous_reward", "valid", "pending_action", "pending_reward")


class SlotContexts:
    """Context windows for ``capacity`` slots (grown on demand); rows are slot numbers."""

    def __init__(self, policy: GPTActorCritic, capacity: int = INITIAL_SLOTS) -> None:
        self.policy = policy
        self.k = policy.max_input_states
        self.capacity = 0
        self.observation = np.zeros((0, self.k, policy.obs_dim), np.float32)
        self.previous_action = np.zeros((0, self.k, policy.action_feature_dim), np.float32)
        self.previous_reward = np.zeros((0, self.k), np.float32)
        self.valid = np.zeros((0, self.k), bool)
        self.pending_action = np.zeros((0, policy.action_feature_dim), np.float32)
        self.pending_reward = np.zeros(0, np.float32)
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots, keeping every row's content."""
        if capacity <= self.capacity:
            return
        extra = capacity - self.capacity
        for name in _ARRAYS:
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.zeros((extra,) + old.shape[1:], old.dtype)]))
        new_rows = np.arange(self.capacity, capacity)
        self.capacity = capacity
        self.start_episodes(new_rows)

    def start_episodes(self, slots: np.ndarray) -> None:
        """Forget the history of ``slots``: their next token starts an episode (as in training)."""
        self.valid[slots] = False
        self.pending_action[slots] = 0.0
        self.pending_action[slots, -1] = 1.0
        self.pending_reward[slots] = 0.0

    def set_rewards(self, slots: np.ndarray, rewards: np.ndarray) -> None:
        """The reward each slot received for its last action; it enters that slot's next token."""
        self.pending_reward[slots] = symlog(np.asarray(rewards, np.float32))

    def observe(self, slots: np.ndarray, observation: np.ndarray) -> dict[str, np.ndarray]:
        """Append one token per slot; ``observation`` ``[len(slots), obs_dim]`` is normalised.

        Returns the slots' new windows (copies, safe to use once the table's lock is
        released): each array is gathered once, shifted, written back and handed out.
        """
        windows = {}
        for name, new in (
            ("observation", observation),
            ("previous_action", self.pending_action[slots]),
            ("previous_reward", self.pending_reward[slots]),
            ("valid", True),
        ):
            array = getattr(self, name)
            rows = array[slots]
            rows[:, :-1] = rows[:, 1:]
            rows[:, -1] = new
            array[slots] = rows
            windows[name] = rows
        return windows

    def record(self, slots: np.ndarray, action_features: np.ndarray) -> None:
        """Remember the action each slot took (its token features, ``policy.action_features``);
        its reward comes with the next observation."""
        if len(slots):
            self.pending_action[slots] = action_features
            self.pending_reward[slots] = 0.0

    def windows(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """Copies of the slots' windows (numpy), safe to use after the table's lock is released."""
        return {
            "observation": self.observation[slots],
            "previous_action": self.previous_action[slots],
            "previous_reward": self.previous_reward[slots],
            "valid": self.valid[slots],
        }


MASK_KEY = "action_mask"  # a request's masks ride in its windows dict (service.py), [rows, mask_width]


def stack_masks(parts: list[dict[str, np.ndarray]]) -> np.ndarray | None:
    """Several requests' action masks as one ``[rows, mask_width]`` array (rows of a request
    without masks allow everything), or None when no request has any."""
    masks = [p.get(MASK_KEY) for p in parts]
    if all(m is None for m in masks):
        return None
    width = next(m for m in masks if m is not None).shape[1]
    return np.concatenate([np.ones((len(p["valid"]), width), bool) if m is None else m for p, m in zip(parts, masks)])


def stack_windows(parts: list[dict[str, np.ndarray]]) -> Window:
    """Several requests' windows as one batch of tensors for one forward pass."""
    import torch

    if len(parts) == 1:
        return Window(*(torch.from_numpy(parts[0][name]) for name in ("observation", "previous_action", "previous_reward", "valid")))
    return Window(
        *(torch.from_numpy(np.concatenate([p[name] for p in parts])) for name in ("observation", "previous_action", "previous_reward", "valid"))
    )
