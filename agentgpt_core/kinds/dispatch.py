"""Where a protocol call runs: inline on a server's event loop, or in a worker thread.

Shared by every transport whose server is asyncio (HTTP's uvicorn, WebSocket's
listener and dial-out loop): a simulator's call must not hold the loop that serves
every other socket (a slow env on one WebSocket used to delay a ping on another by
1.5 s). Each transport hands it its own way to run a function in a thread. A service
may also start a call on the loop itself (``Service.begin``) and hand back an
awaitable; the policy server does so to batch concurrent calls.


Handing a call to a worker thread and back costs a few hundred microseconds on the
2-core benchmark machine, twenty CartPole steps, so running every step in a thread
made the single-env round trip 20-40 % slower (benchmarks/RESULTS-transports.md). But
a call run inline holds the event loop: while it runs, no other session is served.
That is harmless when the call computes (a pure-Python step holds the GIL, so a
thread would stall the others just the same) and briefly; it is wasteful when the
call waits (a Unity build answering over a socket, a sleep, I/O), since others could
be served meanwhile.

So each (method, env) pair is timed, in wall and thread-CPU time: the next call runs
inline while the last one took under ``inline_budget_s`` (default: one GIL switch
interval, the longest a computing thread would hold the others anyway) and spent at
least half of it computing; otherwise it goes to a worker thread, where it keeps
being timed and comes back once it qualifies again. Calls that build or tear down
simulators (make, make_vec, close) always go to a thread; calls that only read
metadata always run inline. ``EnvService``'s per-env locks keep one env's calls in
order either way.

The cost of the choice: a call is judged by the one before it, so an env that is
usually fast but now and then very slow (a level load inside ``step``) holds the loop
for that one call; ``inline_budget_s=0`` sends every env call to a thread.
"""

from __future__ import annotations

import asyncio
import sys
import time
from functools import partial
from typing import Any, Awaitable, Callable

from ..protocol.names import ENV_KEY, Method
from .service import Service

RunInThread = Callable[..., Awaitable[Any]]  # run_in_thread(function, *args) -> its result, awaited

DEFAULT_INLINE_BUDGET_S = sys.getswitchinterval()
MIN_CPU_SHARE = 0.5
ALWAYS_INLINE = frozenset({Method.PING, Method.INFO, Method.ACTION_SPACE, Method.OBSERVATION_SPACE})
ALWAYS_THREAD = frozenset({Method.MAKE, Method.MAKE_VEC, Method.CLOSE})
MAX_TRACKED = 16384  # (method, env) timings kept; a forgotten pair simply starts in a thread again


class Dispatcher:
    """Runs ``service.handle`` inline or in a thread, by each (method, env)'s last call."""

    def __init__(self, service: Service, inline_budget_s: float = DEFAULT_INLINE_BUDGET_S, run_in_thread: RunInThread | None = None):
        self.service = service
        self.inline_budget_s = inline_budget_s
        self._to_thread = run_in_thread or _loop_executor
        self._inline_next: dict[tuple[str, str], bool] = {}
        self._begin = getattr(service, "begin", None)  # duck-typed services may lack it

    def begin(self, method: str, params: Any, session: str) -> Awaitable[Any] | None:
        """The service's own start on the loop (``Service.begin``), or None: use ``run``."""
        return None if self._begin is None else self._begin(method, params, session)

    async def call(self, method: str, params: Any, session: str) -> Any:
        waiting = self.begin(method, params, session)
        if waiting is not None:
            return await waiting
        return await self.run(method, params, session)

    async def run(self, method: str, params: Any, session: str) -> Any:
        """``service.handle``, inline or in a thread."""
        if method in ALWAYS_INLINE:
            return self.service.handle(method, params, session)
        if method in ALWAYS_THREAD:
            return await self._to_thread(self.service.handle, method, params, session)
        key = _cost_key(method, params, session)
        if self._inline_next.get(key, False):
            return self._timed(key, method, params, session)
        return await self._to_thread(self._timed, key, method, params, session)

    def runs_inline(self, method: str, params: Any, session: str) -> bool:
        """Whether the next such call would run on the event loop."""
        if method in ALWAYS_INLINE or method in ALWAYS_THREAD:
            return method in ALWAYS_INLINE
        return self._inline_next.get(_cost_key(method, params, session), False)

    def _timed(self, key: tuple[str, str], method: str, params: Any, session: str) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.service.handle(method, params, session)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            if len(self._inline_next) >= MAX_TRACKED and key not in self._inline_next:
                self._inline_next.clear()
            self._inline_next[key] = wall < self.inline_budget_s and cpu >= MIN_CPU_SHARE * wall


def _cost_key(method: str, params: Any, session: str) -> tuple[str, str]:
    env_key = params.get(ENV_KEY) if isinstance(params, dict) else None
    return method, env_key if isinstance(env_key, str) else f"session:{session}"


async def _loop_executor(function: Callable[..., Any], *args: Any) -> Any:
    """The running loop's default thread pool."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args))
