"""The ``unity:`` env adapter: builds (or the Editor) as multi-agent envs, one behaviour each.

``prepare`` (called when a host starts) launches the first build and keeps it connected,
so a missing build, a build that exits, a taken port or a build that never connects stops
``agentgpt launch`` at once with one line, and the first ``make`` takes that running build
instead of starting another. Each further env is its own build process on the next free
worker id (port ``base_port + worker id``).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from agentgpt_core.envs.served_agents import ParallelEnvs
from agentgpt_core.hookspecs import hookimpl
from agentgpt_core.kinds import EnvAdapter
from agentgpt_core.protocol.errors import InvalidArgument

from .behaviour import UnityBehaviourEnv, pick_behaviour
from .launch import apply_side_channels, open_unity, release_worker, stop, take_worker
from .settings import UnitySettings


class UnityAdapter(EnvAdapter):
    """``unity:./Build[?settings]`` or ``unity:editor[?settings]`` (see settings.py and the README)."""

    name = "unity"

    def __init__(self) -> None:
        self._warm: dict[str, tuple[Any, Any, Any, int]] = {}  # target -> a started build no env took yet (env, channels, worker id)
        self._lock = threading.Lock()

    def prepare(self, target: str) -> None:
        settings = UnitySettings.parse(target)
        with self._lock:
            if target in self._warm:
                return
            started = self._start(settings)
            names = list(started[0].behavior_specs)
            try:  # a behaviour the build lacks fails now too, not at the first make
                chosen = pick_behaviour(names, settings.behaviour)
            except BaseException:
                stop(started[0])
                release_worker(started[3])
                raise
            if settings.behaviour is None and len(names) > 1:
                others = ", ".join(repr(n) for n in sorted(names) if n != chosen)
                print(f"{settings.describe()} has several behaviours: serving {chosen!r} (not {others}); "
                      "choose one with unity:PATH?behaviour=NAME", file=sys.stderr, flush=True)
            self._warm[target] = started

    def make(self, target: str, **kwargs: Any) -> UnityBehaviourEnv:
        settings = UnitySettings.parse(target)
        try:
            settings = settings.with_options(kwargs)  # a remote caller's kwargs: runtime settings only
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        with self._lock:
            warm = self._warm.pop(target, None)
        unity, engine, parameters, worker = warm if warm is not None else self._start(settings)
        if warm is not None:  # started by prepare with the operator's settings: add the caller's
            _queue_settings(settings, engine, parameters)
        return UnityBehaviourEnv(unity, settings.behaviour, on_close=lambda: release_worker(worker))

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> ParallelEnvs:
        """``num_envs`` builds, each its own process on its own worker id, stepped one after another."""
        return ParallelEnvs.made_by(lambda: self.make(target, **kwargs), num_envs)

    def close(self) -> None:
        """Stop builds that ``prepare`` started and no env took."""
        with self._lock:
            warm, self._warm = list(self._warm.values()), {}
        for unity, _engine, _parameters, worker in warm:
            stop(unity)
            release_worker(worker)

    @staticmethod
    def _start(settings: UnitySettings) -> tuple[Any, Any, Any, int]:
        worker = take_worker(settings.worker_id)
        try:
            unity, engine, parameters = open_unity(settings, worker)
        except BaseException:
            release_worker(worker)
            raise
        return unity, engine, parameters, worker


def _queue_settings(settings: UnitySettings, engine: Any, parameters: Any) -> None:
    engine.message_queue.clear()  # the operator's settings are part of ``settings`` already
    parameters.message_queue.clear()
    apply_side_channels(settings, engine, parameters)


@hookimpl
def register_env_adapters(register):
    register(UnityAdapter())
