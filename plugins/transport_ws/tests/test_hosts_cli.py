"""``agentgpt hosts``: a gateway that shows the dial-out hosts connected to it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentgpt_core.testing import free_port

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]


@pytest.mark.timeout(90)
def test_hosts_lists_a_dial_out_host_with_its_envs():
    listen = f"ws://127.0.0.1:{free_port()}"
    watcher = subprocess.Popen(AGENTGPT + ["hosts", "--listen", listen, "--api-key", "k", "--json", "--watch", "0.5", "--count", "16"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    host = subprocess.Popen(AGENTGPT + ["launch", "--transport", "ws", "--connect", listen, "--env", "gym:CartPole-v1",
                                        "--num-envs", "3", "--api-key", "k"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = []
        assert watcher.stdout is not None
        for line in watcher.stdout:
            snapshot = json.loads(line)
            assert snapshot["url"] == listen
            seen = snapshot["hosts"]
            if seen:
                break
    finally:
        host.terminate()
        watcher.terminate()
        host.wait(10)
        watcher.wait(10)
    assert len(seen) == 1, "the host never showed up"
    assert seen[0]["envs"] == ["CartPole-v1"] and seen[0]["capacity"] == 3 and seen[0]["error"] is None
    assert seen[0]["address"].startswith("127.0.0.1:")
