"""Requests in flight on one socket, matched to their answers by id.

This is the requesting side of the protocol, shared by ``WsClient`` (trainer to a
listening host) and ``WsHostLink`` (gateway to a dial-out host). Any thread may
``submit`` many requests before reading one answer (pipelining); the socket's reader
task resolves each future by id, in whatever order answers come. When the socket
drops, every pending call fails with ``TransportError``, and a call that gets no
answer within ``timeout`` fails the same way: never a hang.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import Future
from typing import Any

from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed

from agentgpt_core.protocol.codecs import Codec
from agentgpt_core.protocol.errors import MalformedPayload, ProtocolError, TransportError, error_from_dict

from .wire import DEFAULT_MAX_SIZE, Frame, decode, encode, error_frame, message_id


class PendingCalls:
    """The requesting end of one socket."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        socket: Connection,
        codec: Codec,
        *,
        timeout: float,
        peer: str,
        max_size: int = DEFAULT_MAX_SIZE,
    ):
        self.loop, self.socket, self.codec = loop, socket, codec
        self.timeout, self.peer, self.max_size = timeout, peer, max_size
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self.closed_reason: str | None = None

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send a request now; the returned future holds its result or typed error."""
        request_id = next(self._ids)
        frame = encode(self.codec, {"id": request_id, "method": method, "params": params or {}})
        future: Future = Future()
        future.request_id = request_id  # type: ignore[attr-defined]
        with self._lock:
            if self.closed_reason is not None:
                raise TransportError(self.closed_reason)
            self._pending[request_id] = future
        self.loop.call_soon_threadsafe(self._send, frame, request_id)
        return future

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and wait for its result; TransportError after ``timeout`` seconds."""
        return self.result(self.submit(method, params), method)

    def result(self, future: Future, method: str = "request") -> Any:
        try:
            return future.result(self.timeout)
        except TimeoutError:
            with self._lock:
                self._pending.pop(future.request_id, None)  # type: ignore[attr-defined]
            raise TransportError(f"no answer to {method!r} from {self.peer} within {self.timeout:g} s") from None

    def on_frame(self, frame: Frame) -> Frame | None:
        """Deliver an answer (on the loop); return an error frame to send back when it is not one."""
        codec, request_id = self.codec, None
        try:
            codec, message = decode(frame, self.max_size)
            request_id = message_id(message)
            with self._lock:
                future = self._pending.pop(request_id, None) if request_id is not None else None
            if future is None:
                if "error" in message:
                    return None  # an error about something we sent: never answer an error
                raise MalformedPayload(f"no request with id {request_id!r} is in flight on this socket")
            if "error" in message:
                error = message["error"]
                future.set_exception(error_from_dict(error) if isinstance(error, dict) else MalformedPayload(str(error)))
            else:
                future.set_result(message.get("result"))
            return None
        except ProtocolError as error:
            return error_frame(codec, getattr(error, "request_id", request_id), error)

    def fail_all(self, reason: str) -> None:
        """The socket is gone: fail every pending call and refuse new ones."""
        with self._lock:
            self.closed_reason = self.closed_reason or reason
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(TransportError(reason))

    async def read_answers(self) -> None:
        """The socket's reader task: deliver answers until it closes, then fail what is left."""
        try:
            async for frame in self.socket:
                reply = self.on_frame(frame)
                if reply is not None:
                    await self.socket.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.fail_all(f"connection to {self.peer} closed{_close_detail(self.socket)}")

    def _send(self, frame: Frame, request_id: int) -> None:
        task = asyncio.ensure_future(self.socket.send(frame))
        task.add_done_callback(lambda done: self._sent(done, request_id))

    def _sent(self, task: asyncio.Future, request_id: int) -> None:
        if task.cancelled() or task.exception() is None:
            return
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is not None and not future.done():
            future.set_exception(TransportError(f"could not send to {self.peer}: {task.exception()}"))


def _close_detail(socket: Connection) -> str:
    code, reason = socket.close_code, socket.close_reason
    if code is None:
        return ""
    hint = " (message too big: raise max_size on both ends)" if code == 1009 else ""
    return f" (code {code}{': ' + reason if reason else ''}){hint}"
