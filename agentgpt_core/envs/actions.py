"""Decode actions from the wire into the action space's own types, or refuse them.

JSON brings ints, floats and lists; msgpack may bring ndarrays of another dtype.
Envs expect their space's dtype (a Discrete action stays an integer, a Box action is
an ndarray of the Box dtype and shape), so every action is cast, shape-checked and
``space.contains``-checked here; a failure is an ``InvalidAction`` naming the space.
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np
from gymnasium import spaces

from ..protocol.errors import InvalidAction


def decode_action(space: spaces.Space, value: Any) -> Any:
    """Return ``value`` cast to ``space``'s types; raise InvalidAction if it does not fit."""
    if type(value) is int and type(space) is spaces.Discrete:  # the hot path: one plain integer
        if space.start <= value < space.start + space.n:
            return space.dtype.type(value)
        raise InvalidAction(f"action {value} is not in {space}")
    try:
        action = _cast(space, value)
    except InvalidAction:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidAction(f"action {_short(value)} does not fit {space}: {exc}") from exc
    if not space.contains(action):
        raise InvalidAction(f"action {_short(value)} is not in {space}")
    return action


def _cast(space: spaces.Space, value: Any) -> Any:
    if value is None:
        raise InvalidAction(f"action is missing; expected a value in {space}")
    if isinstance(space, spaces.Discrete):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating, np.ndarray)):
            raise InvalidAction(f"action {_short(value)} must be a single integer for {space}")
        array = np.asarray(value)
        if array.ndim != 0 or array.dtype.kind not in "iuf":  # [1] is a list, not an integer
            raise InvalidAction(f"action {_short(value)} must be a single integer for {space}")
        scalar = array.item()
        if not np.isfinite(scalar) or float(scalar) != int(scalar):
            raise InvalidAction(f"action {_short(value)} must be an integer for {space}")
        return space.dtype.type(int(scalar))
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise InvalidAction(f"action {_short(value)} must be numeric for {space}")
        if array.shape != space.shape:
            raise InvalidAction(f"action has shape {array.shape}, {space} needs shape {space.shape}")
        if array.dtype.kind == "f" and space.dtype.kind != "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise InvalidAction(f"action {_short(value)} must be integral for {space}")
        return array.astype(space.dtype, copy=False)
    if isinstance(space, spaces.Text):
        if not isinstance(value, str):
            raise InvalidAction(f"action must be a string for {space}")
        return value
    if isinstance(space, spaces.Dict):
        if not isinstance(value, dict) or set(value) != set(space.spaces):
            raise InvalidAction(f"action must be a dict with keys {list(space.spaces)}")
        return {key: _cast(sub, value[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(space.spaces):
            raise InvalidAction(f"action must be a list of {len(space.spaces)} parts for {space}")
        return tuple(_cast(sub, part) for sub, part in zip(space.spaces, value))
    return value


def _short(value: Any) -> str:
    """A few characters of ``value`` for an error message, in time independent of its size
    (a refused 15 MB action must not cost a 15 MB repr)."""
    if isinstance(value, np.ndarray) and value.size > 16:
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    text = _REPR.repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 80 else text[:77] + "..."


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 8
_REPR.maxlevel = 3
