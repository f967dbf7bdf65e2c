"""Checking what a caller sends before anything is remembered.

Every argument of an action is validated here, whole, before the service touches an
agent's context: a request with one bad observation changes nothing, and its caller
gets an ``invalid_argument`` error naming the agent and what is wrong (shape, NaN,
type), while other callers are served as usual. Observations may come as a list (JSON,
with ``None`` for agents with nothing new) or as one array with a leading agent axis
(the msgpack fast path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from ..protocol.errors import InvalidArgument, MalformedPayload

AgentId = int | str
_ID_TYPES = {int, str}


def agent_ids(value: Any, name: str = "agent_ids") -> list[AgentId]:
    """A list of distinct agent ids (ints or strings)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise MalformedPayload(f"{name} must be a list of agent ids (ints or strings), got {type(value).__name__}")
    ids = list(value)
    if not set(map(type, ids)) <= _ID_TYPES:  # one pass in C; bool (an int subclass) is refused here too
        for item in ids:
            if type(item) not in _ID_TYPES:
                raise InvalidArgument(f"{name}: an agent id is an int or a string, got {item!r}")
    if len(set(ids)) != len(ids):
        raise InvalidArgument(f"{name} repeats an agent id; each agent acts once per call")
    return ids


def per_agent(value: Any, count: int, name: str) -> list[Any]:
    """One entry per agent from a list or an array with a leading agent axis."""
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise MalformedPayload(f"{name} must be a list with one entry per agent, got {type(value).__name__}")
    if len(value) != count:
        raise InvalidArgument(f"{name} has {len(value)} entries for {count} agent_ids")
    return list(value)


def rewards(value: Any, count: int) -> list[float | None]:
    """Optional rewards, one per agent (``None``: none for that agent this call)."""
    out: list[float | None] = []
    for i, item in enumerate(per_agent(value, count, "rewards")):
        if item is None:
            out.append(None)
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float, np.integer, np.floating)) or not np.isfinite(item):
            raise InvalidArgument(f"rewards[{i}] must be a finite number or null, got {item!r}")
        out.append(float(item))
    return out


def box_batch(space: spaces.Space, value: Any, count: int) -> np.ndarray | None:
    """The fast path: every agent's Box observation at once, or None to check them one by one.

    One array conversion and one finiteness check for the whole call; anything unusual
    (a ``None``, a wrong shape, a NaN) falls back to ``observation`` per agent, which
    names the agent at fault.
    """
    if not isinstance(space, spaces.Box):
        return None
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if array.shape != (count,) + space.shape or not np.isfinite(array).all():
        return None
    return array


def observation(space: spaces.Space, value: Any, where: str) -> Any:
    """One observation checked against ``space`` (shape, finiteness, range for discrete parts)."""
    if isinstance(space, spaces.Box):
        array = _numeric(value, where)
        if array.shape != space.shape:
            raise InvalidArgument(f"{where} has shape {list(array.shape)}; the observation space's shape is {list(space.shape)}")
        if not np.all(np.isfinite(array)):
            raise InvalidArgument(f"{where} contains NaN or infinity")
        return array
    if isinstance(space, spaces.Discrete):
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not space.contains(np.int64(value)):
            raise InvalidArgument(f"{where} must be an integer in [{space.start}, {space.start + space.n}), got {value!r}")
        return int(value)
    if isinstance(space, (spaces.MultiDiscrete, spaces.MultiBinary)):
        array = _numeric(value, where)
        if array.shape != space.shape or not np.all(np.isfinite(array)) or not space.contains(array.astype(space.dtype)):
            raise InvalidArgument(f"{where} is not in the observation space {space}")
        return array.astype(space.dtype)
    if isinstance(space, spaces.Dict):
        if not isinstance(value, dict) or set(value) != set(space.spaces):
            raise InvalidArgument(f"{where} must be an object with keys {sorted(space.spaces)}")
        return {key: observation(sub, value[key], f"{where}.{key}") for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(space.spaces):
            raise InvalidArgument(f"{where} must be a list of {len(space.spaces)} parts")
        return tuple(observation(sub, part, f"{where}[{i}]") for i, (sub, part) in enumerate(zip(space.spaces, value)))
    raise InvalidArgument(f"observations of {space} cannot be served")


def batch(space: spaces.Space, items: list[Any]) -> Any:
    """Checked single observations as the batch ``flatten_batch`` takes (leading axis = agents)."""
    if isinstance(space, spaces.Dict):
        return {key: batch(sub, [item[key] for item in items]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(batch(sub, [item[i] for item in items]) for i, sub in enumerate(space.spaces))
    return np.stack([np.asarray(item) for item in items])


def _numeric(value: Any, where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{where} must be numbers in the observation space's shape, got {_short(value)}") from None
    return array


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
