"""Where a protocol call runs: the core's ``Dispatcher`` (agentgpt_core/kinds/dispatch.py),
with anyio's worker threads, which is what uvicorn's loop runs its own on.

The reasoning (inline while a call is cheap and computing, else a thread) and its
measurements are in the core module's docstring; the WebSocket transport uses the same.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from agentgpt_core.kinds import Service
from agentgpt_core.kinds.dispatch import (  # noqa: F401  (re-exported: the HTTP app and its tests use these names)
    ALWAYS_INLINE,
    ALWAYS_THREAD,
    DEFAULT_INLINE_BUDGET_S,
    MAX_TRACKED,
    MIN_CPU_SHARE,
)
from agentgpt_core.kinds.dispatch import Dispatcher as _CoreDispatcher


class Dispatcher(_CoreDispatcher):
    """The core dispatcher, running calls on anyio's worker threads."""

    def __init__(self, service: Service, inline_budget_s: float = DEFAULT_INLINE_BUDGET_S):
        super().__init__(service, inline_budget_s, run_in_thread=_anyio_thread)


async def _anyio_thread(function: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(function, *args)
