"""Time limits for slow HTTP clients: a request's head and its body must arrive in time.

uvicorn times out idle keep-alive connections but not a client that is slow on
purpose: one byte of headers every few seconds (slowloris) or a body that trickles in
holds a connection, and its buffers, for as long as the client likes. A few hundred
such clients take a host's connections. So:

- ``timed_protocol(header_timeout_s)``: uvicorn's httptools protocol, closing a
  connection whose request line and headers have not all arrived within
  ``header_timeout_s`` of its first byte (or of the connection opening);
- ``read_within(receive, seconds)``: the app reads a body through it, and a body not
  complete within ``seconds`` is refused with ``malformed_payload`` (HTTP 400).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Awaitable, Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 60.0  # 16 MiB (the default body limit) at ~300 KB/s


def timed_protocol(header_timeout_s: float) -> type[HttpToolsProtocol]:
    """An ``HttpToolsProtocol`` class that closes connections slower than ``header_timeout_s`` to send a request head."""

    class HeadTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _too_slow(self) -> None:
            self._head_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

    return HeadTimeoutProtocol


class BodyTooSlow(Exception):
    """The body did not arrive within the time allowed."""


def read_within(seconds: float) -> Callable[[Callable[[], Awaitable[dict]]], Awaitable[dict]]:
    """``await receive_by(receive)``: one ASGI ``receive()``, raising BodyTooSlow once ``seconds`` have passed since the first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def receive_by(receive: Callable[[], Awaitable[dict]]) -> dict:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BodyTooSlow
        try:
            if sys.version_info >= (3, 11):
                async with asyncio.timeout(remaining):
                    return await receive()
            return await asyncio.wait_for(receive(), remaining)
        except asyncio.TimeoutError:
            raise BodyTooSlow from None

    return receive_by
