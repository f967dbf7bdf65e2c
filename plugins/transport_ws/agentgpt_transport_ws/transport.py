"""The ``ws``/``wss`` transport: which server, client or gateway a call builds."""

from __future__ import annotations

from typing import Any

from agentgpt_core.kinds import Service, Transport

from .client import WsClient
from .dialout import DialOutServer
from .gateway import WsGateway
from .server import WsServer


class WsTransport(Transport):
    """WebSocket: a host listens (``server``) or dials out to a gateway (``dial_out``)."""

    name = "ws"
    schemes = ("ws", "wss")

    def server(
        self,
        service: Service,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        **options: Any,
    ) -> WsServer:
        return WsServer(service, host=host, port=port, api_key=api_key, **options)

    def dial_out(
        self, service: Service, url: str, *, api_key: str | None = None, num_envs: int = 1, **options: Any
    ) -> DialOutServer:
        return DialOutServer(service, url, api_key=api_key, num_envs=num_envs, **options)

    def client(
        self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0, **options: Any
    ) -> WsClient:
        return WsClient(url, api_key=api_key, codec=codec, timeout=timeout, **options)

    def gateway(self, listen_url: str, *, api_key: str | None = None, **options: Any) -> WsGateway:
        return WsGateway(listen_url, api_key=api_key, **options)
