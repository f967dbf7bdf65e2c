"""Make ``info`` dicts wire-safe.

Simulators put anything in ``info``; the protocol carries only plain data and numpy
arrays. Anything else becomes its ``repr`` so a step never fails because of a debug
field, and nothing is pickled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_PLAIN = (str, int, float, bool, type(None))


def to_wire(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with every part the codecs can carry; the rest as text."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, np.ndarray):
        return value if not value.dtype.hasobject else [to_wire(v, depth + 1) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if depth > 16:
        return repr(value)
    if isinstance(value, dict):
        return {str(key): to_wire(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(item, depth + 1) for item in value]
    return repr(value)
