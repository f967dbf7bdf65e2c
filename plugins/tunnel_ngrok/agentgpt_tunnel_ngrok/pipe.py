"""Copy bytes both ways between two sockets until either side closes.

localtunnel hands its client raw TCP connections, and a request (an HTTP call or a
WebSocket upgrade) is whatever bytes cross them, so the client only splices sockets:
no HTTP parsing, and WebSockets pass through unchanged.
"""

from __future__ import annotations

import selectors
import socket


def splice(a: socket.socket, b: socket.socket, *, first: bytes = b"", stop=None, chunk: int = 65536) -> None:
    """Forward ``first`` to ``b``, then both directions until EOF on either side or ``stop()`` is true; closes neither."""
    if first:
        b.sendall(first)
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ)
        selector.register(b, selectors.EVENT_READ)
        while stop is None or not stop():
            for key, _ in selector.select(timeout=0.5):
                source = key.fileobj
                try:
                    data = source.recv(chunk)  # type: ignore[union-attr]
                    if data:
                        peers[source].sendall(data)  # type: ignore[index]
                except OSError:
                    data = b""
                if not data:
                    return
