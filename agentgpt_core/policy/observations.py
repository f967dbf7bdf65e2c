"""Observations as flat float vectors, and their running normalisation.

The transformer sees one vector per timestep, so every supported observation space is
flattened the same way for a whole batch of env rows at once: Box values are reshaped,
Discrete/MultiDiscrete become one-hot, MultiBinary becomes 0/1 floats, and Dict/Tuple
concatenate their parts in the space's own order (Gymnasium's ``flatten`` order, but
batched). The normaliser lives in the policy so a loaded policy normalises exactly as it
did in training, with no env or trainer around.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


def flat_dim(space: spaces.Space) -> int:
    """Width of one flattened observation of ``space``."""
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    if isinstance(space, spaces.MultiBinary):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Dict):
        return sum(flat_dim(s) for s in space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return sum(flat_dim(s) for s in space.spaces)
    raise TypeError(f"unsupported observation space for the GPT policy: {space}")


def flatten_batch(space: spaces.Space, batch) -> np.ndarray:
    """Flatten a batch of observations of ``space`` (leading axis = rows) to ``[rows, dim]``."""
    if isinstance(space, spaces.Box | spaces.MultiBinary):
        array = np.asarray(batch, dtype=np.float32)
        return array.reshape(array.shape[0], -1)
    if isinstance(space, spaces.Discrete):
        index = np.asarray(batch, dtype=np.int64).reshape(-1) - int(space.start)
        return np.eye(int(space.n), dtype=np.float32)[index]
    if isinstance(space, spaces.MultiDiscrete):
        index = np.asarray(batch, dtype=np.int64) - np.asarray(space.start)
        index = index.reshape(index.shape[0], -1)
        nvec = np.asarray(space.nvec).ravel()
        return np.concatenate([np.eye(n, dtype=np.float32)[index[:, i]] for i, n in enumerate(nvec)], 1)
    if isinstance(space, spaces.Dict):
        return np.concatenate([flatten_batch(s, batch[k]) for k, s in space.spaces.items()], 1)
    if isinstance(space, spaces.Tuple):
        return np.concatenate([flatten_batch(s, part) for s, part in zip(space.spaces, batch)], 1)
    raise TypeError(f"unsupported observation space for the GPT policy: {space}")


class RunningNormalizer(nn.Module):
    """Running mean/variance (parallel Welford) kept as buffers, so it is saved with the weights.

    ``enabled`` False makes ``normalize`` the identity (the stats are still tracked, which
    costs nothing and keeps checkpoints uniform).
    """

    def __init__(self, dim: int, enabled: bool = True, clip: float = 10.0) -> None:
        super().__init__()
        self.enabled, self.clip = enabled, clip
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    def update(self, batch: np.ndarray) -> None:
        if len(batch) == 0:
            return
        mean, var, count = self.mean.numpy(), self.var.numpy(), float(self.count)  # views on the buffers
        batch = np.asarray(batch, np.float64)
        batch_mean, batch_var, n = batch.mean(0), batch.var(0), batch.shape[0]
        delta, total = batch_mean - mean, count + n
        mean += delta * n / total
        var[:] = (var * count + batch_var * n + delta**2 * count * n / total) / total
        self.count.fill_(total)

    def normalize(self, batch: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return batch.astype(np.float32)
        mean, std = self.mean.numpy(), np.sqrt(self.var.numpy() + 1e-8)
        return np.clip((batch - mean) / std, -self.clip, self.clip).astype(np.float32)
