"""Hypothesis strategies for Gymnasium spaces, nested the way envs nest them."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from hypothesis import strategies as st

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def boxes(draw):
    dtype = np.dtype(draw(st.sampled_from(["float32", "float64", "float16", "int8", "uint8", "int32", "int64"])))
    shape = draw(shapes)
    if dtype.kind == "f":
        low = draw(st.sampled_from([-np.inf, -1.0, 0.0, -2.5]))
        high = draw(st.sampled_from([np.inf, 1.0, 3.25]))
    else:
        info = np.iinfo(dtype)
        low = draw(st.integers(int(info.min), 0))
        # below the dtype's max: gymnasium's Box.sample draws integers(low, high + 1), which overflows at it
        high = draw(st.integers(1, int(info.max) - 1))
    return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)


leaf_spaces = st.one_of(
    boxes(),
    st.builds(lambda n, s: spaces.Discrete(n, start=s), st.integers(1, 50), st.integers(-5, 5)),
    st.builds(lambda nvec: spaces.MultiDiscrete(nvec), st.lists(st.integers(1, 9), min_size=1, max_size=4)),
    st.builds(spaces.MultiBinary, st.one_of(st.integers(1, 6), st.lists(st.integers(1, 3), min_size=1, max_size=2))),
    st.builds(lambda lo, extra: spaces.Text(max_length=lo + extra, min_length=lo, charset="abcXYZ01 "), st.integers(0, 3), st.integers(0, 4)),
)


def _containers(children):
    keys = st.text(alphabet="abcdefgh_", min_size=1, max_size=5)
    return st.one_of(
        st.dictionaries(keys, children, min_size=1, max_size=3).map(spaces.Dict),
        st.lists(children, min_size=1, max_size=3).map(spaces.Tuple),
    )


any_space = st.recursive(leaf_spaces, _containers, max_leaves=6)
