"""The host's side of dial-out: ``agentgpt launch --transport ws --connect URL``.

A simulator behind a home router cannot be reached, but it can connect out. This
server opens a socket *to* the trainer's gateway, registers (its stable host id, the
env names it serves, how many envs it offers), then answers the gateway's requests
over that same socket exactly as a listening host answers its clients. When the
socket drops it closes the envs made on it and reconnects with exponential backoff
and jitter, under the same host id, so the gateway can give it its place back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket as socket_module
import ssl as ssl_module
import threading
import time
import uuid

from websockets.exceptions import ConnectionClosed

from agentgpt_core import __version__
from agentgpt_core.kinds import Service, TransportServer
from agentgpt_core.kinds.dispatch import Dispatcher
from agentgpt_core.protocol.codecs import JSON
from agentgpt_core.protocol.errors import MalformedPayload, ProtocolError, TransportError, Unauthorized, error_from_dict
from agentgpt_core.protocol.names import ENVS, HOST_ID, NUM_ENVS, REGISTER, REGISTERED, VERSION

from .handshake import SocketSettings, open_socket
from .loop import LoopThread
from .server import answer_requests
from .wire import DEFAULT_MAX_SIZE, decode, encode

log = logging.getLogger("agentgpt.ws")


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: in [d/2, d] for d = min(cap, base * 2**attempt).

    The jitter keeps a fleet of hosts that lost the trainer together from knocking on
    its door in lock-step; the lower bound keeps retries from ever spinning.
    """
    delay = min(cap, base * 2**attempt)
    return delay * random.uniform(0.5, 1.0)


class DialOutServer(TransportServer):
    """Serves ``service`` to the gateway at ``connect``, reconnecting until stopped (``WsTransport.dial_out``).

    ``start()`` returns once the gateway accepted the registration, or after
    ``register_timeout`` seconds while it keeps trying in the background (the trainer
    may start later than its hosts); a refused API key raises ``Unauthorized`` at once,
    since retrying cannot fix it.
    """

    def __init__(
        self,
        service: Service,
        connect: str,
        *,
        api_key: str | None = None,
        num_envs: int = 1,
        host_id: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        register_timeout: float = 10.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ):
        self.service, self.url, self.api_key, self.num_envs = service, connect, api_key, int(num_envs)
        # AGENTGPT_HOST_ID keeps the id across process restarts too, not just reconnects
        self.host_id = host_id or os.environ.get("AGENTGPT_HOST_ID") or f"{socket_module.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.max_size, self.register_timeout = max_size, register_timeout
        self.settings = SocketSettings(api_key, ssl, max_size, ping_interval, ping_timeout, timeout=register_timeout)
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.registered = threading.Event()  # set while registered with the gateway
        self.registrations = 0  # how many times the gateway accepted this host
        self._fatal: ProtocolError | None = None
        self._dispatcher = Dispatcher(service)  # slow env calls off the loop, so pings still get their pongs
        self._loop: LoopThread | None = None

    def start(self) -> None:
        if self._loop is not None:
            return
        self._loop = LoopThread("agentgpt-ws-dialout")
        asyncio.run_coroutine_threadsafe(self._run(), self._loop.loop)
        deadline = time.monotonic() + self.register_timeout
        while not self.registered.wait(0.02) and self._fatal is None and time.monotonic() < deadline:
            pass
        if self._fatal is not None:
            fatal, self._fatal = self._fatal, None
            self.stop()
            raise fatal
        if not self.registered.is_set():
            log.warning("not registered with %s yet; still trying in the background", self.url)

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.stop()  # cancels the connect loop; the open session's envs close on the way out
        self._loop = None
        self.registered.clear()

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                socket = await open_socket(self.url, self.settings)
            except Unauthorized as exc:
                log.error("%s", exc)
                self._fatal = exc
                return
            except TransportError as exc:
                log.info("%s", exc)
            else:
                try:
                    await self._register(socket)
                    attempt = 0
                    self.registrations += 1
                    self.registered.set()
                    log.info("registered with %s as %s", self.url, self.host_id)
                    await answer_requests(socket, self.service, f"gateway-{self.registrations}", self.max_size, self._dispatcher)
                    log.info("lost the connection to %s; reconnecting", self.url)
                except (ConnectionClosed, ProtocolError, asyncio.TimeoutError) as exc:
                    log.info("registration with %s failed: %s", self.url, exc)
                finally:
                    self.registered.clear()
                    await socket.close()
            await asyncio.sleep(backoff_delay(attempt, self.backoff_base, self.backoff_max))
            attempt += 1

    async def _register(self, socket) -> None:
        hello = {HOST_ID: self.host_id, ENVS: self.service.offers(), NUM_ENVS: self.num_envs, VERSION: __version__}
        await socket.send(encode(JSON, {REGISTER: hello}))
        _, reply = decode(await asyncio.wait_for(socket.recv(), self.register_timeout), self.max_size)
        if isinstance(reply.get("error"), dict):
            raise error_from_dict(reply["error"])
        if REGISTERED not in reply:
            raise MalformedPayload(f"the gateway answered the registration with {sorted(reply)}")
