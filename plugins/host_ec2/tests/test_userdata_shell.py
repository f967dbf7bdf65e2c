"""The generated user-data script, run by bash here with the image pull replaced by the local
host install: a ``docker`` shim on PATH runs the container's command (``agentgpt launch
...``) as a local process, and an ``aws`` shim answers the SSM read. The host it starts must
register with a local gateway, and the script must say so on the "console"."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgpt_host_ec2.userdata import REGISTERED, HostCommand, render
from agentgpt_transport_ws import WsGateway

KEY = "user-data-key"

DOCKER_SHIM = f"""#!{sys.executable}
import os, subprocess, sys
state = os.environ["SHIM_STATE"]
args = sys.argv[1:]
if args[0] in ("pull", "login"):
    sys.exit(0)
if args[0] == "run":
    rest, name, env = args[1:], "container", dict(os.environ)
    while rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag == "-d":
            continue
        value = rest.pop(0)
        if flag == "--name":
            name = value
        elif flag == "-e" and "=" in value:
            env[value.split("=", 1)[0]] = value.split("=", 1)[1]
    image, command = rest[0], rest[1:]  # the image's ENTRYPOINT is `agentgpt launch`
    log = open(os.path.join(state, name + ".log"), "w")
    process = subprocess.Popen([{sys.executable!r}, "-m", "agentgpt_core", "launch", *command], stdout=log,
                               stderr=subprocess.STDOUT, env=env, start_new_session=True)
    open(os.path.join(state, name + ".pid"), "w").write(str(process.pid))
    print("shim-" + name)
    sys.exit(0)
if args[0] == "logs":
    path = os.path.join(state, args[-1] + ".log")
    sys.stdout.write(open(path).read() if os.path.exists(path) else "")
    sys.exit(0)
sys.exit("docker shim: unexpected " + " ".join(args))
"""

AWS_SHIM = f"""#!/bin/sh
# aws shim: only the SSM read of the key is expected
case "$*" in *"ssm get-parameter"*"--with-decryption"*) echo "{KEY}";; *) echo "aws shim: unexpected $*" >&2; exit 1;; esac
"""


def shim(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def stop_group(pid: int, timeout: float = 10.0) -> None:
    """Stop the host the shim started (its own session), SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.parametrize("key_from", ["ssm", "user-data"])
def test_user_data_starts_a_dial_out_host_that_registers_with_a_local_gateway(tmp_path, key_from):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    shim(bin_dir, "docker", DOCKER_SHIM)
    shim(bin_dir, "aws", AWS_SHIM)
    console = tmp_path / "console"
    with WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=10.0) as gateway:
        command = HostCommand(["gym:CartPole-v1"], connect=gateway.url, num_envs=3)
        key = {"ssm_parameter": "/agentgpt/runs/r1/api-key"} if key_from == "ssm" else {"api_key": KEY}
        script = tmp_path / "user-data.sh"
        script.write_text(render("agentgpt-env-host:local", command, region="us-east-1", run_id="r1", wait_seconds=120, **key))
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SHIM_STATE=str(state), AGENTGPT_CONSOLE=str(console))
        try:
            finished = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=180)
            assert finished.returncode == 0, finished.stdout + finished.stderr
            assert REGISTERED in console.read_text()
            assert gateway.wait_for_hosts(1, timeout=30)
            (link,) = gateway.hosts()
            assert link.capacity == 3 and "CartPole-v1" in link.envs
            assert KEY not in finished.stdout + finished.stderr + console.read_text()
        finally:
            pid_file = state / "agentgpt-host.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text())
                stop_group(pid)
    launched = (state / "agentgpt-host.log").read_text()
    assert "AGENTGPT_URL=" in launched and KEY not in launched
