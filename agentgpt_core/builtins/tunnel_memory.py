"""The ``memory`` tunnel: forwards nothing, the public URL is the local one.

It stands in for a real tunnel (the ngrok plugin) in tests and on loopback, so
``agentgpt launch --tunnel memory`` runs the same code path as ``--tunnel ngrok``.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..kinds import Tunnel


class InMemoryTunnel(Tunnel):
    """Records what it was asked to forward and answers with the same URL."""

    name = "memory"
    public = False  # the URL it answers is the local one: nothing beyond this machine

    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, local_url: str) -> str:
        self.opened.append(local_url)
        return local_url

    def close(self) -> None:
        self.opened.clear()


@hookimpl
def register_tunnels(register):
    register(InMemoryTunnel())
