"""The client side of a transport: one connection, calls, and calls in flight."""

from __future__ import annotations

import threading
from abc import abstractmethod
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

from ..protocol.errors import TransportError
from .lifecycle import Closing


class DeferredCall(Future):
    """What the default ``TransportClient.submit`` returns: a call not sent yet.

    ``start()`` sends it, on ``executor`` or (without one) on the calling thread;
    ``result()`` starts it first if nobody has. So a caller fanning out to many
    clients starts the others on threads and runs one itself while they work.
    """

    def __init__(self, call: Callable[..., Any], *args: Any):
        super().__init__()
        self._call, self._args = call, args
        self._claimed = False
        self._claim_lock = threading.Lock()

    def start(self, executor: Executor | None = None) -> None:
        """Send the call now (idempotent: a started call is not sent twice)."""
        with self._claim_lock:
            if self._claimed:
                return
            self._claimed = True
        if executor is None:
            self._run()
        else:
            executor.submit(self._run)

    def result(self, timeout: float | None = None) -> Any:
        self.start()
        return super().result(timeout)

    def _run(self) -> None:
        if not self.set_running_or_notify_cancel():
            return
        try:
            self.set_result(self._call(*self._args))
        except BaseException as exc:  # the caller of result() gets it, whatever it is
            self.set_exception(exc)


class TransportClient(Closing):
    """One connection to one server."""

    @abstractmethod
    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send one request and return its ``result``; raise the typed ProtocolError on failure."""

    def submit(self, method: str, params: dict[str, Any] | None = None) -> Future:
        """Start a request; ``result(future)`` waits for it.

        The default defers ``call`` (see ``DeferredCall``); a transport that can have
        several requests in flight on one connection (WebSocket) sends at once.
        """
        return DeferredCall(self.call, method, params)

    def result(self, future: Future, method: str = "request", timeout: float | None = None) -> Any:
        """The result of a ``submit``ted request, or its typed error.

        ``timeout``: wait at most this long (None: the client's own timeout), then raise
        ``TransportError``; the host pool gives each host a deadline this way.
        """
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise TransportError(f"no answer to {method!r} within {timeout:g} s") from None
