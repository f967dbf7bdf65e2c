"""Rows of batched values: split and join vector batches (host pool, env host).

A batch is what ``gymnasium.vector.utils.batch_space`` describes: an ndarray with
one row per env, or a dict / tuple of such batches. The pool sends each host the
rows of its slots and writes the rows it gets back into one batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def take(batch: Any, slots: list[int]) -> Any:
    """The rows ``slots`` of ``batch``, as a batch (a list stays a list: one item per env)."""
    if isinstance(batch, list):
        return [batch[slot] for slot in slots]
    if isinstance(batch, dict):
        return {key: take(value, slots) for key, value in batch.items()}
    if isinstance(batch, tuple):
        return tuple(take(value, slots) for value in batch)
    return np.asarray(batch)[slots]


def put(batch: Any, slots: list[int], rows: Any) -> None:
    """Write ``rows`` (a batch of ``len(slots)``) into ``batch`` at ``slots``, in place."""
    if isinstance(batch, dict):
        for key, value in batch.items():
            put(value, slots, rows[key])
    elif isinstance(batch, tuple):
        for value, part in zip(batch, rows):
            put(value, slots, part)
    else:
        batch[slots] = rows


def row(batch: Any, index: int) -> Any:
    """One env's value from a batch (a copy, so later writes to the batch do not change it)."""
    if isinstance(batch, dict):
        return {key: row(value, index) for key, value in batch.items()}
    if isinstance(batch, tuple):
        return tuple(row(value, index) for value in batch)
    value = batch[index]
    return value.copy() if isinstance(value, np.ndarray) else value


def copy(batch: Any) -> Any:
    if isinstance(batch, dict):
        return {key: copy(value) for key, value in batch.items()}
    if isinstance(batch, tuple):
        return tuple(copy(value) for value in batch)
    return np.array(batch, copy=True)


def merge_infos(parts: list[tuple[list[int], dict]], num_envs: int) -> dict:
    """Join hosts' vector ``info`` dicts into one for ``num_envs`` envs.

    Gymnasium vector infos hold, per key, an array with one row per env (and a
    boolean ``_key`` mask); each host's rows go to its slots, rows of other slots
    stay zero / False / None. Values that are not per-env arrays keep the last
    host's value.
    """
    merged: dict = {}
    for key in dict.fromkeys(k for _, info in parts for k in info):
        values = [(slots, info[key]) for slots, info in parts if key in info]
        if all(isinstance(value, dict) for _, value in values):
            merged[key] = merge_infos(values, num_envs)
            continue
        arrays = [(slots, _array(value)) for slots, value in values]
        if not all(a is not None and a.ndim >= 1 and len(a) == len(slots) for slots, a in arrays):
            merged[key] = values[-1][1]
            continue
        first = arrays[0][1]
        shape = (num_envs, *first.shape[1:])
        out = np.full(shape, None, dtype=object) if first.dtype == object else np.zeros(shape, dtype=first.dtype)
        for slots, a in arrays:
            out[slots] = a
        merged[key] = out
    return merged


def _array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value)
    except ValueError:  # ragged: one object per env if it is a list (per-branch action masks), else not per-env
        return object_rows(value) if isinstance(value, list) else None


def object_rows(values: list[Any]) -> np.ndarray:
    """One object per row; filled one by one, since numpy would stack same-shaped arrays into one."""
    rows = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        rows[i] = value
    return rows
