"""Transport plugin kind: carries protocol calls between a trainer and an env host.

A transport has a server side (hosts an ``EnvService``) and a client side (what
``RemoteEnv`` talks through), chosen by URL scheme. Both are sync and
context-managed; a transport may use threads or an event loop inside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..envs.service import EnvService
    from ..remote.gateway import Gateway


class TransportClient(ABC):
    """One connection to one env host."""

    @abstractmethod
    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send one request and return its ``result``; raise the typed ProtocolError on failure."""

    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> TransportClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class TransportServer(ABC):
    """A running (or ready to run) server that answers protocol calls for a service."""

    url: str

    @abstractmethod
    def start(self) -> None:
        """Start serving in the background; return once requests can be answered."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release the port; idempotent."""

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop."""
        import threading

        self.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> TransportServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Transport(ABC):
    """A way to carry the protocol (HTTP, WebSocket, in-memory...)."""

    name: str
    schemes: tuple[str, ...] = ()

    @abstractmethod
    def server(
        self,
        service: EnvService,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        **options: Any,
    ) -> TransportServer:
        """Build a server for ``service``; ``port=0`` picks a free port (see ``.url`` after start)."""

    @abstractmethod
    def client(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> TransportClient:
        """Connect to the env host at ``url``."""

    def gateway(self, listen_url: str, *, api_key: str | None = None, **options: Any) -> Gateway:
        """Listen at ``listen_url`` for env hosts that dial out (``launch --connect``).

        Optional: only transports whose hosts can connect out implement it.
        """
        raise NotImplementedError(f"the {self.name} transport cannot accept env hosts that connect out")
