"""Closing envs nobody uses, on a timer.

An HTTP caller has no connection the host could watch, so an env whose client died
without ``close`` (a killed trainer, a curl session abandoned, 300 clients that
vanished mid-request) stays open until something closes it. ``EnvService`` used to
sweep idle envs only when a new ``make`` came in; this thread sweeps every
``interval_s`` instead, whether or not anyone makes anything. It holds the service
only weakly, so a service that is dropped without ``close()`` does not live on for it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any


class IdleSweeper:
    """Calls ``service.close_idle()`` every ``interval_s`` seconds once started, until stopped."""

    def __init__(self, service: Any, interval_s: float):
        self._service = weakref.ref(service)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="agentgpt-idle-sweeper", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            service = self._service()
            if service is None:
                return
            try:
                service.close_idle()
            except Exception:  # an env that fails to close must not end the sweeping
                pass
            del service
