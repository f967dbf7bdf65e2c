"""Helpers the unity tests share: free ports, leftover processes, how to run agentgpt here."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def free_port(span: int = 1) -> int:
    """A port with ``span`` free ports from it on (a base port for ``span`` worker ids)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + span < 65000 and all(_free(port + i) for i in range(1, span)):
            return port
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def leftover_processes(marker: str, wait_s: float = 5.0) -> list[str]:
    """Command lines of live (not zombie) processes that mention ``marker``, after up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and state != "Z":
                found.append(f"{pid}: {cmdline}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
