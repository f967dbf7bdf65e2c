"""The ``memory://`` transport: the protocol without a network, for tests and embedding.

Requests still go through a codec both ways, so what works here works on the wire;
only the socket is missing.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from ..hookspecs import hookimpl
from ..kinds import Service, Transport, TransportClient, TransportServer
from ..protocol.codecs import get_codec
from ..protocol.errors import TransportError, Unauthorized
from ..security import api_key_matches

_SERVERS: dict[str, "MemoryServer"] = {}
_LOCK = threading.Lock()
_COUNTER = itertools.count(1)


class MemoryServer(TransportServer):
    """Makes a service reachable at ``memory://NAME`` inside this process."""

    def __init__(self, service: Service, name: str, api_key: str | None):
        self.service = service
        self.api_key = api_key
        self.url = f"memory://{name}"
        self._name = name

    def start(self) -> None:
        with _LOCK:
            _SERVERS[self._name] = self

    def stop(self) -> None:
        with _LOCK:
            _SERVERS.pop(self._name, None)


class MemoryClient(TransportClient):
    """Calls a MemoryServer's service directly, through the codec."""

    def __init__(self, url: str, api_key: str | None, codec: str):
        self.name = url.split("://", 1)[1].rstrip("/")
        self.api_key = api_key
        self.codec = get_codec(codec)
        self.session = f"memory-{next(_COUNTER)}"

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        server = _SERVERS.get(self.name)
        if server is None:
            raise TransportError(f"no memory server named {self.name!r} is running")
        if not api_key_matches(server.api_key, self.api_key):
            raise Unauthorized("wrong or missing API key")
        request = self.codec.decode(self.codec.encode(params or {}))
        result = server.service.handle(method, request, session=self.session)
        return self.codec.decode(self.codec.encode(result))

    def close(self) -> None:
        server = _SERVERS.get(self.name)
        if server is not None:
            server.service.close_session(self.session)


class MemoryTransport(Transport):
    name = "memory"
    schemes = ("memory",)

    def server(self, service: Service, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, **options: Any) -> MemoryServer:
        return MemoryServer(service, options.get("name") or f"host-{next(_COUNTER)}", api_key)

    def client(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> MemoryClient:
        return MemoryClient(url, api_key, codec)


@hookimpl
def register_transports(register):
    register(MemoryTransport())
