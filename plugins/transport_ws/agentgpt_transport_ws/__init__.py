"""WebSocket transport for AgentGPT: env hosts that listen, env hosts that dial out,
and the gateway where dial-out hosts meet a trainer (docs/ws-and-gateway.md)."""

from .client import WsClient
from .dialout import DialOutServer
from .gateway import WsGateway, WsHostLink
from .server import WsServer
from .transport import WsTransport

__all__ = ["DialOutServer", "WsClient", "WsGateway", "WsHostLink", "WsServer", "WsTransport"]
