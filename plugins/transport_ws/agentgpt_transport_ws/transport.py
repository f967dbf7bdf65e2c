"""The ``ws``/``wss`` transport: which server, client or gateway a call builds."""

from __future__ import annotations

from typing import Any

from agentgpt_core.envs.service import EnvService
from agentgpt_core.kinds import Transport, TransportServer

from .client import WsClient
from .dialout import DialOutServer
from .gateway import WsGateway
from .server import WsServer


class WsTransport(Transport):
    """WebSocket: a host listens (``server(...)``) or dials out (``server(..., connect=URL)``)."""

    name = "ws"
    schemes = ("ws", "wss")

    def server(
        self,
        service: EnvService,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        connect: str | None = None,
        num_envs: int | None = None,
        **options: Any,
    ) -> TransportServer:
        """A listening server, or with ``connect`` a dial-out one (``host``/``port`` then unused)."""
        if connect:
            return DialOutServer(service, connect, api_key=api_key, num_envs=num_envs or 1, **options)
        return WsServer(service, host=host, port=port, api_key=api_key, **options)

    def client(
        self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0, **options: Any
    ) -> WsClient:
        return WsClient(url, api_key=api_key, codec=codec, timeout=timeout, **options)

    def gateway(self, listen_url: str, *, api_key: str | None = None, **options: Any) -> WsGateway:
        return WsGateway(listen_url, api_key=api_key, **options)
