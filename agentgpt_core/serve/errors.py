"""The serving errors the protocol did not have yet (the rest reuse protocol/errors.py)."""

from __future__ import annotations

from ..protocol.errors import ERRORS_BY_CODE, ProtocolError


class TooManyAgents(ProtocolError):
    """The server already holds its maximum of live agents; nothing was changed."""

    code, http_status = "too_many_agents", 429


ERRORS_BY_CODE.setdefault(TooManyAgents.code, TooManyAgents)
