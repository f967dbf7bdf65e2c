"""Cross-request micro-batching: concurrent calls share one forward pass.

Central batched inference, as SEED RL does it: one forward pass over 256 agents costs
less than 16 passes over 16, so when several clients call at nearly the same time their
agents go through the policy together.

Callers come two ways, and both join the same queue, so they share passes:

- **on an event loop** (``submit``: the HTTP and WebSocket servers, whose calls all run
  on one loop thread): the call's rows are queued and an ``asyncio.Future`` is returned
  at once, so the loop goes on reading other clients' requests (and further requests
  pipelined on the same socket) while the batch gathers. The pass runs on the loop,
  inline, when the batch is complete or its window expires (a timer on the loop);
- **from a thread** (``decide``: a direct or in-process caller): the caller blocks.

There is no batching thread. Whoever finds no pass being gathered becomes the *leader*
(a thread, or a loop); arrivals meanwhile queue (a thread sleeps on its own event, a
loop caller holds its future). After the pass the lead passes to the oldest call still
queued. So a lone client computes in its own thread (or inline on the loop) with no
hand-off, and under load each pass carries everyone who queued while the previous one
ran.

How long a leader waits for company is the one setting, ``window_s``, counted from when
the batch began gathering: the first call's arrival, or the end of the previous pass.
(Counted from the oldest call's arrival instead, a call that arrived during a pass would
have used up its window by the time the pass ended, and under load clients split into
groups that never meet: 16 clients gathered about 6 calls a pass.) It never waits for
callers that are not coming: the pass runs as soon as every session seen in the last
``active_horizon_s`` has a call queued, or when ``max_rows`` agents are queued. Every
arrival re-checks this, so a complete batch runs the moment its last call arrives,
never at a polling tick. A call waits at most one pass plus one window.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..protocol.errors import ProtocolError
from .contexts import stack_masks, stack_windows
from .decide import Decided, Decider

_THREAD = "thread"  # the leader is a blocked thread (else it is an event loop, or None: nobody)


@dataclass(eq=False)
class _Call:
    windows: dict[str, np.ndarray]
    deterministic: np.ndarray
    control: np.ndarray
    session: str
    slots: np.ndarray | None = None  # the agents' context slots and their epochs, for ``record``
    epochs: np.ndarray | None = None
    loop: asyncio.AbstractEventLoop | None = None  # set for a loop caller, whose answer is ``future``
    future: asyncio.Future | None = None
    arrived: float = field(default_factory=time.monotonic)
    woken: threading.Event | None = None  # a thread caller sleeps on it
    promoted: bool = False  # woken to lead the next pass, not because its rows are done
    result: Decided | None = None
    error: BaseException | None = None

    @property
    def rows(self) -> int:
        return len(self.control)

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


class MicroBatcher:
    """Runs concurrent callers' agents through ``decider`` together (see the module docstring)."""

    def __init__(
        self,
        decider: Decider,
        *,
        window_s: float,
        max_rows: int = 4096,
        active_horizon_s: float = 1.0,
        record: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    ):
        """``record(slots, epochs, action_features)``, when given, remembers each pass's actions
        in the agents' contexts once for the whole pass (calls that bring their slots)."""
        if window_s < 0:
            raise ValueError(f"the batching window must be >= 0 seconds, got {window_s}")
        self.decider, self.window_s, self.max_rows, self.active_horizon_s = decider, window_s, max_rows, active_horizon_s
        self.record = record
        self.batches = self.calls = 0
        self._queue: deque[_Call] = deque()
        self._queued_rows = 0
        self._queued_sessions: dict[str, int] = {}
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._leader: object = None  # None, _THREAD, or the event loop that runs the next pass
        self._since = 0.0  # when the batch being gathered began gathering (its window starts here)
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- callers ---------------------------------------------------------------------------

    def decide(self, windows: dict[str, np.ndarray], deterministic: np.ndarray, control: np.ndarray, session: str,
               slots: np.ndarray | None = None, epochs: np.ndarray | None = None) -> Decided:  # fmt: skip
        """The actions for one call's agents (blocking), decided with whoever else is queued."""
        call = _Call(windows, deterministic, control, session, slots, epochs, woken=threading.Event())
        with self._lock:
            self._enqueue(call)
            self._check_leader()
            lead = self._leader is None
            if lead:
                self._leader, self._since = _THREAD, call.arrived
            else:
                self._poke()
        if not lead:
            call.woken.wait()
            if not call.promoted:
                return _outcome(call)
            call.woken.clear()
            call.promoted = False
        while not call.finished:
            with self._lock:
                self._gather()
                batch = self._take()
            self._run(batch)
            self._since = time.monotonic()  # its own call did not fit: gather again
        self._hand_over()
        return _outcome(call)

    def submit(self, windows: dict[str, np.ndarray], deterministic: np.ndarray, control: np.ndarray, session: str,
               slots: np.ndarray | None = None, epochs: np.ndarray | None = None) -> asyncio.Future:  # fmt: skip
        """Queue one call from the running event loop; the future holds its ``Decided`` actions (or error).

        When the batch is complete on arrival (a lone client, or the last of the expected
        callers), the pass runs now, inline, and the future is already done on return.
        """
        loop = asyncio.get_running_loop()
        call = _Call(windows, deterministic, control, session, slots, epochs, loop=loop, future=loop.create_future())
        with self._lock:
            self._enqueue(call)
            self._check_leader()
            if self._leader is None:
                self._leader, self._since = loop, call.arrived
                run_now = True
            else:
                run_now = self._poke(loop)
        if run_now:
            self._flush_on_loop()
        return call.future

    def forget(self, session: str) -> None:
        """The session's connection closed: stop expecting its calls."""
        with self._lock:
            self._last_seen.pop(session, None)

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

    # -- the queue (lock held) ----------------------------------------------------------------

    def _enqueue(self, call: _Call) -> None:
        if self._closed:
            raise ProtocolError("the inference service is shutting down")
        self._queue.append(call)
        self._queued_rows += call.rows
        self._queued_sessions[call.session] = self._queued_sessions.get(call.session, 0) + 1
        self._last_seen[call.session] = call.arrived

    def _take(self) -> list[_Call]:
        batch, rows = [], 0
        while self._queue and (not batch or rows + self._queue[0].rows <= self.max_rows):
            call = self._queue.popleft()
            batch.append(call)
            rows += call.rows
            left = self._queued_sessions[call.session] - 1
            if left:
                self._queued_sessions[call.session] = left
            else:
                del self._queued_sessions[call.session]
        self._queued_rows -= rows
        return batch

    def _check_leader(self) -> None:
        """A leading loop that was closed (its server stopped mid-gather) will never run its
        pass: forget its calls (nobody waits for them) so that this caller leads."""
        leader = self._leader
        if leader is not None and leader is not _THREAD and leader.is_closed():  # type: ignore[union-attr]
            self._drop_calls_of(leader)  # type: ignore[arg-type]
            self._leader = None
            self._timer = None

    def _drop_calls_of(self, gone: asyncio.AbstractEventLoop) -> None:
        for call in [c for c in self._queue if c.loop is gone]:
            self._queue.remove(call)
            self._queued_rows -= call.rows
            left = self._queued_sessions[call.session] - 1
            if left:
                self._queued_sessions[call.session] = left
            else:
                del self._queued_sessions[call.session]

    def _due(self, now: float) -> bool:
        """Whether the queued calls should run now: the window is over, or nobody else is expected."""
        if not self._queue:
            return False
        if now >= self._since + self.window_s or self._queued_rows >= self.max_rows:
            return True
        return len(self._queued_sessions) >= self._active_sessions(now)

    def _active_sessions(self, now: float) -> int:
        horizon = now - self.active_horizon_s
        if len(self._last_seen) > 256:  # keep the dict small; old sessions are simply forgotten
            self._last_seen = {s: t for s, t in self._last_seen.items() if t >= horizon}
        return sum(1 for t in self._last_seen.values() if t >= horizon)

    def _poke(self, here: asyncio.AbstractEventLoop | None = None) -> bool:
        """A call arrived while a leader gathers: tell it. True when the leader is ``here`` and the batch is due."""
        leader = self._leader
        if leader is _THREAD:
            self._arrived.notify()
            return False
        if not self._due(time.monotonic()):
            return False
        if leader is here:
            return True
        try:
            leader.call_soon_threadsafe(self._flush_on_loop)  # type: ignore[union-attr]
        except RuntimeError:  # that loop is closed; its own timer will never fire
            pass
        return False

    # -- the leader's work -----------------------------------------------------------------------

    def _gather(self) -> None:
        """A thread leader waits (lock held, released while waiting) until the batch is due."""
        while True:
            now = time.monotonic()
            if self._due(now):
                return
            self._arrived.wait(self._since + self.window_s - now)

    def _flush_on_loop(self) -> None:
        """On the leading loop: run the pass if it is due, else make sure a timer will look again."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._leader is not loop or not self._queue:
                return
            now = time.monotonic()
            if not self._due(now):
                if self._timer is None:
                    self._timer = loop.call_later(self._since + self.window_s - now, self._timer_fired)
                return
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batch = self._take()
        self._run(batch, loop)
        self._hand_over()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None
        self._flush_on_loop()

    def _hand_over(self) -> None:
        """After a pass: the oldest queued call's caller leads the next one (or nobody leads)."""
        with self._lock:
            self._since = time.monotonic()
            while self._queue:
                successor = self._queue[0]
                if successor.loop is None:
                    self._leader = _THREAD
                    successor.promoted = True
                    successor.woken.set()
                    return
                self._leader = successor.loop
                try:
                    successor.loop.call_soon_threadsafe(self._flush_on_loop)
                    return
                except RuntimeError:  # its loop is closed: nobody is waiting for these calls any more
                    self._drop_calls_of(successor.loop)
            self._leader = None

    def _run(self, batch: list[_Call], here: asyncio.AbstractEventLoop | None = None) -> None:
        try:
            if len(batch) == 1:
                only = batch[0]
                actions = self.decider.decide(stack_windows([only.windows]), only.deterministic, only.control, stack_masks([only.windows]))
            else:
                window = stack_windows([call.windows for call in batch])
                deterministic = np.concatenate([call.deterministic for call in batch])
                control = np.concatenate([call.control for call in batch])
                actions = self.decider.decide(window, deterministic, control, stack_masks([call.windows for call in batch]))
            if self.record is not None and all(call.slots is not None for call in batch):
                if len(batch) == 1:
                    self.record(batch[0].slots, batch[0].epochs, actions.features)
                else:
                    self.record(np.concatenate([c.slots for c in batch]), np.concatenate([c.epochs for c in batch]), actions.features)
            if len(batch) == 1:
                batch[0].result = actions
            else:
                start = 0
                for call in batch:
                    call.result = actions.rows(start, start + call.rows)
                    start += call.rows
        except BaseException as exc:  # every caller of the pass hears about it; serving goes on
            error = exc if isinstance(exc, ProtocolError) else ProtocolError(f"the forward pass failed: {type(exc).__name__}: {exc}")
            for call in batch:
                call.error = error
        self.batches += 1
        self.calls += len(batch)
        for call in batch:
            if call.loop is None:
                call.woken.set()
            elif call.loop is here:
                _resolve(call)
            else:
                try:
                    call.loop.call_soon_threadsafe(_resolve, call)
                except RuntimeError:  # its loop is closed: nobody is waiting
                    pass


def _resolve(call: _Call) -> None:
    if call.future.done():  # the caller gave up (its connection closed)
        return
    if call.error is not None:
        call.future.set_exception(call.error)
    else:
        call.future.set_result(call.result)


def _outcome(call: _Call) -> Decided:
    if call.error is not None:
        raise call.error
    return call.result
