"""Tunnel plugin kind: gives a local server a public URL (ngrok, localtunnel...).

``agentgpt launch --tunnel NAME`` opens one for the server it starts and prints the
public URL; ``agentgpt train --listen ws://... --tunnel NAME`` opens one for the
trainer's gateway, so dial-out hosts can reach a trainer with no inbound port. The
built-in ``memory`` tunnel (``builtins/tunnel_memory.py``) forwards nothing and stands
in for a real one in tests.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .lifecycle import Closing


class TunnelError(RuntimeError):
    """A tunnel could not open (agent missing, token refused, plan limit...); the message is one line."""


class Tunnel(Closing):
    """Opens a public URL that forwards to a local one; ``close()`` stops forwarding.

    ``public`` says whether the URL is reachable beyond this machine: the CLI refuses to
    open a public tunnel for a server without an API key.
    """

    name: str
    public: bool = True

    def configure(self, **options: Any) -> Tunnel:
        """A tunnel of this kind with ``options`` (``--tunnel-option KEY=VALUE``); this one takes none.

        Plugins that take options return a fresh, configured instance, so the registered
        one stays a template.
        """
        if options:
            raise ValueError(f"the {self.name} tunnel takes no options (got {', '.join(sorted(options))})")
        return self

    @abstractmethod
    def open(self, local_url: str) -> str:
        """Start forwarding to ``local_url`` and return the public URL; raise TunnelError if it cannot."""

    @abstractmethod
    def close(self) -> None:
        """Stop forwarding; idempotent."""
