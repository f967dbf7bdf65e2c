"""HttpServer: uvicorn (uvloop + httptools) running the protocol app in a background thread.

The listening socket is bound in the caller's thread, so ``port=0`` yields a real port
in ``.url`` before ``start()`` returns and a busy port fails there, as an OSError,
rather than inside uvicorn's thread. uvicorn is told not to touch the process's
logging configuration and not to log each request (a log line per step is
work on the hot path and noise for the operator).
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from agentgpt_core.kinds import Service, TransportServer
from agentgpt_core.security import BindAddress

from .app import DEFAULT_MAX_BODY_BYTES, build_app
from .dispatch import DEFAULT_INLINE_BUDGET_S
from .slow_clients import DEFAULT_BODY_TIMEOUT_S, DEFAULT_HEADER_TIMEOUT_S, timed_protocol

STARTUP_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 75  # longer than httpx's 5 s pool expiry, so the client always drops an idle connection first



class HttpServer(TransportServer):
    """Serves a ``Service`` over HTTP at ``.url`` (``http://HOST:PORT``, or https with a certificate)."""

    def __init__(
        self,
        service: Service,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        inline_budget_s: float = DEFAULT_INLINE_BUDGET_S,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
        body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ):
        self.address = BindAddress(host, port, api_key)
        if ssl_keyfile and not ssl_certfile:
            raise ValueError("ssl_keyfile needs ssl_certfile: give the certificate too, or neither")
        self.service = service
        self.app = build_app(
            service, api_key=api_key, max_body_bytes=max_body_bytes, inline_budget_s=inline_budget_s, body_timeout_s=body_timeout_s
        )
        self.header_timeout_s = header_timeout_s
        self._ssl = {"ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile} if ssl_certfile else {}
        self._scheme = "https" if ssl_certfile else "http"
        self._socket: socket.socket | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = self.address.url(self._scheme)

    @property
    def port(self) -> int:
        """The bound port (the requested one before ``start``)."""
        return self.address.port

    def start(self) -> None:
        if self._thread is not None:
            return
        self._socket = self._bind()
        self.address.port = self._socket.getsockname()[1]
        self.url = self.address.url(self._scheme)
        config = uvicorn.Config(
            self.app,
            loop="auto",  # uvloop when installed
            http=timed_protocol(self.header_timeout_s),  # httptools, closing connections too slow to send a request head
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=5,
            **self._ssl,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [self._socket]}, name=f"agentgpt-http-{self.address.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the HTTP server on {self.url} did not start; see the uvicorn log above")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._uvicorn = self._thread = self._socket = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.address.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.address.host, self.address.port))
        except OSError:
            sock.close()
            raise
        return sock
