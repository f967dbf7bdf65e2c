"""KeepAliveTransport: an httpx transport for plain ``http://``, one write per request.

httpx's own transport (httpcore + h11) parses each response in pure Python and writes
a POST's head and body with two ``send`` calls (``http.client`` writes twice too);
each ``send`` on loopback wakes the server. On the 2-core benchmark machine a CartPole
step cost ~690 µs through it and ~420 µs through this transport
(benchmarks/RESULTS-transports.md). This transport takes httpx requests (URL,
headers, timeouts) and returns httpx responses, but writes each request as one
buffer on a keep-alive socket per origin and parses the answer with the stdlib's
C-accelerated ``http.client.HTTPResponse``.

``HttpClient`` uses it for ``http://`` only; ``https://`` (tunnels, real networks,
where the network dominates) keeps httpx's ``HTTPTransport`` with its TLS handling.
As in httpx's pool, an idle connection is dropped after ``keepalive_expiry`` seconds,
and one the server has closed is noticed (it turns readable) before reuse, so a
request never goes out on a dead socket.

The read timeout bounds the whole request, not each read: a server that drips its
answer one byte at a time (every read succeeding within the timeout) used to hold a
call with ``timeout=3`` for as long as it liked; ``_DeadlineReader`` gives every read
only what is left of the request's time.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import threading
import time

import httpx

DEFAULT_KEEPALIVE_EXPIRY_S = 5.0


class KeepAliveTransport(httpx.BaseTransport):
    """One reusable HTTP/1.1 connection per origin; requests on it take turns."""

    def __init__(self, keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY_S):
        self.keepalive_expiry = keepalive_expiry
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"KeepAliveTransport carries http:// only, not {request.url}", request=request)
        origin = (request.url.host, request.url.port or 80)
        with self._lock:
            connection = self._connections.get(origin)
            if connection is None:
                connection = self._connections[origin] = _Connection(*origin)
        return connection.send(request, self.keepalive_expiry)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()


class _Connection:
    """A keep-alive socket that reconnects when idle too long or closed by the server."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._last_used = 0.0

    def send(self, request: httpx.Request, keepalive_expiry: float) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        head = b"%s %s HTTP/1.1\r\n%s\r\n" % (
            request.method.encode("ascii"),
            request.url.raw_path,
            b"".join(b"%s: %s\r\n" % pair for pair in request.headers.raw),
        )
        body = request.read()
        with self._lock:
            sock = self._connect(request, timeouts.get("connect"), keepalive_expiry)
            timeout = timeouts.get("read")
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                sock.settimeout(timeout)
                sock.sendall(head + body)  # one send, so the server wakes once
                response = http.client.HTTPResponse(_DeadlineSocket(sock, deadline), method=request.method)  # type: ignore[arg-type]
                response.begin()
                content = response.read()
            except socket.timeout as exc:
                self._close()
                raise httpx.ReadTimeout(str(exc), request=request) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._close()
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
            if response.will_close:
                self._close()
            self._last_used = time.monotonic()
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=httpx.ByteStream(content),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        with self._lock:
            self._close()

    def _connect(self, request: httpx.Request, timeout: float | None, keepalive_expiry: float) -> socket.socket:
        sock = self._sock
        if sock is not None and (time.monotonic() - self._last_used > keepalive_expiry or _readable(sock)):
            self._close()  # idle too long, or the server closed it (EOF is readable)
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=timeout)
            except socket.timeout as exc:
                raise httpx.ConnectTimeout(str(exc), request=request) from exc
            except OSError as exc:
                raise httpx.ConnectError(str(exc), request=request) from exc
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: for a keep-alive connection, that means EOF."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket (``makefile``), reading by a deadline."""

    def __init__(self, sock: socket.socket, deadline: float | None):
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    """Raw reads from a socket, each allowed only the time left until ``deadline`` (None: no limit)."""

    def __init__(self, sock: socket.socket, deadline: float | None):
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("the answer did not arrive in time")
            self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)
