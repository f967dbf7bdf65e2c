"""The host's side of a direct connection: ``agentgpt launch --transport ws``.

Every socket is its own EnvService session: envs made on it belong to it and are
closed when it drops, so a trainer that dies leaves nothing running behind.
Requests on one socket are answered in arrival order on the server's loop; a client
may still send many before reading (pipelining) and match answers by id.
"""

from __future__ import annotations

import ssl as ssl_module
import uuid
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from agentgpt_core.envs.service import EnvService
from agentgpt_core.kinds import TransportServer

from agentgpt_core.security import require_key_off_loopback

from .handshake import check_api_key, socket_options
from .loop import LoopThread
from .wire import DEFAULT_MAX_SIZE, answer


async def answer_requests(socket: Any, service: EnvService, session: str, max_size: int) -> None:
    """Answer every request on ``socket`` until it closes, then close the session's envs."""
    try:
        async for frame in socket:
            reply = answer(service, session, frame, max_size)
            if reply is not None:
                await socket.send(reply)
    except ConnectionClosed:
        pass
    finally:
        service.close_session(session)


class WsServer(TransportServer):
    """Listens at ``ws://HOST:PORT`` and serves ``service`` to every client that connects."""

    def __init__(
        self,
        service: EnvService,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
    ):
        require_key_off_loopback(host, api_key)
        self.service, self.host, self.port, self.api_key = service, host, port, api_key
        self.ssl, self.max_size = ssl, max_size
        self._options = socket_options(max_size, ping_interval, ping_timeout)
        self.url = f"{'wss' if ssl else 'ws'}://{host}:{port}"
        self._loop: LoopThread | None = None
        self._server: Server | None = None

    def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = LoopThread("agentgpt-ws-server")
        try:
            self._server = self._loop.run(self._listen())
        except BaseException:
            self._loop.stop()
            self._loop = None
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'wss' if self.ssl else 'ws'}://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._server is not None:
            self._server.close()
            try:
                self._loop.run(self._server.wait_closed(), timeout=10)
            except Exception:  # stopping must not fail on a socket that will not close politely
                pass
        self._loop.stop()
        self._loop = self._server = None

    async def _listen(self) -> Server:
        return await serve(
            self._handle, self.host, self.port, process_request=check_api_key(self.api_key), ssl=self.ssl, **self._options
        )

    async def _handle(self, socket: ServerConnection) -> None:
        await answer_requests(socket, self.service, f"ws-{uuid.uuid4().hex}", self.max_size)
