"""The ``localtunnel`` tunnel: localtunnel's own protocol, spoken from Python.

localtunnel's client is an npm package; its protocol is small enough to speak here,
so no Node is needed: ``GET {server}/?new`` (or ``/{subdomain}``) answers
``{id, port, url, max_conn_count}``, then the client keeps ``max_conn_count`` TCP
connections open to the server's ``port`` and pipes each one, once a request arrives
on it, to the local server. A connection that ends is replaced, so the pool stays full.

The hop between the localtunnel server and this machine is plain TCP (the protocol has
no TLS there): the server's operator, and anyone on that path, can read the traffic,
API key included. docs/tunnels.md says when that is acceptable.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from agentgpt_core.kinds import Tunnel, TunnelError

from .pipe import splice
from .urls import local_target, public_url_for

DEFAULT_SERVER = "https://localtunnel.me"
MAX_CONNECTIONS = 10  # the npm client's default ceiling


class LocalTunnel(Tunnel):
    """A localtunnel URL for a local server; ``configure(server=..., subdomain=...)``."""

    name = "localtunnel"
    OPTIONS = ("server", "subdomain", "timeout")

    def __init__(self, server: str = DEFAULT_SERVER, subdomain: str | None = None, timeout: float = 10.0) -> None:
        self.server, self.subdomain, self.timeout = server.rstrip("/"), subdomain, timeout
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def configure(self, **options: Any) -> LocalTunnel:
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ValueError(f"the localtunnel tunnel has no option {', '.join(unknown)}; it takes {', '.join(self.OPTIONS)}")
        server = str(options.get("server", DEFAULT_SERVER))
        if urlsplit(server).scheme not in ("https", "http"):
            raise ValueError(f"--tunnel-server {server!r} must be an https:// URL")
        return LocalTunnel(server, options.get("subdomain"), float(options.get("timeout", 10.0)))

    def open(self, local_url: str) -> str:
        _, host, port = local_target(local_url)
        info = self._ask_for_tunnel()
        public = public_url_for(local_url, str(info.get("url", "")), f"the localtunnel server {self.server}")
        remote = (str(info.get("ip") or urlsplit(self.server).hostname), int(info["port"]))
        count = max(1, min(int(info.get("max_conn_count") or 1), MAX_CONNECTIONS))
        self._stop.clear()
        for index in range(count):
            thread = threading.Thread(target=self._keep_connection, args=(remote, (host, port)),
                                      name=f"localtunnel-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        print(f"localtunnel: traffic between {remote[0]} and this machine is unencrypted TCP (docs/tunnels.md)",
              file=sys.stderr)
        return public

    def close(self) -> None:
        """Stop the connection threads and close every socket; idempotent."""
        self._stop.set()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
            self._sockets.clear()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _ask_for_tunnel(self) -> dict[str, Any]:
        """``GET /?new`` (or ``/SUBDOMAIN``): the server's {id, port, url, max_conn_count}."""
        path = f"/{self.subdomain}" if self.subdomain else "/?new"
        try:
            with urlopen(Request(self.server + path, headers={"Accept": "application/json"}), timeout=self.timeout) as answer:
                info = json.loads(answer.read().decode())
        except HTTPError as exc:
            message = _message(exc.read())
            raise TunnelError(f"the localtunnel server {self.server} refused a tunnel ({exc.code}){': ' + message if message else ''}") from None
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TunnelError(f"cannot reach the localtunnel server {self.server}: {reason}") from None
        if not isinstance(info, dict) or "port" not in info or "url" not in info:
            raise TunnelError(f"the localtunnel server {self.server} answered without a port and url: {str(info)[:200]}")
        return info

    def _keep_connection(self, remote: tuple[str, int], local: tuple[str, int]) -> None:
        """Hold one connection to the server; when a request arrives, pipe it to the local server; repeat."""
        delay = 0.2
        while not self._stop.is_set():
            upstream = self._connect(remote)
            if upstream is None:
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            try:
                first = self._first_bytes(upstream)
                if first:
                    downstream = self._connect(local)
                    if downstream is not None:
                        try:
                            splice(upstream, downstream, first=first, stop=self._stop.is_set)
                        finally:
                            self._forget(downstream)
            except OSError:
                pass
            finally:
                self._forget(upstream)

    def _first_bytes(self, upstream: socket.socket) -> bytes:
        """Wait for a request on an idle connection; b"" if it closed or the tunnel is closing."""
        upstream.settimeout(0.5)
        while not self._stop.is_set():
            try:
                first = upstream.recv(65536)
            except socket.timeout:
                continue
            upstream.settimeout(None)
            return first
        return b""

    def _connect(self, address: tuple[str, int]) -> socket.socket | None:
        try:
            sock = socket.create_connection(address, timeout=self.timeout)
        except OSError:
            return None
        sock.settimeout(None)
        with self._lock:
            if self._stop.is_set():
                _close(sock)
                return None
            self._sockets.add(sock)
        return sock

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _close(sock)


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body.decode()).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip()[:200]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
