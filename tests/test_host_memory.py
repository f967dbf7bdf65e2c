"""Issue 16, item 4: a host that refuses oversized actions frees them at once.

Runs benchmarks/oversized_actions.py against a real ``agentgpt launch`` process per
transport: 50 steps whose action is a 15 MB array (CartPole wants one integer), and
the host's RSS must stay within 200 MB of where it started. Before the fix the HTTP
host kept each refused request alive until a full GC pass (1.7 GB after 16 JSON ones).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "oversized_actions.py"


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_fifty_refused_15_mb_actions_keep_the_host_within_200_mb(transport):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--transport", transport, "--codec", "msgpack", "--requests", "50", "--max-growth-mb", "200"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["refused"] == 50 and report["valid_step_after"], report
    assert report["growth_mb"] < 200, report
    assert done.returncode == 0, report
