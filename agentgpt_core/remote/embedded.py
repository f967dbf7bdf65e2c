"""Env hosts on this machine, started through the same code path as remote ones.

``agentgpt train`` with no host flags uses this: each host is a separate
``agentgpt launch`` process on 127.0.0.1 (so simulators and trainer don't share a
GIL), reached over a real transport. The embedded default is the distributed path
in miniature, not a shortcut around it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

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


@contextmanager
def local_hosts(env_specs: list[str], count: int = 1, *, transport: str = "http", api_key: str | None = None) -> Iterator[list[str]]:
    """Start ``count`` host processes serving ``env_specs``; yield their URLs; stop them after."""
    from ..builtins.host_local import LocalHost

    with LocalHost() as hosts:
        yield [hosts.launch(env_specs, transport=transport, api_key=api_key) for _ in range(count)]
