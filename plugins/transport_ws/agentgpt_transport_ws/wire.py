"""The WebSocket message format (docs/ws-and-gateway.md, "Messages").

A request is ``{"id": int, "method": str, "params": {...}}``; its answer is
``{"id": int, "result": ...}`` or ``{"id": int|null, "error": {"code", "message"}}``.
Text frames carry JSON, binary frames msgpack, and an answer uses the codec of its
request, so a browser console and the msgpack fast path share one socket format.
Nothing here touches a socket: these functions turn frames into frames, which keeps
every error path testable without a network.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, NamedTuple

import msgpack

from agentgpt_core.kinds.dispatch import Dispatcher
from agentgpt_core.protocol.codecs import JSON, MSGPACK, Codec
from agentgpt_core.protocol.errors import MalformedPayload, PayloadTooLarge, ProtocolError, release_frames

Frame = str | bytes
DEFAULT_MAX_SIZE = 16 * 2**20
# websockets itself closes the socket (code 1009) above this multiple of max_size;
# between the two limits the sender gets a typed ``payload_too_large`` answer.
HARD_LIMIT_FACTOR = 4
_JSON_ID = re.compile(r'^\s*\{\s*"id"\s*:\s*(-?\d+)')


def codec_of(frame: Frame) -> Codec:
    """JSON for text frames, msgpack for binary ones."""
    return JSON if isinstance(frame, str) else MSGPACK


def encode(codec: Codec, message: dict) -> Frame:
    data = codec.encode(message)
    return data.decode() if codec is JSON else data


def error_frame(codec: Codec, request_id: int | None, error: ProtocolError) -> Frame:
    return encode(codec, {"id": request_id, "error": error.to_dict()})


def decode(frame: Frame, max_size: int) -> tuple[Codec, Any]:
    """Decode one frame; PayloadTooLarge or MalformedPayload (with ``request_id`` when known)."""
    codec = codec_of(frame)
    if len(frame) > max_size:
        error = PayloadTooLarge(f"message of {len(frame)} bytes exceeds this side's limit of {max_size}")
        error.request_id = peek_id(frame)  # type: ignore[attr-defined]
        raise error
    message = codec.decode(frame)
    if not isinstance(message, dict):
        raise MalformedPayload(f"a message must be an object, got {type(message).__name__}")
    return codec, message


def peek_id(frame: Frame) -> int | None:
    """The request id of a frame too large to decode, when it comes first (ours do)."""
    try:
        if isinstance(frame, str):
            match = _JSON_ID.match(frame[:64])
            return int(match.group(1)) if match else None
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(frame[:64])
        if unpacker.read_map_header() >= 1 and unpacker.unpack() == "id":
            value = unpacker.unpack()
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    except Exception:  # any truncated or odd prefix: the id is simply unknown
        pass
    return None


def message_id(message: dict) -> int | None:
    value = message.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Started:
    """A request the service began on the loop (``Service.begin``); ``answer()`` awaits it into a frame."""

    __slots__ = ("codec", "request_id", "frame", "waiting")

    def __init__(self, codec: Codec, request_id: int, frame: Frame, waiting: Awaitable[Any]):
        self.codec, self.request_id, self.frame, self.waiting = codec, request_id, frame, waiting

    async def answer(self) -> Frame:
        try:
            return encode(self.codec, {"id": self.request_id, "result": await self.waiting})
        except Exception as error:
            return failure_frame(self.codec, self.frame, self.request_id, error)


class Parsed(NamedTuple):
    """A request to answer through ``Dispatcher.run`` (``run_parsed``)."""

    codec: Codec
    request_id: int
    method: str
    params: Any


def begin_dispatched(dispatcher: Dispatcher, session: str, frame: Frame, max_size: int) -> Started | Parsed | Frame | None:
    """Decode a request and start it on the loop when its service does that (``Started``);
    else ``Parsed`` (answer it with ``run_parsed``), or its answer when already known: an
    error frame, or None for an error message."""
    codec, request_id = codec_of(frame), None
    try:
        request = parse_request(frame, max_size)
        if request is None:
            return None
        codec, request_id, method, params = request
        waiting = dispatcher.begin(method, params, session)
    except Exception as error:
        return failure_frame(codec, frame, request_id, error)
    return Parsed(codec, request_id, method, params) if waiting is None else Started(codec, request_id, frame, waiting)


async def run_parsed(dispatcher: Dispatcher, session: str, frame: Frame, request: Parsed) -> Frame:
    """The answer to a decoded request, run by ``dispatcher`` (inline or in a thread)."""
    try:
        result = await dispatcher.run(request.method, request.params, session)
        return encode(request.codec, {"id": request.request_id, "result": result})
    except Exception as error:
        return failure_frame(request.codec, frame, request.request_id, error)


def parse_request(frame: Frame, max_size: int) -> tuple[Codec, int, str, Any] | None:
    """``(codec, id, method, params)`` of a request frame; None for an error message; ProtocolError otherwise."""
    codec, message = decode(frame, max_size)
    if "error" in message:
        return None  # answering an error with an error could ping-pong forever
    request_id = message_id(message)
    method, params = message.get("method"), message.get("params")
    if request_id is None or not isinstance(method, str):
        raise MalformedPayload('a request needs an integer "id" and a string "method"')
    return codec, request_id, method, params


def failure_frame(codec: Codec, frame: Frame, request_id: int | None, error: Exception) -> Frame:
    """The error answer for a failed request: its typed error, or ``internal_error`` for a bug (never the socket)."""
    release_frames(error)  # the refused request is freed now, not at the next full GC
    if not isinstance(error, ProtocolError):
        error = ProtocolError(f"internal error: {type(error).__name__}: {error}")
    known = getattr(error, "request_id", request_id)
    return error_frame(codec, peek_id(frame) if known is None else known, error)
