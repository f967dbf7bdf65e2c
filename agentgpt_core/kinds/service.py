"""What a transport serves: anything that answers named calls with plain data.

``EnvService`` (the env host) is one; the policy server is the next. A transport
decodes a request into ``(method, params, session)``, calls ``handle`` and encodes
what it returns (or the ``ProtocolError`` it raises); when a caller's connection
ends it calls ``close_session``. Transports never look inside a service, so every
transport serves every service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Awaitable

from ..protocol.names import DEFAULT_SESSION


class Service(ABC):
    """Answers protocol calls; one instance serves every session of every transport."""

    methods: tuple[str, ...]  # the method names ``handle`` answers (HTTP routes them as POST /<method>)

    @abstractmethod
    def handle(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Any:
        """Answer one call with plain data (dicts, lists, numbers, str, ndarrays); raise a ProtocolError on failure."""

    def begin(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Awaitable[Any] | None:
        """Optional, for transports that serve on an event loop: start the call on the loop.

        Return an awaitable of the answer to have the transport await it (without blocking
        the loop, so other requests are read meanwhile: the policy server gathers
        concurrent calls into one forward pass this way), or None (the default) to have the
        call answered by ``handle``. Raising a ProtocolError here answers with that error.
        """
        return None

    def close_session(self, session: str) -> None:
        """The caller behind ``session`` left: release what it held."""

    def offers(self) -> list[str]:
        """The names this service serves (env names for an env host); a dial-out host announces them."""
        return []

    def close(self) -> None:
        """Release everything (the process is stopping)."""
