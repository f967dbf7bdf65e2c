"""Cross-request micro-batching: concurrent calls share one forward pass.

Central batched inference, as SEED RL does it: one forward pass over 256 agents costs
less than 16 passes over 16, so when several clients call at nearly the same time their
agents go through the policy together.

There is no batching thread. The caller that finds no pass being prepared becomes the
*leader*: it waits briefly for company, takes every queued call (its own included), runs
one pass and hands each caller its rows. Callers that arrive meanwhile queue and sleep;
when the pass ends, the first of those still queued is woken to lead the next one. So a
lone client computes in its own thread with no hand-off at all, and under load each
pass carries everyone who queued while the previous one ran.

How long a leader waits for company is the one setting, ``window_s`` (counted from the
oldest queued call's arrival), and it never waits for callers that are not coming: it
stops as soon as every session seen in the last ``active_horizon_s`` has a call queued,
or when ``max_rows`` agents are queued.
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
    woken: threading.Event = field(default_factory=threading.Event)
    promoted: bool = False  # woken to lead the next pass, not because its rows are done
    result: np.ndarray | None = None
    error: BaseException | None = None

    @property
    def rows(self) -> int:
        return len(self.control)

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


class MicroBatcher:
    """Runs concurrent callers' agents through ``decider`` together (see the module docstring)."""

    def __init__(self, decider: Decider, *, window_s: float, max_rows: int = 4096, active_horizon_s: float = 1.0):
        if window_s < 0:
            raise ValueError(f"the batching window must be >= 0 seconds, got {window_s}")
        self.decider, self.window_s, self.max_rows, self.active_horizon_s = decider, window_s, max_rows, active_horizon_s
        self.batches = self.calls = 0
        self._queue: deque[_Call] = deque()
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._leading = False
        self._closed = False

    def decide(self, windows: dict[str, np.ndarray], deterministic: np.ndarray, control: np.ndarray, session: str) -> np.ndarray:
        """The raw actions for one call's agents, decided together with whoever else is queued."""
        call = _Call(windows, deterministic, control, session)
        with self._lock:
            if self._closed:
                raise ProtocolError("the inference service is shutting down")
            self._queue.append(call)
            self._last_seen[session] = call.arrived
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                self._arrived.notify()  # a leader gathering company counts again
        if not lead:
            call.woken.wait()
            if not call.promoted:
                return self._outcome(call)
            call.woken.clear()
            call.promoted = False
        while not call.finished:
            with self._lock:
                self._gather()
                batch, rows = [], 0
                while self._queue and (not batch or rows + self._queue[0].rows <= self.max_rows):
                    batch.append(self._queue.popleft())
                    rows += batch[-1].rows
            self._run(batch)
        with self._lock:  # hand the lead to the oldest caller still queued, if any
            if self._queue:
                successor = self._queue[0]
                successor.promoted = True
                successor.woken.set()
            else:
                self._leading = False
        return self._outcome(call)

    def stop(self) -> None:
        """Refuse new calls; calls already queued are still answered by their leader."""
        with self._lock:
            self._closed = True

    def stats(self) -> dict:
        return {
            "window_ms": self.window_s * 1e3,
            "forward_passes": self.batches,
            "calls": self.calls,
            "calls_per_pass": self.calls / self.batches if self.batches else 0.0,
        }

    # -- the leader's work -------------------------------------------------------------

    def _gather(self) -> None:
        """Wait (lock held, released while waiting) until the batch is worth running."""
        deadline = self._queue[0].arrived + self.window_s
        while True:
            now = time.monotonic()
            if now >= deadline or sum(call.rows for call in self._queue) >= self.max_rows:
                return
            if len({call.session for call in self._queue}) >= self._active_sessions(now):
                return
            self._arrived.wait(deadline - now)

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
        except BaseException as exc:  # every caller of the pass hears about it; serving goes on
            error = exc if isinstance(exc, ProtocolError) else ProtocolError(f"the forward pass failed: {type(exc).__name__}: {exc}")
            for call in batch:
                call.error = error
        self.batches += 1
        self.calls += len(batch)
        for call in batch:
            call.woken.set()

    @staticmethod
    def _outcome(call: _Call) -> np.ndarray:
        if call.error is not None:
            raise call.error
        return call.result
