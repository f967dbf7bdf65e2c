"""How a job reaches env hosts, run here through the image's entrypoint: listening hosts
(``hosts`` = their URLs), and dial-out hosts connecting to a gateway the job opens behind a
tunnel (``listen`` + ``tunnel``; the ``memory`` tunnel stands in for ngrok, same code path)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from agentgpt_core.testing import free_port, read_agentgpt_url, stop_process
from test_container import ENTRYPOINT, TINY, _layout

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]


def _start(command: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _url(process: subprocess.Popen) -> str:
    return read_agentgpt_url(process)


def _stop(process: subprocess.Popen) -> None:
    stop_process(process, signal.SIGINT, timeout=15)


@pytest.mark.timeout(240)
def test_the_job_trains_on_listening_hosts_given_by_url(tmp_path):
    host = _start([*AGENTGPT, "launch", "--transport", "http", "--env", "gym:CartPole-v1", "--port", "0", "--api-key", "k"])
    try:
        url = _url(host)
        base = _layout(tmp_path, {**TINY, "env": "CartPole-v1", "hosts": url})
        job = subprocess.run([*ENTRYPOINT, "train"], env={**os.environ, "AGENTGPT_SAGEMAKER_ROOT": str(base), "AGENTGPT_API_KEY": "k"},
                             capture_output=True, text=True, timeout=200)
    finally:
        _stop(host)
    assert job.returncode == 0, job.stdout + job.stderr
    assert (base / "model" / "checkpoint.pt").exists() and "global_step=256" in job.stdout


@pytest.mark.timeout(240)
def test_dial_out_hosts_reach_the_job_through_the_tunnel_it_opens(tmp_path):
    listen = f"ws://127.0.0.1:{free_port()}"
    base = _layout(tmp_path, {**TINY, "env": "CartPole-v1", "listen": listen, "tunnel": "memory", "min_hosts": "1", "wait_timeout": "120"})
    job = _start([*ENTRYPOINT, "train"], AGENTGPT_SAGEMAKER_ROOT=str(base), AGENTGPT_API_KEY="k")
    host = None
    try:
        public = _url(job)  # what `agentgpt jobs logs` shows the user on SageMaker
        assert public == listen
        host = _start([*AGENTGPT, "launch", "--transport", "ws", "--connect", public, "--env", "gym:CartPole-v1",
                       "--num-envs", "2", "--api-key", "k"])
        output, _ = job.communicate(timeout=200)
    finally:
        if host is not None:
            _stop(host)
        _stop(job)
    assert job.returncode == 0, output
    assert (base / "model" / "checkpoint.pt").exists() and "global_step=256" in output
