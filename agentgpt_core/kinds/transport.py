"""Transport plugin kind: carries protocol calls between two ends.

A transport has a server side that serves any ``Service``, either listening
(``server``) or connecting out to a gateway (``dial_out``), and a client side
(``client``, what ``RemoteEnv`` talks through), chosen by URL scheme. A transport
whose servers can dial out also offers the matching ``gateway``. Everything is sync
and context-managed; a transport may use threads or an event loop inside.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

from .client import DeferredCall, TransportClient
from .gateway import Gateway, HostLink
from .lifecycle import Serving
from .service import Service

__all__ = ["DeferredCall", "Gateway", "HostLink", "Transport", "TransportClient", "TransportServer", "Unsupported"]


class Unsupported(NotImplementedError):
    """The transport does not offer this (an HTTP host cannot dial out); the message says what would."""


class TransportServer(Serving):
    """A running (or ready to run) server that answers protocol calls for a service."""

    url: str

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


class Transport(ABC):
    """A way to carry the protocol (HTTP, WebSocket, in-memory...)."""

    name: str
    schemes: tuple[str, ...] = ()

    @abstractmethod
    def server(
        self, service: Service, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, **options: Any
    ) -> TransportServer:
        """Serve ``service`` at ``host:port``; ``port=0`` picks a free port (see ``.url`` after start)."""

    @abstractmethod
    def client(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> TransportClient:
        """Connect to the server at ``url``."""

    def dial_out(self, service: Service, url: str, *, api_key: str | None = None, num_envs: int = 1, **options: Any) -> TransportServer:
        """Serve ``service`` over a connection this side opens to the gateway at ``url`` (``launch --connect``).

        For hosts behind a router: nothing listens on the host. ``num_envs`` is the
        capacity the host offers. Raises ``Unsupported`` unless the transport can.
        """
        raise Unsupported(f"the {self.name} transport cannot dial out to {url}; use a transport that can (--transport ws)")

    def gateway(self, listen_url: str, *, api_key: str | None = None, **options: Any) -> Gateway:
        """Listen at ``listen_url`` for servers that dial out (``dial_out``); raises ``Unsupported`` unless the transport can."""
        raise Unsupported(f"the {self.name} transport cannot accept env hosts that connect out; listen with ws://")
