"""A private asyncio event loop on a daemon thread: the sync facade's engine.

Transports in AgentGPT are sync (``client.call`` blocks); websockets' servers are
asyncio. Each server, gateway or dial-out host owns one loop thread, so it never
depends on, or interferes with, an event loop the caller may be running. (``WsClient``
needs none: it uses websockets' threading client, see client.py.)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine


class LoopThread:
    """Runs an event loop forever on a daemon thread until ``stop()``."""

    def __init__(self, name: str):
        self.loop = _new_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Cancel what is still running, stop the loop and join its thread; idempotent."""
        if self.loop.is_closed():
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("a LoopThread cannot stop itself from its own loop")
        try:
            self.run(_cancel_others(), timeout=5)
        except Exception:  # a task that refuses to die must not keep the process alive
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (noticeably lower latency per message), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _cancel_others() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
