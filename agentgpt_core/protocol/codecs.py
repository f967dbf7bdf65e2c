"""Wire codecs: JSON (the seeds' format) and msgpack (the fast path).

Both carry the same value model: dicts, lists, str, int, float, bool, None and numpy
arrays. JSON turns arrays into nested lists and spells non-finite floats ``NaN``,
``Infinity`` and ``-Infinity`` (the tokens Python, and most JSON libraries in their
lenient mode, read back). msgpack carries an ndarray as extension type 1 whose payload
is the msgpack array ``[dtype, shape, raw_bytes]`` (dtype in numpy's ``str`` spelling,
e.g. ``"<f4"``), so nothing is copied through Python floats. No pickle, ever.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgpack
import numpy as np

from .errors import MalformedPayload

NDARRAY_EXT = 1
# Deepest nesting of arrays/objects a decoded message may have. Every message of the
# protocol is a few levels deep (a nested Dict space is the deepest, far below this);
# the limit keeps a hostile body from reaching Python's recursion limit anywhere later
# (a JSON parser, kwargs checks, error messages), which used to surface as a 500.
MAX_DEPTH = 64


def check_depth(value: Any, limit: int = MAX_DEPTH) -> Any:
    """Return ``value``, or raise MalformedPayload if its containers nest deeper than ``limit``.

    Iterative, so the check itself cannot overflow the stack; ndarrays are leaves.
    """
    level: list[Any] = [value]
    for depth in range(limit + 1):
        deeper: list[Any] = []
        for item in level:
            if type(item) is dict:
                deeper.extend(v for v in item.values() if type(v) in (dict, list))
            elif type(item) is list:
                deeper.extend(v for v in item if type(v) in (dict, list))
        if not deeper:
            return value
        level = deeper
    raise MalformedPayload(f"the message nests arrays/objects more than {limit} levels deep")


class Codec:
    """Turns protocol values into bytes and back."""

    name: str
    content_type: str

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class JsonCodec(Codec):
    """Human-readable, what the seeds' example sends; arrays become lists."""

    name = "json"
    content_type = "application/json"

    def encode(self, value: Any) -> bytes:
        try:
            return json.dumps(value, default=_json_default, allow_nan=True, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise MalformedPayload(f"value is not JSON-encodable: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        if not data:
            return {}
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedPayload(f"body is not valid JSON: {exc}") from exc
        except RecursionError:
            raise MalformedPayload(f"the message nests arrays/objects more than {MAX_DEPTH} levels deep") from None
        return check_depth(value)


class StrictJsonCodec(JsonCodec):
    """JSON that strict parsers read: non-finite floats as the strings ``"Infinity"``,
    ``"-Infinity"`` and ``"NaN"``.

    ``NaN`` and ``Infinity`` are not JSON (RFC 8259), and JavaScript's ``JSON.parse``
    refuses a Box bound written ``-Infinity``. A caller asks for this form with
    ``Accept: application/json; nonfinite=string`` (HTTP) and turns the strings back
    into numbers (numpy and Python's ``float()`` read them as they are).
    """

    name = "json-strict"
    content_type = "application/json; nonfinite=string"

    def encode(self, value: Any) -> bytes:
        try:
            return json.dumps(_finite_or_text(value), default=_json_default, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise MalformedPayload(f"value is not JSON-encodable: {exc}") from exc


def _finite_or_text(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else "NaN" if number != number else "Infinity" if number > 0 else "-Infinity"
    if isinstance(value, np.ndarray):
        return _finite_or_text(value.tolist()) if value.dtype.kind in "fc" or value.dtype.hasobject else value
    if isinstance(value, dict):
        return {key: _finite_or_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_text(item) for item in value]
    return value


def _msgpack_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return value.tolist()
        array = value if value.flags.c_contiguous else value.copy(order="C")
        payload = msgpack.packb([array.dtype.str, list(array.shape), array.tobytes()])
        return msgpack.ExtType(NDARRAY_EXT, payload)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} as msgpack")


def _msgpack_ext_hook(code: int, payload: bytes) -> Any:
    if code != NDARRAY_EXT:
        raise MalformedPayload(f"unknown msgpack extension type {code}")
    try:
        dtype_str, shape, raw = msgpack.unpackb(payload)
        dtype = np.dtype(dtype_str)
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except MalformedPayload:
        raise
    except Exception as exc:  # any malformed ndarray payload
        raise MalformedPayload(f"bad ndarray payload: {exc}") from exc


class MsgpackCodec(Codec):
    """Binary and fast: ndarrays travel as dtype + shape + raw bytes."""

    name = "msgpack"
    content_type = "application/msgpack"

    def encode(self, value: Any) -> bytes:
        try:
            return msgpack.packb(value, default=_msgpack_default, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise MalformedPayload(f"value is not msgpack-encodable: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        if not data:
            return {}
        try:
            value = msgpack.unpackb(data, ext_hook=_msgpack_ext_hook, raw=False, strict_map_key=False)
        except MalformedPayload:
            raise
        except Exception as exc:  # msgpack raises several unrelated types
            raise MalformedPayload(f"body is not valid msgpack: {exc or type(exc).__name__}") from None
        return check_depth(value)


JSON = JsonCodec()
STRICT_JSON = StrictJsonCodec()
MSGPACK = MsgpackCodec()
CODECS: dict[str, Codec] = {JSON.name: JSON, STRICT_JSON.name: STRICT_JSON, MSGPACK.name: MSGPACK}
_BY_CONTENT_TYPE = {
    "application/json": JSON,
    "application/msgpack": MSGPACK,
    "application/x-msgpack": MSGPACK,
    "application/vnd.msgpack": MSGPACK,
}


def codec_for_content_type(content_type: str | None, default: Codec = JSON) -> Codec:
    """Pick the codec a Content-Type or Accept header names (JSON when unsure)."""
    if not content_type:
        return default
    for part in content_type.split(","):
        media, *parameters = (piece.strip().lower() for piece in part.split(";"))
        if media in _BY_CONTENT_TYPE:
            if media == "application/json" and "nonfinite=string" in (p.replace(" ", "") for p in parameters):
                return STRICT_JSON
            return _BY_CONTENT_TYPE[media]
    return default


def get_codec(name: str) -> Codec:
    try:
        return CODECS[name]
    except KeyError:
        raise ValueError(f"unknown codec {name!r}; choose one of {sorted(CODECS)}") from None
