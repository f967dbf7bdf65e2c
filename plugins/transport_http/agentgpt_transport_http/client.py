"""HttpClient: keep-alive requests from one trainer to one env host.

Requests are ``httpx.Request`` objects handed straight to an httpx transport:
``KeepAliveTransport`` for ``http://`` (one write per request; wire.py says why) and
``httpx.HTTPTransport`` for ``https://`` (httpx's TLS and connection pool). The
``httpx.Client`` layer on top adds cookie jars, redirects and URL merging the protocol
never uses, and cost 170-400 µs a call on the benchmark machine, as much as
everything else a step does (benchmarks/RESULTS-transports.md), so it is left out.

Each client names its own session (``X-AgentGPT-Session``), so two trainers sharing a
host never see each other's "the session's only env". msgpack is the default codec:
observations travel as raw ndarray bytes instead of nested JSON lists.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from agentgpt_core.kinds import TransportClient
from agentgpt_core.protocol.codecs import Codec, codec_for_content_type, get_codec
from agentgpt_core.protocol.errors import ProtocolError, TransportError, error_from_dict

from .app import SESSION_HEADER
from .wire import KeepAliveTransport


class HttpClient(TransportClient):
    """Calls ``POST {url}/{method}``; returns the decoded result or raises the typed error the host sent."""

    def __init__(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0):
        self.url = url.rstrip("/")
        base = httpx.URL(self.url + "/")
        if base.scheme not in ("http", "https"):
            raise ValueError(f"HttpClient needs an http:// or https:// URL, got {url!r}")
        self.codec = get_codec(codec)
        self.session = f"http-{uuid.uuid4().hex}"
        headers = {
            "Host": base.netloc.decode("ascii"),
            "Content-Type": self.codec.content_type,
            "Accept": self.codec.content_type,
            SESSION_HEADER: self.session,
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = httpx.Headers(headers)
        self._base = base
        self._urls: dict[str, httpx.URL] = {}
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._transport: httpx.BaseTransport = KeepAliveTransport() if base.scheme == "http" else httpx.HTTPTransport()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        request = httpx.Request("POST", self._url(method), headers=self._headers, content=self.codec.encode(params or {}), extensions=self._extensions)
        try:
            response = self._transport.handle_request(request)
            try:
                content = response.read()
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise TransportError(f"{method} to {self.url} failed: {type(exc).__name__}: {exc}") from exc
        codec = codec_for_content_type(response.headers.get("content-type"), default=self.codec)
        if response.status_code == 200:
            return codec.decode(content)
        raise self._error(method, response.status_code, content, codec)

    def close(self) -> None:
        self._transport.close()

    def _url(self, method: str) -> httpx.URL:
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = self._base.join(method)
        return url

    def _error(self, method: str, status: int, content: bytes, codec: Codec) -> ProtocolError:
        """The typed error from the body, or a TransportError when something else (a proxy) answered."""
        try:
            error = codec.decode(content).get("error")
        except (ProtocolError, AttributeError):
            error = None
        if isinstance(error, dict):
            return error_from_dict(error)
        text = content[:200].decode("utf-8", "replace")
        return TransportError(f"{method} to {self.url} got HTTP {status} without a protocol error body: {text!r}")
