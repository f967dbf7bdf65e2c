"""Turn decoded wire values back into what a space's users expect.

JSON brings lists and Python numbers; msgpack brings ndarrays that may be of any
dtype. Clients hand their users values of the space's own dtype and shape, single or
batched, with ``None`` kept for multi-agent slots that have no data.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import iterate

from ..protocol.errors import MalformedPayload, ProtocolError
from ..protocol.names import FINAL_OBSERVATION, OBSERVATION, REWARD, TERMINATED, TRUNCATED


def as_space_value(space: spaces.Space, value: Any) -> Any:
    """One value of ``space`` (an observation or action), in the space's dtype."""
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return np.asarray(value, dtype=space.dtype).reshape(space.shape)
    if isinstance(space, spaces.Discrete):
        return space.dtype.type(np.asarray(value).reshape(()).item())
    if isinstance(space, spaces.Dict):
        return {key: as_space_value(sub, value[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(as_space_value(sub, part) for sub, part in zip(space.spaces, value))
    return value


def as_batch_value(space: spaces.Space, value: Any, num_envs: int) -> Any:
    """A batch of ``num_envs`` values of ``space``, shaped as gymnasium's ``batch_space`` would."""
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        return np.asarray(value, dtype=space.dtype).reshape((num_envs, *space.shape))
    if isinstance(space, spaces.Discrete):
        return np.asarray(value, dtype=space.dtype).reshape((num_envs,))
    if isinstance(space, spaces.Dict):
        return {key: as_batch_value(sub, value[key], num_envs) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(as_batch_value(sub, part, num_envs) for sub, part in zip(space.spaces, value))
    return tuple(value)


def unpack_vector_step(space: spaces.Space, result: dict, num_envs: int) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    """A wire ``step`` result of ``num_envs`` envs as arrays: observation batch, reward,
    terminated, truncated, and the final observations (one per env, ``None`` where none)."""
    finals = result.get(FINAL_OBSERVATION) or [None] * num_envs
    return (
        as_batch_value(space, result[OBSERVATION], num_envs),
        np.asarray(result[REWARD], dtype=np.float64).reshape(num_envs),
        np.asarray(result[TERMINATED], dtype=bool).reshape(num_envs),
        np.asarray(result[TRUNCATED], dtype=bool).reshape(num_envs),
        [None if final is None else as_space_value(space, final) for final in finals],
    )


def as_slot_values(space: spaces.Space, values: list[Any]) -> list[Any]:
    """Per-agent values for a multi-agent env: each converted, ``None`` kept."""
    return [None if v is None else as_space_value(space, v) for v in values]


def wire_actions(space: spaces.Space, batch_space: spaces.Space, actions: Any) -> Any:
    """A vector env's actions in the wire's form (docs/protocol.md, "Actions").

    For Box, Discrete, MultiDiscrete and MultiBinary the batch is already one array.
    For Dict, Tuple and Text the wire wants a list of one action per env, while
    Gymnasium users hold the batched form (``action_space.sample()``: a dict of
    arrays, a tuple of arrays or of strings); ``iterate`` turns it into the per-env
    form. A list is taken to be per-env already.
    """
    if not isinstance(space, (spaces.Dict, spaces.Tuple, spaces.Text)) or isinstance(actions, list):
        return actions
    if isinstance(space, spaces.Text):
        return list(actions)
    return list(iterate(batch_space, actions))


@contextmanager
def reading(method: str, peer: str) -> Iterator[None]:
    """Turn a host's wrongly shaped answer into the protocol's ``MalformedPayload`` naming ``method``.

    A result missing a field, or with an observation of the wrong size, used to surface
    as a raw KeyError/ValueError from deep inside a conversion; the caller should get
    the typed error that says which call, from which host, was wrong.
    """
    try:
        yield
    except ProtocolError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayload(f"the answer to {method!r} from {peer} does not fit the protocol: {type(exc).__name__}: {exc}") from None
