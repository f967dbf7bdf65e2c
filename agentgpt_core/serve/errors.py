"""The serving errors: the protocol's own (protocol/errors.py), named here for callers of the serve package."""

from __future__ import annotations

from ..protocol.errors import TooManyAgents

__all__ = ["TooManyAgents"]
