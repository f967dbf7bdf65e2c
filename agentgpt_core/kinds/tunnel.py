"""Tunnel plugin kind: gives a local server a public URL (ngrok, localtunnel...)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Tunnel(ABC):
    """Opens a public URL that forwards to a local one; context-managed."""

    name: str

    @abstractmethod
    def open(self, local_url: str) -> str:
        """Start forwarding to ``local_url`` and return the public URL."""

    @abstractmethod
    def close(self) -> None:
        """Stop forwarding; idempotent."""

    def __enter__(self) -> Tunnel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class InMemoryTunnel(Tunnel):
    """A tunnel that forwards nothing: the public URL is the local one (tests, loopback)."""

    name = "none"

    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, local_url: str) -> str:
        self.opened.append(local_url)
        return local_url

    def close(self) -> None:
        self.opened.clear()
