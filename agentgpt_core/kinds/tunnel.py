"""Tunnel plugin kind: gives a local server a public URL (ngrok, localtunnel...).

``agentgpt launch --tunnel NAME`` opens one for the server it starts and prints the
public URL. The built-in ``memory`` tunnel (``builtins/tunnel_memory.py``) forwards
nothing and stands in for a real one in tests.
"""

from __future__ import annotations

from abc import abstractmethod

from .lifecycle import Closing


class Tunnel(Closing):
    """Opens a public URL that forwards to a local one; ``close()`` stops forwarding."""

    name: str

    @abstractmethod
    def open(self, local_url: str) -> str:
        """Start forwarding to ``local_url`` and return the public URL."""

    @abstractmethod
    def close(self) -> None:
        """Stop forwarding; idempotent."""
