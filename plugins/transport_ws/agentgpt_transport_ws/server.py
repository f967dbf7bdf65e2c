"""The host's side of a direct connection: ``agentgpt launch --transport ws``.

Every socket is its own service session: envs made on it belong to it and are
closed when it drops, so a trainer that dies leaves nothing running behind.
Requests on one socket are taken in arrival order; a client may send many before
reading (pipelining) and match answers by id (a batched policy call's answer can come
after a later call's). A call runs on the server's loop
while it is cheap and in a worker thread otherwise (kinds/dispatch.py), so a slow
simulator on one socket never delays another socket's answers or keep-alive pings.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import uuid
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from agentgpt_core.kinds import Service, TransportServer
from agentgpt_core.kinds.dispatch import Dispatcher
from agentgpt_core.security import BindAddress

from .handshake import SocketSettings
from .listener import Listener, Listening
from .wire import DEFAULT_MAX_SIZE, Parsed, Started, begin_dispatched, run_parsed


async def answer_requests(socket: Any, service: Service, session: str, max_size: int, dispatcher: Dispatcher | None = None) -> None:
    """Answer every request on ``socket`` until it closes, then close the session's envs.

    Calls run through ``dispatcher`` (kinds/dispatch.py): inline while cheap, else in a
    thread, so a slow env on this socket never delays other sockets' answers or pings.
    A call the service starts on the loop (``Service.begin``: the policy server's
    batched ``select_action``) is awaited in a task of its own while the next frames are
    read, so calls pipelined on one socket can share a forward pass; its answer may then
    overtake it (clients match answers by id).
    """
    dispatcher = dispatcher or Dispatcher(service)
    waiting: set[asyncio.Task] = set()
    try:
        async for frame in socket:
            started = begin_dispatched(dispatcher, session, frame, max_size)
            if isinstance(started, Started):
                task = asyncio.ensure_future(_send_when_done(socket, started))
                waiting.add(task)
                task.add_done_callback(waiting.discard)
                continue
            reply = await run_parsed(dispatcher, session, frame, started) if isinstance(started, Parsed) else started
            if reply is not None:
                await socket.send(reply)
    except ConnectionClosed:
        pass
    finally:
        service.close_session(session)


async def _send_when_done(socket: Any, started: Started) -> None:
    reply = await started.answer()
    try:
        await socket.send(reply)
    except ConnectionClosed:
        pass


class WsServer(Listening, TransportServer):
    """Listens at ``ws://HOST:PORT`` and serves ``service`` to every client that connects."""

    def __init__(
        self,
        service: Service,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
    ):
        self.service, self.max_size = service, max_size
        self.dispatcher = Dispatcher(service)  # one per server: it learns which (method, env) calls are cheap
        settings = SocketSettings(api_key, ssl, max_size, ping_interval, ping_timeout)
        self._listener = Listener("agentgpt-ws-server", self._handle, BindAddress(host, port, api_key), settings)

    async def _handle(self, socket: ServerConnection) -> None:
        await answer_requests(socket, self.service, f"ws-{uuid.uuid4().hex}", self.max_size, self.dispatcher)
