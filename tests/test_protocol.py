"""Codecs and spaces: every value and space round-trips exactly, through both codecs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agentgpt_core.protocol import JSON, MSGPACK, codec_for_content_type, space_from_dict, space_to_dict
from agentgpt_core.protocol.errors import MalformedPayload
from agentgpt_core.remote.convert import as_space_value

from .strategies import any_space

CODECS = [JSON, MSGPACK]


def _equal_values(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal_values(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal_values(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b and type(a) is type(b)


@settings(max_examples=150, deadline=None)
@given(any_space, st.sampled_from(CODECS))
def test_every_space_round_trips_exactly(space, codec):
    rebuilt = space_from_dict(codec.decode(codec.encode(space_to_dict(space))))
    assert rebuilt == space
    assert rebuilt.dtype == space.dtype
    assert repr(rebuilt) == repr(space)


@settings(max_examples=100, deadline=None)
@given(any_space, st.sampled_from(CODECS), st.integers(0, 2**31 - 1))
def test_samples_round_trip_as_the_space_own_types(space, codec, seed):
    space.seed(seed)
    sample = space.sample()
    decoded = as_space_value(space, codec.decode(codec.encode(sample)))
    assert space.contains(decoded)
    assert _equal_values(decoded, sample)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(hnp.scalar_dtypes().filter(lambda d: d.kind in "biuf"), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
def test_msgpack_carries_ndarrays_bit_exactly(array):
    decoded = MSGPACK.decode(MSGPACK.encode({"x": array}))["x"]
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    assert decoded.tobytes() == array.tobytes()
    assert decoded.flags.writeable


@pytest.mark.parametrize("codec", CODECS)
def test_none_nan_inf_scalars_and_bools_survive(codec):
    value = {"obs": [None, 1.5, None], "r": [float("nan"), float("inf"), -float("inf")], "b": np.bool_(True), "i": np.int16(-3), "f": np.float32(0.5)}
    decoded = codec.decode(codec.encode(value))
    assert decoded["obs"] == [None, 1.5, None]
    assert math.isnan(decoded["r"][0]) and decoded["r"][1:] == [math.inf, -math.inf]
    assert decoded["b"] is True and decoded["i"] == -3 and decoded["f"] == 0.5


def test_json_spells_non_finite_floats_out():
    assert JSON.encode([float("nan"), float("inf"), -float("inf")]) == b"[NaN,Infinity,-Infinity]"


@pytest.mark.parametrize("codec", CODECS)
def test_garbage_is_a_typed_error(codec):
    with pytest.raises(MalformedPayload):
        codec.decode(b"\xc1\xff{not valid")


def test_msgpack_refuses_unknown_extension_types():
    import msgpack

    with pytest.raises(MalformedPayload):
        MSGPACK.decode(msgpack.packb(msgpack.ExtType(42, b"x")))


def test_bad_space_description_is_a_typed_error():
    with pytest.raises(MalformedPayload):
        space_from_dict({"type": "Box", "shape": [2]})
    with pytest.raises(MalformedPayload):
        space_from_dict({"type": "Nonsense"})


def test_unsupported_space_is_refused_with_its_name():
    with pytest.raises(ValueError, match="Graph"):
        space_to_dict(spaces.Graph(node_space=spaces.Discrete(2), edge_space=None))


def test_content_type_picks_the_codec():
    assert codec_for_content_type("application/msgpack") is MSGPACK
    assert codec_for_content_type("application/json; charset=utf-8") is JSON
    assert codec_for_content_type("text/html, application/x-msgpack;q=0.9") is MSGPACK
    assert codec_for_content_type(None) is JSON
