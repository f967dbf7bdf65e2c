"""Action masks: which discrete choices an env allows this step, in one convention.

An env (or agent slot) that forbids some actions says so in ``info["action_mask"]``:

- ``Discrete(n)``: one array of n (1/True = allowed);
- ``MultiDiscrete`` and the discrete parts of a hybrid ``Tuple``/``Dict`` action
  (e.g. Unity's ``Tuple(Box, MultiDiscrete)``): a list with one array per branch, in
  the action space's order (ML-Agents' form); one flat array of all branches side by
  side is accepted too. ``Box`` parts have no branch.

No mask means every action is allowed. A branch that allows nothing, or a mask of the
wrong length, is an ``InvalidActionMask`` naming the env, raised where the mask is read,
rather than a NaN deep in torch. The trainers, ``agentgpt eval`` and the policy server
turn masks into one bool row per env row (``batch_masks``, ``row_mask``) whose columns
are the policy's categorical logits in head order (``mask_branches``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .protocol.errors import InvalidActionMask

MASK_INFO_KEY = "action_mask"


def mask_branches(space: spaces.Space) -> list[int]:
    """Sizes of the categorical branches of ``space``, in the policy head's order."""
    if isinstance(space, spaces.Discrete):
        return [int(space.n)]
    if isinstance(space, spaces.MultiDiscrete):
        return [int(n) for n in np.asarray(space.nvec).ravel()]
    if isinstance(space, spaces.Dict):
        return [n for part in space.spaces.values() for n in mask_branches(part)]
    if isinstance(space, spaces.Tuple):
        return [n for part in space.spaces for n in mask_branches(part)]
    return []


def mask_width(space: spaces.Space) -> int:
    """Columns of one row's mask: every categorical choice of ``space``."""
    return sum(mask_branches(space))


def row_mask(space: spaces.Space, value: Any, env: str, what: str = "env", branches: list[int] | None = None) -> np.ndarray:
    """One slot's mask in the convention above as a bool row of ``mask_width(space)``;
    errors name ``what`` ``env`` (the env, or a serving request's argument). ``branches``:
    ``mask_branches(space)`` when the caller has it already (one walk of the space per batch)."""
    try:
        return _row_mask(space, value, repr(env) if what == "env" else env,
                         mask_branches(space) if branches is None else branches)
    except InvalidActionMask as exc:
        raise InvalidActionMask(f"{what} {exc.message}") from None


def _row_mask(space: spaces.Space, value: Any, env: str, branches: list[int]) -> np.ndarray:
    if not branches:
        raise InvalidActionMask(f"{env} reports an action_mask, but its action space {space} has no discrete part")
    parts = _branch_parts(value, branches, env)
    if len(parts) != len(branches):
        raise InvalidActionMask(
            f"{env}: action_mask has {len(parts)} branches, the action space {space} has {len(branches)} {branches}"
        )
    rows = []
    for index, (part, size) in enumerate(zip(parts, branches)):
        try:
            array = np.asarray(part)
            if array.dtype == object or array.ndim != 1:
                raise ValueError
            array = array.astype(bool)
        except (TypeError, ValueError):
            raise InvalidActionMask(f"{env}: action_mask branch {index} is not a flat array of 0/1") from None
        if array.shape[0] != size:
            raise InvalidActionMask(
                f"{env}: action_mask branch {index} has {array.shape[0]} entries, the action space has {size} choices there"
            )
        if not array.any():
            raise InvalidActionMask(f"{env}: action_mask branch {index} allows no action at all")
        rows.append(array)
    return np.concatenate(rows)


def _branch_parts(value: Any, branches: list[int], env: str) -> list[Any]:
    """Split ``value`` into branches: a list of arrays as is, a flat array by ``branches``."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        flat = value.ravel() if value.ndim != 1 else value
        if value.ndim > 1 and value.shape[0] == len(branches) and len(set(branches)) == 1:
            return list(value)  # equal branches stacked as a matrix (a list of arrays that numpy joined)
        if flat.shape[0] != sum(branches):
            raise InvalidActionMask(
                f"{env}: action_mask has {flat.shape[0]} entries, the action space has {sum(branches)} choices {branches}"
            )
        return np.split(flat, np.cumsum(branches)[:-1])
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if items and all(np.ndim(item) == 0 for item in items):  # a flat list of numbers
            return _branch_parts(np.asarray(items), branches, env)
        return items
    raise InvalidActionMask(f"{env}: action_mask must be an array (or a list of arrays, one per branch), got {type(value).__name__}")


def batch_masks(space: spaces.Space, infos: dict, num_rows: int, env: str, alive: np.ndarray | None = None) -> np.ndarray | None:
    """Bool masks ``[num_rows, mask_width]`` from a vector step's ``infos``, or None when no row has one.

    ``infos["action_mask"]`` is a stacked array (Gymnasium's vector envs stack a
    Discrete mask), or one entry per row (a list or object array; None for a row
    without one). ``infos["_action_mask"]`` (Gymnasium's per-row flag) and ``alive``
    say which rows to read; every other row allows everything.
    """
    value = infos.get(MASK_INFO_KEY) if infos else None
    if value is None:
        return None
    branches = mask_branches(space)
    width = sum(branches)
    read = np.ones(num_rows, bool) if alive is None else np.asarray(alive, bool).copy()
    flags = infos.get("_" + MASK_INFO_KEY)
    if flags is not None:
        read &= np.asarray(flags, bool)
    out = np.ones((num_rows, width), bool)
    if isinstance(value, np.ndarray) and value.dtype != object and value.ndim == 2 and value.shape == (num_rows, width):
        out[read] = value[read].astype(bool)  # the fast path: one stacked array
        ends = np.cumsum(branches)
        for lo, hi in zip(ends - branches, ends):
            empty = read & ~out[:, lo:hi].any(1)
            if empty.any():
                row_mask(space, value[np.flatnonzero(empty)[0]], env, branches=branches)  # raises with the branch named
        return out
    if isinstance(value, np.ndarray) and value.dtype != object and value.ndim >= 1 and value.shape[0] != num_rows:
        raise InvalidActionMask(f"env {env!r}: action_mask has {value.shape[0]} rows, the vector env has {num_rows}")
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != num_rows:
        raise InvalidActionMask(f"env {env!r}: a vector env's action_mask needs one entry per row ({num_rows})")
    for row in np.flatnonzero(read):
        if value[row] is not None:
            out[row] = row_mask(space, value[row], env, branches=branches)
    return out


def env_label(envs: Any) -> str:
    """A name for ``envs`` in error messages: its env id, its (first) env's spec id, or class name."""
    if getattr(envs, "env_id", None):
        return str(envs.env_id)
    first = (getattr(getattr(envs, "unwrapped", envs), "envs", None) or [envs])[0]
    spec = getattr(envs, "spec", None) or getattr(first, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return str(spec.id)
    return type(getattr(first, "unwrapped", first)).__name__
