"""Gymnasium spaces as plain data, so a client can rebuild the exact space.

``space_to_dict`` produces only dicts, lists, str, int, float and bool (non-finite
bounds stay floats), so both codecs carry it. Every supported space round-trips
exactly: ``space_from_dict(space_to_dict(s)) == s`` with the same dtype. Dict and
Tuple nest arbitrarily; Dict keeps its key order as a list of ``[key, space]`` pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from .errors import MalformedPayload


def space_to_dict(space: spaces.Space) -> dict[str, Any]:
    """Describe ``space`` as plain data (see docs/protocol.md, "Spaces")."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": space.dtype.str,
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start), "dtype": space.dtype.str}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": space.dtype.str,
        }
    if isinstance(space, spaces.MultiBinary):
        n = space.n
        return {"type": "MultiBinary", "n": int(n) if np.ndim(n) == 0 else np.asarray(n).tolist()}
    if isinstance(space, spaces.Text):
        return {
            "type": "Text",
            "min_length": space.min_length,
            "max_length": space.max_length,
            "charset": "".join(space.character_list),
        }
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": [[key, space_to_dict(sub)] for key, sub in space.spaces.items()]}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_dict(sub) for sub in space.spaces]}
    raise ValueError(f"space {type(space).__name__} is not supported by the protocol")


def space_from_dict(data: dict[str, Any]) -> spaces.Space:
    """Rebuild the space ``space_to_dict`` described; raises MalformedPayload if it can't."""
    try:
        return _SPACE_BUILDERS[data["type"]](data)
    except MalformedPayload:
        raise
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise MalformedPayload(f"bad space description {data!r:.200}: {exc}") from exc


def _box(data: dict) -> spaces.Box:
    dtype = np.dtype(data["dtype"])
    shape = tuple(int(n) for n in data["shape"])
    low = np.array(data["low"], dtype=np.float64 if dtype.kind == "f" else dtype).astype(dtype).reshape(shape)
    high = np.array(data["high"], dtype=np.float64 if dtype.kind == "f" else dtype).astype(dtype).reshape(shape)
    return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)


def _discrete(data: dict) -> spaces.Discrete:
    return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)), dtype=np.dtype(data.get("dtype", "<i8")))


def _multi_discrete(data: dict) -> spaces.MultiDiscrete:
    dtype = np.dtype(data.get("dtype", "<i8"))
    nvec = np.array(data["nvec"], dtype=dtype)
    start = np.array(data.get("start", np.zeros_like(nvec)), dtype=dtype)
    return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)


def _multi_binary(data: dict) -> spaces.MultiBinary:
    n = data["n"]
    return spaces.MultiBinary(n if isinstance(n, int) else np.asarray(n, dtype=np.int64))


def _text(data: dict) -> spaces.Text:
    return spaces.Text(
        max_length=int(data["max_length"]), min_length=int(data.get("min_length", 1)), charset=data["charset"]
    )


def _dict(data: dict) -> spaces.Dict:
    return spaces.Dict({str(key): space_from_dict(sub) for key, sub in data["spaces"]})


def _tuple(data: dict) -> spaces.Tuple:
    return spaces.Tuple([space_from_dict(sub) for sub in data["spaces"]])


_SPACE_BUILDERS = {
    "Box": _box,
    "Discrete": _discrete,
    "MultiDiscrete": _multi_discrete,
    "MultiBinary": _multi_binary,
    "Text": _text,
    "Dict": _dict,
    "Tuple": _tuple,
}
