"""The trainer's side of a direct connection: ``RemoteEnv("ws://host:8765", ...)``."""

from __future__ import annotations

import ssl as ssl_module
from concurrent.futures import Future
from typing import Any

from agentgpt_core.kinds import TransportClient
from agentgpt_core.protocol.codecs import get_codec

from .calls import PendingCalls
from .handshake import open_socket
from .loop import LoopThread
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
        self._loop = LoopThread("agentgpt-ws-client")
        try:
            socket = self._loop.run(
                open_socket(url, api_key=api_key, timeout=timeout, ssl=ssl, max_size=max_size, ping_interval=ping_interval)
            )
        except BaseException:
            self._loop.stop()
            raise
        self._calls = PendingCalls(self._loop.loop, socket, get_codec(codec), timeout=timeout, peer=url, max_size=max_size)
        self._loop.loop.call_soon_threadsafe(lambda: self._loop.loop.create_task(self._calls.read_answers()))

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self._calls.call(method, params)

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send without waiting: many requests can be in flight on the socket at once."""
        return self._calls.submit(method, params)

    def result(self, future: Future, method: str = "request") -> Any:
        """Wait for a submitted request (TransportError after the client's timeout)."""
        return self._calls.result(future, method)

    @property
    def alive(self) -> bool:
        return self._calls.closed_reason is None

    def close(self) -> None:
        if self._loop.loop.is_closed():
            return
        try:
            self._loop.run(self._calls.socket.close(), timeout=5)
        except Exception:  # already gone: nothing to release but the loop
            pass
        self._loop.stop()
