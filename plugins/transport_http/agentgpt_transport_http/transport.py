"""The ``http`` transport: ``http://`` and ``https://`` URLs."""

from __future__ import annotations

from typing import Any

from agentgpt_core.kinds import Service, Transport

from .client import HttpClient
from .server import HttpServer


class HttpTransport(Transport):
    """REST over HTTP/1.1: ``POST /<method>``, JSON or msgpack bodies, Bearer API key.

    Server options: ``max_body_bytes`` (default 16 MiB), ``ssl_certfile`` and
    ``ssl_keyfile`` (serve https directly rather than behind a tunnel or proxy).
    """

    name = "http"
    schemes = ("http", "https")

    def server(
        self, service: Service, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, **options: Any
    ) -> HttpServer:
        return HttpServer(service, host=host, port=port, api_key=api_key, **options)

    def client(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> HttpClient:
        return HttpClient(url, api_key=api_key, codec=codec, timeout=timeout)
