"""Fixtures: moto in server mode on 127.0.0.1 (boto3 reaches it through ``AWS_ENDPOINT_URL``,
so the plugin's own clients and calls are the ones that run), fake credentials, a fresh
AWS state per test, and ``docker`` shims on PATH."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import boto3
import pytest
from agentgpt_core.testing import in_process_cli, moto_server, point_aws_at_moto


REGION = "us-east-1"
HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # --import-mode=importlib: let the tests import ec2_helpers
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_url, monkeypatch, tmp_path):
    """Env for a test against moto; returns a boto3 session on it. State is reset first."""
    point_aws_at_moto(monkeypatch, moto_url, tmp_path, REGION)
    monkeypatch.setenv("AGENTGPT_HOME", str(tmp_path / "agentgpt-home"))
    return boto3.session.Session(region_name=REGION)


def _shim(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "docker"
    path.write_text(f"#!{sys.executable}\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return directory


@pytest.fixture
def docker_log(tmp_path, monkeypatch):
    """A ``docker`` that answers like an engine and records each call (args, stdin) as one JSON line."""
    log = tmp_path / "docker-calls.jsonl"
    shim = _shim(tmp_path / "docker-ok", f"""
import json, sys
stdin = sys.stdin.read() if "--password-stdin" in sys.argv else None
with open({str(log)!r}, "a") as f:
    f.write(json.dumps({{"args": sys.argv[1:], "stdin": stdin}}) + "\\n")
print("27.0.0" if sys.argv[1:2] == ["info"] else "ok")
""")
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.fixture
def no_docker_engine(tmp_path, monkeypatch):
    """A ``docker`` client with no engine behind it (what this machine most likely has)."""
    shim = _shim(tmp_path / "docker-down", """
import sys
sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\\n")
sys.exit(1)
""")
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def agentgpt(monkeypatch):
    """Run ``agentgpt ARGS`` in-process (the real click group with this plugin's commands)."""
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "ws,http,ec2")
    with in_process_cli() as run:
        yield run
