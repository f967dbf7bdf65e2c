"""The trainer's side of dial-out: where env hosts connect in and register.

Each registered socket becomes a ``WsHostLink``, a client whose requests travel
back over the host's own connection. A host that reconnects under the same host id
replaces its old link (a half-open old socket is closed), keeping its place in the
order hosts first registered, which is what lets the host pool give it its slots back.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
import threading
import time
from concurrent.futures import Future
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from agentgpt_core.protocol.codecs import Codec, get_codec
from agentgpt_core.protocol.errors import MalformedPayload, ProtocolError
from agentgpt_core.protocol.names import ENVS, HOST_ID, NUM_ENVS, REGISTER, REGISTERED, VERSION
from agentgpt_core.kinds import Gateway, HostLink
from agentgpt_core.security import BindAddress

from .calls import PendingCalls
from .handshake import SocketSettings, listen_address
from .listener import Listener, Listening
from .wire import DEFAULT_MAX_SIZE, codec_of, decode, encode, error_frame

log = logging.getLogger("agentgpt.ws")
MAX_HOST_ENVS = 4096


class WsHostLink(HostLink):
    """A registered dial-out host, called over the socket it opened."""

    def __init__(self, calls: PendingCalls, registration: dict[str, Any], address: str):
        self.calls = calls
        self.host_id: str = registration[HOST_ID]
        self.envs: list[str] = registration[ENVS]
        self.capacity: int = registration[NUM_ENVS]
        self.version: str = str(registration.get(VERSION, ""))
        self.address = address
        self.connected_at = time.time()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.calls.call(method, params)

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Send now, without waiting: the pool writes every host its step before it waits for any."""
        return self.calls.submit(method, params)

    def result(self, future: Future, method: str = "request", timeout: float | None = None) -> Any:
        return self.calls.result(future, method, timeout)

    @property
    def alive(self) -> bool:
        return self.calls.closed_reason is None

    def close(self) -> None:
        """Drop the host's socket; a dial-out host then reconnects with fresh envs."""
        self.calls.fail_all(f"link to host {self.host_id} closed by the trainer")
        loop = self.calls.loop
        if not loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.calls.socket.close(1001, "closed by the trainer"), loop)


class WsGateway(Listening, Gateway):
    """Listens at ``ws://HOST:PORT`` for dial-out env hosts (``Transport.gateway``)."""

    def __init__(
        self,
        listen_url: str,
        *,
        api_key: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        max_size: int = DEFAULT_MAX_SIZE,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        register_timeout: float = 10.0,
    ):
        address = BindAddress(*listen_address(listen_url), api_key)
        self.codec, self.timeout = get_codec(codec), timeout
        self.max_size, self.register_timeout = max_size, register_timeout
        self._links: dict[str, WsHostLink] = {}
        self._lock = threading.Lock()
        settings = SocketSettings(api_key, ssl, max_size, ping_interval, ping_timeout)
        self._listener = Listener("agentgpt-ws-gateway", self._handle, address, settings)

    def stop(self) -> None:
        if self._listener.running:
            for link in self.hosts():
                link.calls.fail_all("the gateway stopped")
        super().stop()

    def hosts(self) -> list[WsHostLink]:
        with self._lock:
            return [link for link in self._links.values() if link.alive]

    async def _handle(self, socket: ServerConnection) -> None:
        try:
            reply_codec, registration = await self._registration(socket)
        except (ConnectionClosed, asyncio.TimeoutError):
            await socket.close(1008, f"no registration within {self.register_timeout:g} s")
            return
        address = "%s:%s" % socket.remote_address[:2] if socket.remote_address else "?"
        calls = PendingCalls(
            self._listener.loop, socket, self.codec, timeout=self.timeout, peer=f"host {registration[HOST_ID]}", max_size=self.max_size
        )
        link = WsHostLink(calls, registration, address)
        with self._lock:
            old = self._links.get(link.host_id)
            self._links[link.host_id] = link
        if old is not None and old.alive:
            old.calls.fail_all(f"host {link.host_id} reconnected on a new socket")
            await old.calls.socket.close(1000, "replaced by a newer connection from the same host id")
        log.info("host %s registered from %s: %d x %s", link.host_id, address, link.capacity, ", ".join(link.envs))
        await socket.send(encode(reply_codec, {REGISTERED: {HOST_ID: link.host_id}}))
        await calls.read_answers()
        log.info("host %s left (%s)", link.host_id, calls.closed_reason)

    async def _registration(self, socket: ServerConnection) -> tuple[Codec, dict[str, Any]]:
        """Wait for a valid ``register`` message; every bad frame before it gets a typed error."""
        deadline = asyncio.get_running_loop().time() + self.register_timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            frame = await asyncio.wait_for(socket.recv(), max(remaining, 0.001))
            try:
                codec, message = decode(frame, self.max_size)
                return codec, _valid_registration(message.get(REGISTER))
            except ProtocolError as error:
                await socket.send(error_frame(codec_of(frame), getattr(error, "request_id", None), error))


def _valid_registration(hello: Any) -> dict[str, Any]:
    if not isinstance(hello, dict):
        raise MalformedPayload('this is a gateway: send {"register": {"host_id", "envs", "num_envs"}} first')
    host_id, envs, num_envs = hello.get(HOST_ID), hello.get(ENVS), hello.get(NUM_ENVS)
    if not isinstance(host_id, str) or not 0 < len(host_id) <= 200:
        raise MalformedPayload("register needs a host_id: a non-empty string of at most 200 characters")
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        raise MalformedPayload("register needs envs: the list of env names the host serves")
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or not 1 <= num_envs <= MAX_HOST_ENVS:
        raise MalformedPayload(f"register needs num_envs: an integer from 1 to {MAX_HOST_ENVS}")
    return {HOST_ID: host_id, ENVS: envs, NUM_ENVS: num_envs, VERSION: hello.get(VERSION, "")}
