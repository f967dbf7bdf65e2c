"""Real-time serving: the InferenceService a transport serves, and the GPTAPI client.

Names load on first use, so ``from agentgpt_core.serve import GPTAPI`` (a game's
client) does not import torch, which only the server needs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACTIONS", "GPTAPI", "InferenceService", "METHODS", "TooManyAgents"]


def __getattr__(name: str) -> Any:
    if name == "GPTAPI":
        from .client import GPTAPI

        return GPTAPI
    if name == "TooManyAgents":
        from .errors import TooManyAgents

        return TooManyAgents
    if name in ("ACTIONS", "InferenceService", "METHODS"):
        from . import service

        return getattr(service, name)
    raise AttributeError(f"module 'agentgpt_core.serve' has no attribute {name!r}")
