"""Opening a socket: the API key at the handshake, and errors that say what went wrong.

The key travels as ``Authorization: Bearer KEY`` in the HTTP upgrade request, so a
wrong key is refused with HTTP 401 before any message is exchanged, and the client
raises ``Unauthorized`` with the server's reason instead of a bare handshake error.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.sync.client import ClientConnection as SyncClientConnection
from websockets.sync.client import connect as sync_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from agentgpt_core.protocol.errors import ProtocolError, TransportError, Unauthorized
from agentgpt_core.security import api_key_matches, bearer_token

from .wire import DEFAULT_MAX_SIZE, HARD_LIMIT_FACTOR

UNAUTHORIZED_TEXT = "unauthorized: wrong or missing API key (send the header 'Authorization: Bearer KEY')\n"


@dataclass(frozen=True)
class SocketSettings:
    """How a socket is opened and kept, the same at both ends: key, TLS, size limit, keep-alive."""

    api_key: str | None = None
    ssl: ssl_module.SSLContext | None = None  # wss:// without one: the system's defaults
    max_size: int = DEFAULT_MAX_SIZE
    ping_interval: float | None = 20
    ping_timeout: float | None = 20
    timeout: float = 30.0  # for the opening handshake

    def socket_options(self) -> dict[str, Any]:
        """No compression (arrays do not shrink; CPU does not grow), the hard size limit, keep-alive pings."""
        return {
            "compression": None,
            "max_size": self.max_size * HARD_LIMIT_FACTOR,
            "ping_interval": self.ping_interval,
            "ping_timeout": self.ping_timeout,
        }

    def connect_options(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else None
        tls = {"ssl": self.ssl} if self.ssl is not None else {}
        return {"additional_headers": headers, "open_timeout": self.timeout, **tls, **self.socket_options()}


def check_api_key(api_key: str | None) -> Callable[..., Any]:
    """A websockets ``process_request`` hook refusing a wrong key with HTTP 401."""

    def process_request(connection: Any, request: Any) -> Any:
        if api_key_matches(api_key, bearer_token(request.headers.get("Authorization"))):
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED_TEXT)

    return process_request


def listen_address(url: str) -> tuple[str, int]:
    """Host and port of a ``ws://HOST:PORT`` listen URL (port 0: any free port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"listen URL {url!r} must look like ws://HOST:PORT or wss://HOST:PORT")
    return parts.hostname, parts.port if parts.port is not None else (443 if parts.scheme == "wss" else 80)


async def open_socket(url: str, settings: SocketSettings) -> ClientConnection:
    """Connect to ``url`` on the running loop; Unauthorized on a refused key, TransportError on anything else."""
    try:
        return await connect(url, **settings.connect_options())
    except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
        raise _refused(url, exc) from None


def open_sync_socket(url: str, settings: SocketSettings) -> SyncClientConnection:
    """The same, for a socket the calling threads use directly (``WsClient``)."""
    try:
        return sync_connect(url, legacy=True, **settings.connect_options())
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise _refused(url, exc) from None


def _refused(url: str, exc: Exception) -> ProtocolError:
    """Unauthorized (with the server's reason) for HTTP 401, TransportError for anything else."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        reason = bytes(response.body or b"").decode(errors="replace").strip() or response.reason_phrase
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            return Unauthorized(f"{url} refused the connection: {reason}")
        return TransportError(f"{url} refused the connection: HTTP {response.status_code} {reason}")
    return TransportError(f"cannot connect to {url}: {type(exc).__name__}: {exc}")
