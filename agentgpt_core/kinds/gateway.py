"""Gateways: where servers that dial out meet the side that calls them.

A host behind a home router cannot be reached, but it can connect out. A transport
that supports this (``Transport.gateway``) listens on the trainer's side; each host
that connects and registers becomes a ``HostLink``: a ``TransportClient`` whose
requests travel back over the host's own connection. The host pool only sees these
two classes, so it works with any transport that implements them, and with hosts
reached by URL as well (``remote/url_hosts.py``).
"""

from __future__ import annotations

import time
from abc import abstractmethod

from .client import TransportClient
from .lifecycle import Serving


class HostLink(TransportClient):
    """One registered host: who it is, what it serves, and a client to call it.

    A ``TransportClient`` (``call``, ``submit``, ``result``, ``close``) with these facts.
    """

    host_id: str  # stable across reconnects: a returning host is recognised by it
    envs: list[str]  # the names its operator allowed (``Service.offers``)
    capacity: int  # how many envs it offered to run (``--num-envs``)
    address: str  # where it connected from, for people reading ``agentgpt hosts``

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the connection dropped or was closed; a dead link never comes back."""


class Gateway(Serving):
    """Accepts hosts that connect in, and hands out a link to each live one."""

    url: str

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
