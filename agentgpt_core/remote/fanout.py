"""Host fan-out: one request to each of many hosts, sent before any answer is awaited.

So N hosts cost one round trip, not N. Every client goes through the same path,
``TransportClient.submit``: a client that pipelines (WebSocket) writes its request
from this thread at once; the others return a ``DeferredCall``, and all of those but
one are started on the executor while this thread runs the last one itself.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, Callable

from ..kinds import DeferredCall, TransportClient

Request = tuple[TransportClient, str, dict]


def fan_out(requests: list[Request], executor: Executor) -> list[Callable[[], Any]]:
    """Start every request; return, per request, a function that waits for its result (or raises its error)."""
    futures = [_submit(client, method, params) for client, method, params in requests]
    deferred = [future for future in futures if isinstance(future, DeferredCall)]
    for future in deferred[1:]:
        future.start(executor)
    if deferred:
        deferred[0].start()  # on this thread, while the others are on their way
    return [partial(client.result, future, method) for (client, method, _), future in zip(requests, futures)]


def _submit(client: TransportClient, method: str, params: dict) -> Future:
    try:
        return client.submit(method, params)
    except Exception as exc:  # could not even send: the wait for it raises
        failed: Future = Future()
        failed.set_exception(exc)
        return failed
