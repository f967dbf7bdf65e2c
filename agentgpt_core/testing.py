"""Helpers for plugin authors' tests (imported by tests only; needs no pytest itself)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from click.testing import CliRunner, Result


@contextmanager
def in_process_cli() -> Iterator[Callable[..., Result]]:
    """``run(*args)`` runs ``agentgpt ARGS`` in this process: the real click group with the
    commands of the plugins ``AGENTGPT_LOAD_PLUGINS`` allows (set it first), loaded afresh."""
    from agentgpt_core.cli import cli
    from agentgpt_core.plugins import get_plugin_manager, reset_plugin_manager

    reset_plugin_manager()
    get_plugin_manager().add_commands(cli)
    runner = CliRunner()
    try:
        yield lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        reset_plugin_manager()


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (an ephemeral port); yields its URL. The most faithful
    stand-in for AWS here: the plugin's own boto3 clients reach it through ``AWS_ENDPOINT_URL``."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def moto_api(moto_url: str, path: str, method: str = "POST") -> bytes:
    """Call moto's own API (``reset``, ``recorder/...``)."""
    import urllib.request

    request = urllib.request.Request(f"{moto_url}/moto-api/{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read()


def point_aws_at_moto(monkeypatch, moto_url: str, scratch: Path, region: str) -> None:
    """Reset moto's state and point every boto3 client of this test at it, with fake credentials and
    no profile, config file or instance metadata of the machine's own leaking in."""
    moto_api(moto_url, "reset")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(scratch / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(scratch / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server a test starts itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_agentgpt_url(process: subprocess.Popen, timeout: float = 60) -> str:
    """The URL of the ``AGENTGPT_URL=...`` line a ``launch``/``train``/``serve`` process prints
    on stdout (text mode); an AssertionError with everything it printed when none comes."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("AGENTGPT_URL="):
            return line.strip().split("=", 1)[1]
    raise AssertionError("no AGENTGPT_URL line: " + "".join(seen))


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Send ``sig`` to a still-running process, wait ``timeout`` seconds, then kill it; always reaped."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
