"""Gateways: where env hosts that dial out meet a trainer.

A host behind a home router cannot be reached, but it can connect out. A transport
that supports this (``Transport.gateway``) listens on the trainer's side; each host
that connects and registers becomes a ``HostLink``: a ``TransportClient`` whose
requests travel back over the host's own connection. The host pool
(``agentgpt_core.remote.pool``) only sees these two classes, so it works with any
transport that implements them, and with hosts reached by URL as well.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from concurrent.futures import Future
from typing import Any

from ..kinds import TransportClient


class HostLink(TransportClient):
    """One registered env host: who it is, what it serves, and a client to call it."""

    host_id: str  # stable across reconnects: a returning host is recognised by it
    envs: list[str]  # the env names its operator allowed
    capacity: int  # how many envs it offered to run (``--num-envs``)
    address: str  # where it connected from, for people reading ``agentgpt hosts``

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the connection dropped or was closed; a dead link never comes back."""

    @property
    def pipelined(self) -> bool:
        """True when ``submit`` sends a request without waiting and ``result`` waits for it.

        The host pool then sends every host its request from one thread, one write each,
        before it waits for any answer; a link that only has ``call`` gets a thread.
        """
        return False

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        raise NotImplementedError(f"{type(self).__name__} is not pipelined: use call")

    def result(self, future: Future, method: str = "request") -> Any:
        raise NotImplementedError(f"{type(self).__name__} is not pipelined: use call")


class Gateway(ABC):
    """Accepts env hosts that connect in, and hands out a link to each live one."""

    url: str

    @abstractmethod
    def start(self) -> None:
        """Listen; return once hosts can connect (``url`` then names the real port)."""

    @abstractmethod
    def stop(self) -> None:
        """Disconnect every host and stop listening; idempotent."""

    @abstractmethod
    def hosts(self) -> list[HostLink]:
        """The live links, in the order their hosts first registered."""

    def wait_for_hosts(self, count: int, timeout: float | None = None) -> list[HostLink]:
        """Block until ``count`` hosts are live (or ``timeout`` passes); return the live ones."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            live = self.hosts()
            if len(live) >= count or (deadline is not None and time.monotonic() >= deadline):
                return live
            time.sleep(0.02)

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
