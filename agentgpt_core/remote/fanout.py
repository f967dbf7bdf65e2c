"""Host fan-out: one request to each of many hosts, sent before any answer is awaited.

So N hosts cost one round trip, not N. Every client goes through the same path,
``TransportClient.submit``: a client that pipelines (WebSocket) writes its request
from this thread at once; the others return a ``DeferredCall``, and all of those but
one are started on the executor while this thread runs the last one itself (with
``inline=False`` all go to the executor, so no host's call holds this thread).

Each request comes back as a ``Reply``: call it (optionally with a ``timeout``) to
wait for the result, and read ``seconds`` for how long the host took. The host pool
uses both for per-host deadlines: one slow or silent host costs its own rows, never a
wait as long as the transport's whole timeout for every host (pool.py).
"""

from __future__ import annotations

import time
from concurrent.futures import Executor, Future
from typing import Any

from ..kinds import DeferredCall, TransportClient

Request = tuple[TransportClient, str, dict]


class Reply:
    """One request in flight: ``reply()`` or ``reply(timeout=s)`` waits for it; ``seconds`` once it is done."""

    def __init__(self, client: TransportClient, method: str, future: Future):
        self.client, self.method, self.future = client, method, future
        self.started = time.monotonic()
        self.finished: float | None = None
        future.add_done_callback(self._stamp)

    def __call__(self, timeout: float | None = None) -> Any:
        """The result, or its error; a TransportError if ``timeout`` seconds (from the send) pass first."""
        if timeout is None:
            result = self.client.result(self.future, self.method)
        else:
            remaining = max(0.0, self.started + timeout - time.monotonic())
            result = self.client.result(self.future, self.method, timeout=remaining)
        if self.finished is None:  # done callbacks may run just after a waiter wakes
            self.finished = time.monotonic()
        return result

    @property
    def seconds(self) -> float | None:
        """How long the answer took, from the send (None while it is not done)."""
        return None if self.finished is None else self.finished - self.started

    def _stamp(self, future: Future) -> None:
        self.finished = time.monotonic()


def fan_out(requests: list[Request], executor: Executor, *, inline: bool = True) -> list[Reply]:
    """Start every request; return, per request, a ``Reply`` that waits for its result (or raises its error)."""
    futures = [_submit(client, method, params) for client, method, params in requests]
    replies = [Reply(client, method, future) for (client, method, _), future in zip(requests, futures)]
    deferred = [future for future in futures if isinstance(future, DeferredCall)]
    here = deferred[0] if deferred and inline else None
    for future in deferred:
        if future is not here:
            future.start(executor)
    if here is not None:
        here.start()  # on this thread, while the others are on their way
    return replies


def _submit(client: TransportClient, method: str, params: dict) -> Future:
    try:
        return client.submit(method, params)
    except Exception as exc:  # could not even send: the wait for it raises
        failed: Future = Future()
        failed.set_exception(exc)
        return failed
