"""Checks on the caller's arguments other than actions: seeds and constructor kwargs.

A wrong argument is the caller's mistake and must come back as ``invalid_argument``
(HTTP 422), not as ``env_error`` (500, "the simulator broke"): a negative seed or a
list of seeds for a single env used to reach the env and fail there, and a keyword
the env's constructor does not take raised a TypeError that read as a crash.
Checking here, before the env is touched, also makes ``make`` refuse a bad seed at
once instead of failing later at the first ``reset``.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np

from ..protocol.errors import InvalidArgument

MAX_SEED = 2**64 - 1  # numpy's SeedSequence takes any non-negative int; msgpack carries up to here
T = TypeVar("T")


def _is_seed_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 0 <= value <= MAX_SEED


def check_seed(seed: Any, num_envs: int | None = None) -> Any:
    """Return ``seed`` if valid: None, or an int in [0, 2**64); for a vector env of ``num_envs``
    also a list of ``num_envs`` such ints (or None). Raise InvalidArgument otherwise."""
    if seed is None or _is_seed_int(seed):
        return seed
    if num_envs is not None and isinstance(seed, list):
        if len(seed) == num_envs and all(s is None or _is_seed_int(s) for s in seed):
            return seed
        raise InvalidArgument(f"seed must be a list of {num_envs} integers from 0 to 2**64-1 (or null), got {_short(seed)}")
    accepted = "an integer from 0 to 2**64-1" + (f", or a list of {num_envs} of them" if num_envs is not None else "")
    raise InvalidArgument(f"seed must be {accepted}, got {_short(seed)}")


def construct(make: Callable[..., T], kwargs: dict, *args: Any) -> T:
    """``make(*args, **kwargs)``, with a TypeError about the caller's kwargs reported as invalid_argument."""
    try:
        return make(*args, **kwargs)
    except TypeError as exc:
        if kwargs and "argument" in str(exc):  # "unexpected keyword argument", "missing 1 required ..."
            raise InvalidArgument(f"the env does not take kwargs {sorted(kwargs)}: {exc}") from None
        raise


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
