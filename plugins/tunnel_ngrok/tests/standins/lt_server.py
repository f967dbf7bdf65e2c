"""A minimal localtunnel server on loopback, speaking localtunnel's protocol.

``GET /?new`` (or ``/SUBDOMAIN``) answers ``{id, port, url, max_conn_count}`` and
opens two loopback listeners: ``port``, where the client parks its TCP connections,
and the public one named in ``url``, where each incoming connection is paired with a
parked client connection and piped to it byte for byte (as localtunnel's server pipes
requests and WebSocket upgrades). ``url`` is plain http on 127.0.0.1, which the
client accepts only because it is loopback; ``public_url`` makes it https instead.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LocaltunnelServer:
    """Serve the protocol on 127.0.0.1 until ``stop()``; ``parked()`` counts waiting client connections."""

    def __init__(self, max_conn_count: int = 3, public_url: str | None = None, refuse: str | None = None):
        self.max_conn_count, self.public_url, self.refuse = max_conn_count, public_url, refuse
        self.pool: queue.Queue[socket.socket] = queue.Queue()
        self.sockets: list[socket.socket] = []
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                if server.refuse:
                    body, status = {"message": server.refuse}, 403
                else:
                    body, status = server._new_tunnel(self.path), 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def start(self) -> LocaltunnelServer:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass

    def parked(self) -> int:
        return self.pool.qsize()

    def _listener(self) -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.sockets.append(sock)
        return sock

    def _new_tunnel(self, path: str) -> dict:
        tunnel_port, public = self._listener(), self._listener()
        threading.Thread(target=self._accept_clients, args=(tunnel_port,), daemon=True).start()
        threading.Thread(target=self._accept_public, args=(public,), daemon=True).start()
        name = "fakeid" if path.startswith("/?new") else path.strip("/")
        return {"id": name, "port": tunnel_port.getsockname()[1], "max_conn_count": self.max_conn_count,
                "url": self.public_url or f"http://127.0.0.1:{public.getsockname()[1]}"}

    def _accept_clients(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.sockets.append(conn)
            self.pool.put(conn)

    def _accept_public(self, listener):
        while True:
            try:
                visitor, _ = listener.accept()
            except OSError:
                return
            self.sockets.append(visitor)
            threading.Thread(target=self._serve_visitor, args=(visitor,), daemon=True).start()

    def _serve_visitor(self, visitor):
        try:
            client = self.pool.get(timeout=10)
        except queue.Empty:
            visitor.close()
            return
        threading.Thread(target=_pipe, args=(visitor, client), daemon=True).start()
        _pipe(client, visitor)
