"""Cross-request micro-batching: concurrent calls share one forward pass.

Central batched inference, as SEED RL does it: a transformer forward pass over 256
agents costs far less than 16 passes over 16, so when several clients call at nearly
the same time their agents go through the policy together. Callers hand their
windows to one worker thread and wait; the worker takes everything queued and runs
one pass for all of it.

How long the worker waits for company is the one setting, ``window_s`` (measured from
the first queued call's arrival), and it never waits for callers that are not coming:
it stops early as soon as every session seen in the last ``active_horizon_s`` has a
call queued (so a lone client pays nothing), or when ``max_rows`` agents are queued.
Calls that arrive while a pass is running simply join the next one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..protocol.errors import ProtocolError
from .contexts import stack_windows
from .decide import Decider


@dataclass
class _Call:
    windows: dict[str, np.ndarray]
    deterministic: np.ndarray
    control: np.ndarray
    session: str
    arrived: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None

    @property
    def rows(self) -> int:
        return len(self.control)


class MicroBatcher:
    """A worker thread that runs queued calls' agents through ``decider`` together."""

    def __init__(self, decider: Decider, *, window_s: float, max_rows: int = 4096, active_horizon_s: float = 1.0):
        if window_s < 0:
            raise ValueError(f"the batching window must be >= 0 seconds, got {window_s}")
        self.decider, self.window_s, self.max_rows, self.active_horizon_s = decider, window_s, max_rows, active_horizon_s
        self.batches = self.calls = 0
        self._queue: deque[_Call] = deque()
        self._last_seen: dict[str, float] = {}
        self._cond = threading.Condition()
        self._running = True
        self._thread = threading.Thread(target=self._work, name="agentgpt-serve-batcher", daemon=True)
        self._thread.start()

    def decide(self, windows: dict[str, np.ndarray], deterministic: np.ndarray, control: np.ndarray, session: str) -> np.ndarray:
        """The raw actions for one call's agents, decided together with whoever else is queued."""
        call = _Call(windows, deterministic, control, session)
        with self._cond:
            if not self._running:
                raise ProtocolError("the inference service is shutting down")
            self._queue.append(call)
            self._last_seen[session] = call.arrived
            self._cond.notify()
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def stats(self) -> dict:
        return {
            "window_ms": self.window_s * 1e3,
            "forward_passes": self.batches,
            "calls": self.calls,
            "calls_per_pass": self.calls / self.batches if self.batches else 0.0,
        }

    # -- the worker ------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and self._running:
                    self._cond.wait()
                if not self._running:
                    self._fail_queued()
                    return
                self._gather()
                batch, rows = [], 0
                while self._queue and (not batch or rows + self._queue[0].rows <= self.max_rows):
                    batch.append(self._queue.popleft())
                    rows += batch[-1].rows
            self._run(batch)

    def _gather(self) -> None:
        """Wait (lock held, released while waiting) until the batch is worth running."""
        deadline = self._queue[0].arrived + self.window_s
        while self._running:
            now = time.monotonic()
            queued_rows = sum(call.rows for call in self._queue)
            if now >= deadline or queued_rows >= self.max_rows:
                return
            if len({call.session for call in self._queue}) >= self._active_sessions(now):
                return
            self._cond.wait(deadline - now)

    def _active_sessions(self, now: float) -> int:
        horizon = now - self.active_horizon_s
        if len(self._last_seen) > 256:  # keep the dict small; old sessions are simply forgotten
            self._last_seen = {s: t for s, t in self._last_seen.items() if t >= horizon}
        return sum(1 for t in self._last_seen.values() if t >= horizon)

    def _run(self, batch: list[_Call]) -> None:
        try:
            window = stack_windows([call.windows for call in batch])
            deterministic = np.concatenate([call.deterministic for call in batch])
            control = np.concatenate([call.control for call in batch])
            actions = self.decider.decide(window, deterministic, control)
            start = 0
            for call in batch:
                call.result = actions[start : start + call.rows]
                start += call.rows
        except BaseException as exc:  # every waiting caller hears about it; the worker lives on
            for call in batch:
                call.error = exc if isinstance(exc, ProtocolError) else ProtocolError(f"the forward pass failed: {type(exc).__name__}: {exc}")
        self.batches += 1
        self.calls += len(batch)
        for call in batch:
            call.done.set()

    def _fail_queued(self) -> None:
        while self._queue:
            call = self._queue.popleft()
            call.error = ProtocolError("the inference service is shutting down")
            call.done.set()
