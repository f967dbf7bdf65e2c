"""``agentgpt train`` on a PettingZoo env: one shared policy, every live agent a row, dead agents masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pettingzoo")

ROOT = Path(__file__).resolve().parents[1]
POLES = "poles=pettingzoo:tests.envs_multiagent:multi_cartpole"


@pytest.mark.timeout(280)
def test_four_agents_each_balancing_a_cartpole_learn_through_agentgpt_train(tmp_path):
    # 4 envs x 4 agents = 16 rows; agents fall at different times, and a fallen agent's row
    # stays masked until its env's episode ends. Random play scores about 22 per agent.
    config = tmp_path / "small.toml"
    config.write_text("rollout_steps = 64\nnum_epochs = 4\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "agentgpt_core", "train", "--env", POLES, "--num-envs", "4", "--max-steps", "32768",
         "--config", str(config), "--out", str(tmp_path / "run"), "--no-progress", "--seed", "1"],
        capture_output=True, text=True, timeout=260, env=env, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    returns = [round(r["episode_return"], 1) for r in rows]
    # only live rows count (issue 16, item 8): the run stops at the first update past the budget
    assert 32768 <= rows[-1]["global_step"] < 32768 + 64 * 16
    assert rows[-1]["episode_return"] > 100, returns  # seed 1 reaches ~200 (the cap) in ~25 s
