"""The ``local`` host: env hosts as ``agentgpt launch`` processes on this machine.

It is what ``agentgpt train`` uses when given no hosts, and the simplest example of
the Host kind: cloud hosts (EC2, Docker) do the same with a machine instead of a process.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from ..kinds import Host
from ..remote.embedded import HostProcess


class LocalHost(Host):
    """Starts one loopback ``agentgpt launch`` process per ``launch`` call."""

    name = "local"

    def __init__(self) -> None:
        self.processes: list[HostProcess] = []

    def launch(self, env_specs: list[str], **options: Any) -> str:
        """Start a host serving ``env_specs``; options: ``transport`` (default http), ``api_key``."""
        process = HostProcess(env_specs, transport=options.get("transport", "http"), api_key=options.get("api_key"))
        self.processes.append(process)
        return process.url

    def terminate(self) -> None:
        while self.processes:
            self.processes.pop().stop()


@hookimpl
def register_hosts(register):
    register(LocalHost())
