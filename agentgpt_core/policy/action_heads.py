"""Actor heads built from a gymnasium action space.

A head knows three things about its space: how to turn the transformer's hidden state
into an :mod:`~agentgpt_core.policy.distributions` object, how to encode a raw action as
features for the next timestep's token ("previous action"), and how to turn a batch of
raw actions into the batched action a ``VectorEnv`` expects.

Box actions use a Gaussian in a normalised space: for every dimension with finite bounds
the raw value is clipped to [-1, 1] and mapped linearly onto [low, high] (clipping, not
tanh squashing, so log-probabilities need no Jacobian term and the mode is the mean).
Dimensions without finite bounds are passed through unchanged.

``forward`` takes an optional action mask ``[batch, mask_width]`` (bool, True = allowed;
masks.py): one column per categorical choice, in head order. Categorical parts apply
their columns; Box parts have none.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from .distributions import (
    ActionDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    ProductDistribution,
    TanhGaussianDistribution,
)


def _linear(in_dim: int, out_dim: int, gain: float) -> nn.Linear:
    layer = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class ActionHead(nn.Module):
    """Base class: ``raw_dim`` columns per raw action, ``feature_dim`` token features."""

    raw_dim: int
    feature_dim: int
    mask_width: int = 0

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> ActionDistribution:
        raise NotImplementedError

    def features(self, raw_action: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def to_env(self, raw_action: np.ndarray):
        raise NotImplementedError


class DiscreteHead(ActionHead):
    """``Discrete(n, start)``: logits over n choices, one-hot previous action."""

    def __init__(self, space: spaces.Discrete, d_model: int) -> None:
        super().__init__()
        self.n, self.start = int(space.n), int(space.start)
        self.raw_dim, self.feature_dim = 1, self.n
        self.mask_width = self.n
        self.logits = _linear(d_model, self.n, gain=0.01)

    def forward(self, hidden, mask=None):
        return CategoricalDistribution(self.logits(hidden), mask)

    def features(self, raw_action):
        return nn.functional.one_hot(raw_action[..., 0].round().long(), self.n).float()

    def to_env(self, raw_action):
        return raw_action[..., 0].round().astype(np.int64) + self.start


class MultiDiscreteHead(ActionHead):
    """``MultiDiscrete(nvec, start)``: one categorical per component, concatenated."""

    def __init__(self, space: spaces.MultiDiscrete, d_model: int) -> None:
        super().__init__()
        self.shape = space.shape
        self.nvec = [int(n) for n in np.asarray(space.nvec).ravel()]
        self.start = np.asarray(space.start).ravel().astype(np.int64)
        self.raw_dim, self.feature_dim = len(self.nvec), sum(self.nvec)
        self.mask_width = self.feature_dim
        self.logits = _linear(d_model, self.feature_dim, gain=0.01)

    def forward(self, hidden, mask=None):
        groups = torch.split(self.logits(hidden), self.nvec, dim=-1)
        masks = torch.split(mask, self.nvec, dim=-1) if mask is not None else [None] * len(groups)
        return ProductDistribution([CategoricalDistribution(g, m) for g, m in zip(groups, masks)])

    def features(self, raw_action):
        indices = raw_action.round().long()
        return torch.cat(
            [nn.functional.one_hot(indices[..., i], n).float() for i, n in enumerate(self.nvec)],
            dim=-1,
        )

    def to_env(self, raw_action):
        actions = raw_action.round().astype(np.int64) + self.start
        return actions.reshape(raw_action.shape[:-1] + self.shape)


class BoxHead(ActionHead):
    """``Box``: Gaussian with a learned state-independent log-std (see module docstring)."""

    def __init__(self, space: spaces.Box, d_model: int, log_std_init: float) -> None:
        super().__init__()
        self.shape, self.dtype = space.shape, space.dtype
        low = np.asarray(space.low, dtype=np.float64).ravel()
        high = np.asarray(space.high, dtype=np.float64).ravel()
        self.bounded = np.isfinite(low) & np.isfinite(high)
        self.low, self.high = np.where(self.bounded, low, -1.0), np.where(self.bounded, high, 1.0)
        self.raw_dim = self.feature_dim = low.size
        self.mean = _linear(d_model, self.raw_dim, gain=0.01)
        self.log_std = nn.Parameter(torch.full((self.raw_dim,), float(log_std_init)))
        self.register_buffer("clip_mask", torch.as_tensor(self.bounded), persistent=False)

    def forward(self, hidden, mask=None):  # no discrete choice to mask
        return DiagGaussianDistribution(self.mean(hidden), self.log_std)

    def features(self, raw_action):
        return torch.where(self.clip_mask, raw_action.clamp(-1.0, 1.0), raw_action)

    def to_env(self, raw_action):
        unit = np.clip(raw_action, -1.0, 1.0)
        scaled = self.low + (unit + 1.0) * 0.5 * (self.high - self.low)
        actions = np.where(self.bounded, scaled, raw_action).astype(self.dtype)
        return actions.reshape(raw_action.shape[:-1] + self.shape)


class SquashedBoxHead(BoxHead):
    """``Box`` for the off-policy learner: a tanh-squashed Gaussian whose mean and log-std
    both depend on the state (SAC's actor). Samples lie in (-1, 1) and map onto the bounds
    as BoxHead's do; dimensions without finite bounds are limited to (-1, 1) as well.
    """

    LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0

    def __init__(self, space: spaces.Box, d_model: int, log_std_init: float) -> None:
        super().__init__(space, d_model, log_std_init)
        del self.log_std  # the log-std comes from the state
        self.log_std_layer = _linear(d_model, self.raw_dim, gain=0.01)
        nn.init.constant_(self.log_std_layer.bias, float(log_std_init))

    def forward(self, hidden, mask=None):
        log_std = self.log_std_layer(hidden).clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)
        return TanhGaussianDistribution(self.mean(hidden), log_std)


class CompositeHead(ActionHead):
    """``Tuple``/``Dict`` of the above (hybrid actions): independent parts side by side."""

    def __init__(self, space: spaces.Tuple | spaces.Dict, d_model: int, log_std_init: float, squash: bool = False):
        super().__init__()
        self.keys = list(space.spaces.keys()) if isinstance(space, spaces.Dict) else None
        subspaces = list(space.spaces.values()) if self.keys else list(space.spaces)
        self.parts = nn.ModuleList(make_action_head(s, d_model, log_std_init, squash) for s in subspaces)
        self.raw_widths = [part.raw_dim for part in self.parts]
        self.raw_dim = sum(self.raw_widths)
        self.feature_dim = sum(part.feature_dim for part in self.parts)
        self.mask_widths = [part.mask_width for part in self.parts]
        self.mask_width = sum(self.mask_widths)

    def forward(self, hidden, mask=None):
        masks = torch.split(mask, self.mask_widths, dim=-1) if mask is not None else [None] * len(self.parts)
        return ProductDistribution([part(hidden, m) for part, m in zip(self.parts, masks)])

    def features(self, raw_action):
        pieces = torch.split(raw_action, self.raw_widths, dim=-1)
        return torch.cat([part.features(p) for part, p in zip(self.parts, pieces)], dim=-1)

    def to_env(self, raw_action):
        bounds = np.cumsum([0] + self.raw_widths)
        actions = [
            part.to_env(raw_action[..., lo:hi])
            for part, lo, hi in zip(self.parts, bounds[:-1], bounds[1:])
        ]
        return dict(zip(self.keys, actions)) if self.keys else tuple(actions)


def make_action_head(
    space: spaces.Space, d_model: int, log_std_init: float = 0.0, squash: bool = False
) -> ActionHead:
    """Return the head for ``space``; raise TypeError for a space PPO here cannot act in.

    ``squash`` gives Box parts a tanh-squashed, state-dependent Gaussian (SquashedBoxHead).
    """
    if isinstance(space, spaces.Discrete):
        return DiscreteHead(space, d_model)
    if isinstance(space, spaces.MultiDiscrete):
        return MultiDiscreteHead(space, d_model)
    if isinstance(space, spaces.Box):
        return (SquashedBoxHead if squash else BoxHead)(space, d_model, log_std_init)
    if isinstance(space, (spaces.Tuple, spaces.Dict)):
        return CompositeHead(space, d_model, log_std_init, squash)
    raise TypeError(f"unsupported action space for the GPT policy: {space}")
