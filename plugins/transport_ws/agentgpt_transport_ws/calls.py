"""Requests in flight on one socket, matched to their answers by id.

This is the requesting side of the protocol. ``InFlight`` is the bookkeeping both
requesting ends share, with no I/O in it: ids, the futures still waiting, what an
answer frame resolves, and failing everything at once when the socket is gone.
Two ends build on it: ``WsClient`` (trainer to a listening host, client.py), which
sends and reads on the caller's thread, and ``PendingCalls`` here, which a
``WsHostLink`` (gateway to a dial-out host) uses on the gateway's event loop, where
that host's socket lives.

Any thread may ``submit`` many requests before reading one answer (pipelining);
answers resolve futures by id, in whatever order they come. When the socket drops,
every pending call fails with ``TransportError``, and a call that gets no answer
within ``timeout`` fails the same way: never a hang.
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


class InFlight:
    """The futures of one socket's unanswered requests, by id (thread-safe)."""

    def __init__(self, codec: Codec, *, timeout: float, peer: str, max_size: int = DEFAULT_MAX_SIZE):
        self.codec, self.timeout, self.peer, self.max_size = codec, timeout, peer, max_size
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self.closed_reason: str | None = None

    def register(self, method: str, params: dict[str, Any] | None) -> tuple[Frame, Future]:
        """The request frame to send and the future its answer will resolve."""
        request_id = next(self._ids)
        frame = encode(self.codec, {"id": request_id, "method": method, "params": params or {}})
        future: Future = Future()
        future.request_id = request_id  # type: ignore[attr-defined]
        with self._lock:
            if self.closed_reason is not None:
                raise TransportError(self.closed_reason)
            self._pending[request_id] = future
        return frame, future

    def forget(self, future: Future, error: TransportError) -> TransportError:
        """Stop waiting for ``future`` (it timed out or could not be sent); return ``error`` to raise."""
        with self._lock:
            self._pending.pop(future.request_id, None)  # type: ignore[attr-defined]
        if not future.done():
            future.set_exception(error)
        return error

    def timed_out(self, future: Future, method: str, timeout: float | None = None) -> TransportError:
        waited = self.timeout if timeout is None else timeout
        return self.forget(future, TransportError(f"no answer to {method!r} from {self.peer} within {waited:g} s"))

    def on_frame(self, frame: Frame) -> Frame | None:
        """Deliver an answer; return an error frame to send back when it is not one."""
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

    def closed(self, socket: Any) -> None:
        """``fail_all`` with why the socket closed (its close code and reason)."""
        self.fail_all(f"connection to {self.peer} closed{close_detail(socket)}")


class PendingCalls(InFlight):
    """Requests on a socket served by an asyncio loop: sends and reads happen on the loop.

    The gateway's sockets are server connections, which live on its loop; a caller's
    thread hands each frame to the loop and waits on the future the reader task resolves.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, socket: Connection, codec: Codec, **options: Any):
        super().__init__(codec, **options)
        self.loop, self.socket = loop, socket

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send a request now; the returned future holds its result or typed error."""
        frame, future = self.register(method, params)
        self.loop.call_soon_threadsafe(self._send, frame, future)
        return future

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and wait for its result; TransportError after ``timeout`` seconds."""
        return self.result(self.submit(method, params), method)

    def result(self, future: Future, method: str = "request", timeout: float | None = None) -> Any:
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except TimeoutError:
            raise self.timed_out(future, method, timeout) from None

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
            self.closed(self.socket)

    def _send(self, frame: Frame, future: Future) -> None:
        task = asyncio.ensure_future(self.socket.send(frame))
        task.add_done_callback(lambda done: self._sent(done, future))

    def _sent(self, task: asyncio.Future, future: Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.forget(future, TransportError(f"could not send to {self.peer}: {task.exception()}"))


def close_detail(socket: Any) -> str:
    """`` (code 1009: ...)`` for a closed websockets connection, asyncio or sync."""
    code, reason = socket.close_code, socket.close_reason
    if code is None:
        return ""
    hint = " (message too big: raise max_size on both ends)" if code == 1009 else ""
    return f" (code {code}{': ' + reason if reason else ''}){hint}"
