"""The trainer's side of a direct connection: ``RemoteEnv("ws://host:8765", ...)``.

A step is one request and one answer, so the cost that matters is the round trip.
The client uses websockets' threading socket: the calling thread writes its request
itself and then reads the answer itself, the same path as a bare ``websockets``
echo, instead of handing each frame to an event-loop thread and waiting to be
handed the answer back (two more thread wake-ups per call; RESULTS-transports.md
has the measured difference).

Pipelining still works: ``submit`` only sends, and ``result`` reads. Only one thread
may read a socket, so reading is a turn: the thread that takes it delivers every
answer that arrives (resolving other threads' futures too) until its own is there,
then hands the turn on; a thread whose answer another reader delivered just returns.
websockets' own background thread answers pings and sends keep-alive pings, so an
idle client (a trainer busy with a gradient step) keeps its socket.
"""

from __future__ import annotations

import contextlib
import ssl as ssl_module
import threading
import time
from concurrent.futures import Future
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from agentgpt_core.kinds import TransportClient
from agentgpt_core.protocol.codecs import get_codec

from .calls import InFlight
from .handshake import SocketSettings, open_sync_socket
from .wire import DEFAULT_MAX_SIZE


class WsClient(TransportClient):
    """One socket to a listening env host; ``call`` blocks, ``submit`` pipelines."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        ssl: ssl_module.SSLContext | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        ping_interval: float | None = 20,
    ):
        self.url = url
        settings = SocketSettings(api_key=api_key, ssl=ssl, max_size=max_size, ping_interval=ping_interval, timeout=timeout)
        self._socket = open_sync_socket(url, settings)
        self._calls = InFlight(get_codec(codec), timeout=timeout, peer=url, max_size=max_size)
        self._turn = threading.Condition()  # guards _reading; notified whenever an answer lands
        self._reading = False

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.result(self.submit(method, params), method)

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send without waiting: many requests can be in flight on the socket at once."""
        frame, future = self._calls.register(method, params)
        try:
            self._socket.send(frame)
        except ConnectionClosed:
            self._calls.closed(self._socket)  # fails this future with the others
        return future

    def result(self, future: Future, method: str = "request", timeout: float | None = None) -> Any:
        """Wait for a submitted request (TransportError after ``timeout``, default the client's)."""
        if not self._wait(future, time.monotonic() + (self._calls.timeout if timeout is None else timeout)):
            raise self._calls.timed_out(future, method, timeout)
        return future.result()

    @property
    def alive(self) -> bool:
        return self._calls.closed_reason is None and self._socket.state is State.OPEN

    def close(self) -> None:
        self._socket.close()
        self._calls.fail_all(f"connection to {self.url} closed by this client")

    def _wait(self, future: Future, deadline: float) -> bool:
        """Until ``future`` is done (True) or the deadline passes (False), reading when it is our turn."""
        with self._turn:
            while not future.done():
                if not self._reading:
                    self._reading = True
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._turn.wait(remaining)
            else:
                return True
        try:
            return self._read_until(future, deadline)
        finally:
            with self._turn:
                self._reading = False
                self._turn.notify_all()

    def _read_until(self, future: Future, deadline: float) -> bool:
        while not future.done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                frame = self._socket.recv(remaining)
            except TimeoutError:
                return False
            except ConnectionClosed:
                self._calls.closed(self._socket)
                return True
            reply = self._calls.on_frame(frame)
            if reply is not None:
                with contextlib.suppress(ConnectionClosed):  # the next recv says why it closed
                    self._socket.send(reply)
            with self._turn:
                self._turn.notify_all()
        return True
