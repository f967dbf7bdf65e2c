"""The GPT actor-critic: a causal transformer over each row's last K timesteps.

A token is ``embed(observation) + embed(previous action) + embed(previous reward)`` plus a
learned position, so the policy can infer what one observation hides (velocities, which
task it is in) from recent history, in the spirit of AMAGO's timestep encoder + sequence
model. The actor and critic share the transformer and read its last token through small
MLP heads. The previous reward enters as symlog(r) so no reward statistics are needed at
inference time; the previous action carries one extra "no previous action" flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from .action_heads import make_action_head
from .distributions import ActionDistribution
from .observations import RunningNormalizer, flat_dim, flatten_batch
from .transformer import CausalTransformer


@dataclass
class Window:
    """A batch of right-aligned timestep windows (tensors), one row per env/agent slot.

    ``observation [B, K, obs_dim]`` is already normalised; ``previous_action [B, K, F+1]``
    holds the action features and the first-step flag; ``valid [B, K]`` marks real tokens.
    """

    observation: torch.Tensor
    previous_action: torch.Tensor
    previous_reward: torch.Tensor
    valid: torch.Tensor

    def __getitem__(self, index) -> "Window":
        return Window(
            self.observation[index], self.previous_action[index], self.previous_reward[index], self.valid[index]
        )


def symlog(x):
    """Compress reward magnitudes while keeping sign: sign(x) * log(1 + |x|)."""
    return np.sign(x) * np.log1p(np.abs(x))


class GPTActorCritic(nn.Module):
    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        d_model: int,
        num_layers: int,
        num_heads: int,
        dropout: float,
        max_input_states: int,
        normalize_observations: bool = True,
        log_std_init: float = 0.0,
        squash_actions: bool = False,  # tanh-squashed Box actions (the off-policy learner's)
    ) -> None:
        super().__init__()
        self.observation_space, self.action_space = observation_space, action_space
        self.max_input_states = max_input_states
        self.obs_dim = flat_dim(observation_space)
        self.obs_normalizer = RunningNormalizer(self.obs_dim, enabled=normalize_observations)
        self.action_head = make_action_head(action_space, d_model, log_std_init, squash_actions)
        self.action_feature_dim = self.action_head.feature_dim + 1
        # One linear map of [observation, previous action, previous reward] is the sum of the
        # three embeddings, computed in a single matmul.
        self.embed_token = nn.Linear(self.obs_dim + self.action_feature_dim + 1, d_model)
        self.trunk = CausalTransformer(d_model, num_layers, num_heads, dropout, max_input_states)
        self.actor = nn.Sequential(nn.Linear(d_model, d_model), nn.Tanh())
        self.critic = nn.Sequential(nn.Linear(d_model, d_model), nn.Tanh(), nn.Linear(d_model, 1))
        nn.init.orthogonal_(self.critic[-1].weight, 1.0)
        nn.init.zeros_(self.critic[-1].bias)

    def features(self, window: Window) -> torch.Tensor:
        inputs = [window.observation, window.previous_action, window.previous_reward.unsqueeze(-1)]
        return self.trunk(self.embed_token(torch.cat(inputs, dim=-1)), window.valid)

    def forward(self, window: Window, mask: torch.Tensor | None = None) -> tuple[ActionDistribution, torch.Tensor]:
        """Distribution over the newest timestep's action, and its value ``[B]``.

        ``mask`` (bool ``[B, mask_width]``, True = allowed; masks.py) restricts the
        categorical parts to the allowed choices; None allows every action.
        """
        hidden = self.features(window)
        return self.action_head(self.actor(hidden), mask), self.critic(hidden).squeeze(-1)

    def value(self, window: Window) -> torch.Tensor:
        return self.critic(self.features(window)).squeeze(-1)

    def flatten_observations(self, batch) -> np.ndarray:
        """A VectorEnv-style batch of observations as ``[rows, obs_dim]`` float32 (not normalised)."""
        return flatten_batch(self.observation_space, batch)

    def action_features(self, raw_action: np.ndarray) -> np.ndarray:
        """Token features of raw actions, with the "no previous action" flag cleared."""
        with torch.no_grad():
            encoded = self.action_head.features(torch.as_tensor(raw_action, dtype=torch.float32))
        return np.concatenate([encoded.numpy(), np.zeros((len(raw_action), 1), np.float32)], 1)

    def to_env_actions(self, raw_action: np.ndarray):
        """Raw actions ``[rows, raw_dim]`` as the batched action a VectorEnv expects."""
        return self.action_head.to_env(raw_action)
