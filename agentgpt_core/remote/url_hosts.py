"""Env hosts that listen, reached by URL: the host pool's other source of hosts.

Same shape as a ``Gateway`` (``hosts()`` gives the live links), so the pool treats
a fixed list of ``http://`` or ``ws://`` hosts exactly like hosts that dial in. A
host that drops is reconnected in the background every ``retry_interval`` seconds,
and the pool takes it back once it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

from ..kinds import Gateway, HostLink, TransportClient
from ..protocol.errors import ProtocolError, TransportError
from ..protocol.names import ENVS, Method
from .connect import connect

log = logging.getLogger("agentgpt.pool")


class UrlHostLink(HostLink):
    """A client to one listening host, marked dead after its first transport failure."""

    def __init__(self, client: TransportClient, url: str, capacity: int, envs: list[str]):
        self.client, self.host_id, self.address = client, url, url
        self.capacity, self.envs = capacity, envs
        self.connected_at = time.time()
        self._dead = False

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self._live(self.client.call, method, params)

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        return self._live(self.client.submit, method, params)

    def result(self, future: Future, method: str = "request", timeout: float | None = None) -> Any:
        if timeout is None:
            return self._live(self.client.result, future, method)
        return self._live(self.client.result, future, method, timeout)

    def _live(self, operation: Callable[..., Any], *args: Any) -> Any:
        """``operation(*args)``, marking the link dead on its first TransportError."""
        if self._dead:
            raise TransportError(f"the connection to {self.host_id} was lost")
        try:
            return operation(*args)
        except TransportError:
            self._dead = True
            raise

    @property
    def alive(self) -> bool:
        return not self._dead

    def close(self) -> None:
        self._dead = True
        self.client.close()


class UrlHosts(Gateway):
    """Connects to each URL and keeps trying the ones that are down."""

    def __init__(
        self,
        urls: list[str],
        capacity: int,
        *,
        api_key: str | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        retry_interval: float = 2.0,
    ):
        self.urls, self.capacity = list(urls), capacity
        self.url = ",".join(self.urls)
        self._connect_options = {"api_key": api_key, "codec": codec, "timeout": timeout}
        self.retry_interval = retry_interval
        self._links: dict[str, UrlHostLink] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._connect_missing()
            self._thread = threading.Thread(target=self._keep_connecting, name="agentgpt-url-hosts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()

    def hosts(self) -> list[HostLink]:
        with self._lock:
            return [self._links[url] for url in self.urls if url in self._links and self._links[url].alive]

    def _keep_connecting(self) -> None:
        while not self._stopped.wait(self.retry_interval):
            self._connect_missing()

    def _connect_missing(self) -> None:
        for url in self.urls:
            with self._lock:
                link = self._links.get(url)
            if (link is not None and link.alive) or self._stopped.is_set():
                continue
            try:
                client = connect(url, **self._connect_options)
            except ProtocolError as exc:
                log.info("env host %s is not reachable yet: %s", url, exc)
                continue
            try:
                envs = list(client.call(Method.INFO).get(ENVS, []))
            except TransportError as exc:  # connected lazily, and nobody answered
                log.info("env host %s is not reachable yet: %s", url, exc)
                client.close()
                continue
            except ProtocolError:
                envs = []
            with self._lock:
                if self._stopped.is_set():
                    client.close()
                    return
                self._links[url] = UrlHostLink(client, url, self.capacity, envs)
