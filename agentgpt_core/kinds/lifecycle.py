"""The two context-manager lifecycles the kinds share (httpx's and hatch's style).

``Closing``: usable at once, released by ``close()`` on leaving the ``with`` block
(clients, tunnels, hosts). ``Serving``: ``start()`` on entering, ``stop()`` on leaving
(servers, gateways).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

_Self = TypeVar("_Self")


class Closing(ABC):
    """Something to ``close()`` when done with it; a context manager that does so."""

    def close(self) -> None:
        """Release what this holds; idempotent."""

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Serving(ABC):
    """Something that runs between ``start()`` and ``stop()``; a context manager that does both."""

    @abstractmethod
    def start(self) -> None:
        """Start in the background; return once it can be used."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release every resource; idempotent."""

    def __enter__(self: _Self) -> _Self:
        self.start()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
