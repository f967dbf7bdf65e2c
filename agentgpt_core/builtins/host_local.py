"""The ``local`` host: env hosts as ``agentgpt launch`` processes on this machine.

It is what ``agentgpt train`` uses when given no hosts, and the simplest example of
the Host kind: cloud hosts (EC2, Docker) do the same with a machine instead of a
process. Each host is a separate process on 127.0.0.1 (simulators and trainer don't
share a GIL), reached over a real transport: the embedded default is the
distributed path in miniature, not a shortcut around it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

from ..hookspecs import hookimpl
from ..kinds import Host

URL_PREFIX = "AGENTGPT_URL="


class HostProcess:
    """One ``agentgpt launch`` child process serving envs on loopback."""

    def __init__(self, env_specs: list[str], *, transport: str = "http", api_key: str | None = None, start_timeout: float = 60.0):
        command = [sys.executable, "-m", "agentgpt_core", "launch", "--transport", transport, "--host", "127.0.0.1", "--port", "0"]
        for spec in env_specs:
            command += ["--env", spec]
        env = dict(os.environ)
        if api_key:
            env["AGENTGPT_API_KEY"] = api_key
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.url = self._read_url(start_timeout)

    def _read_url(self, timeout: float) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                if line.startswith(URL_PREFIX):
                    found.append(line[len(URL_PREFIX):].strip())
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.stop()
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"env host did not start within {timeout:.0f}s: {stderr.strip()[-2000:]}")
        return found[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
