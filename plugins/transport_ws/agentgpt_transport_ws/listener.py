"""A websockets server on its own event-loop thread, shared by the direct server and the gateway.

Both listen the same way (API-key rule checked at construction and at the handshake,
same socket options, port 0 resolved after binding) and stop the same way; only what
they do with a socket differs. ``Listening`` is what both expose of it.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from websockets.asyncio.server import Server, ServerConnection, serve

from agentgpt_core.security import BindAddress

from .handshake import SocketSettings, check_api_key
from .loop import LoopThread


class Listener:
    """Accepts sockets at ``host:port`` and hands each to ``handler`` on the loop thread."""

    def __init__(
        self, name: str, handler: Callable[[ServerConnection], Awaitable[None]], address: BindAddress, settings: SocketSettings
    ):
        self.name, self.handler, self.address, self.settings = name, handler, address, settings
        self.thread: LoopThread | None = None
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return self.address.url("wss" if self.settings.ssl else "ws")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self.thread is not None, "the listener is not started"
        return self.thread.loop

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self) -> None:
        """Bind and start accepting; idempotent. ``port`` 0 becomes the bound port."""
        if self.thread is not None:
            return
        self.thread = LoopThread(self.name)
        try:
            self._server = self.thread.run(self._listen())
        except BaseException:
            self.thread.stop()
            self.thread = None
            raise
        self.address.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Stop accepting, close every socket, stop the loop; idempotent."""
        if self.thread is None:
            return
        if self._server is not None:
            self._server.close()
            try:
                self.thread.run(self._server.wait_closed(), timeout=10)
            except Exception:  # stopping must not fail on a socket that will not close politely
                pass
        self.thread.stop()
        self.thread = self._server = None

    async def _listen(self) -> Server:
        settings = self.settings
        return await serve(
            self.handler, self.address.host, self.address.port, process_request=check_api_key(settings.api_key),
            ssl=settings.ssl, **settings.socket_options(),
        )  # fmt: skip


class Listening:
    """A server or gateway that accepts sockets through its ``Listener``."""

    _listener: Listener

    @property
    def url(self) -> str:
        return self._listener.url

    def start(self) -> None:
        self._listener.start()

    def stop(self) -> None:
        self._listener.stop()
