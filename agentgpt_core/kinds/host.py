"""Host plugin kind: runs env hosts somewhere (processes here, Docker, EC2...)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable

from .lifecycle import Closing


class HostError(Exception):
    """A host could not be started or stopped; its message is one line for the user."""


class Host(Closing):
    """Starts env hosts serving ``env_specs`` and says where to reach each; ``close()`` stops them all.

    ``detached`` hosts (cloud machines) outlive the process that launched them: ``agentgpt
    launch --on NAME`` returns once they are up instead of waiting for Ctrl-C, and the
    plugin offers its own way to stop them later.
    """

    name: str
    detached: bool = False

    @abstractmethod
    def launch(self, env_specs: list[str], **options: Any) -> str:
        """Start a host serving the specs; return its URL. Options: ``transport`` (a transport name), ``api_key``."""

    def launch_many(self, env_specs: list[str], count: int, *, log: Callable[[str], None] | None = None,
                    **options: Any) -> list[str]:
        """Start ``count`` hosts; their URLs. ``log`` receives progress lines (a plugin that has
        some). A plugin that starts them together overrides this."""
        return [self.launch(env_specs, **options) for _ in range(count)]

    def launch_run(self, env_specs: list[str], *, instances: int = 1, log: Callable[[str], None] | None = None,
                   **options: Any) -> Any:
        """One launch as an object with ``urls``, ``stop()`` and a context manager (what
        ``EnvLauncher.launch_on_cloud`` returns). This default wraps ``launch_many`` and stops
        everything the plugin started; a plugin whose launches are separate (one cloud run
        each) returns its own run object, as the ec2 plugin does."""
        return HostRun(self.launch_many(env_specs, instances, log=log, **options), self.terminate)

    @abstractmethod
    def terminate(self) -> None:
        """Stop everything ``launch`` started; idempotent."""

    def close(self) -> None:
        self.terminate()


class HostRun(Closing):
    """The hosts one ``launch_run`` started: ``urls``, and ``stop()`` (idempotent; also on leaving ``with``)."""

    def __init__(self, urls: list[str], stop: Callable[[], None]) -> None:
        self.urls = list(urls)
        self._stop: Callable[[], None] | None = stop

    def stop(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def close(self) -> None:
        self.stop()
