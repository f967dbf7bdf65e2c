"""``agentgpt train`` end to end, as separate processes: dial-out hosts, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgpt_core.testing import free_port, stop_process

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]


def metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def start(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(AGENTGPT + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kwargs)


def stop(process: subprocess.Popen) -> None:
    stop_process(process)


@pytest.mark.timeout(240)
def test_training_through_two_dial_out_hosts_learns(tmp_path):
    port = free_port()
    listen = f"ws://127.0.0.1:{port}"
    trainer = start(["train", "--env", "CartPole-v1", "--listen", listen, "--min-hosts", "2", "--num-envs", "8",
                     "--max-steps", "20480", "--api-key", "k", "--out", str(tmp_path), "--no-progress", "--wait-timeout", "120"])
    hosts = [
        start(["launch", "--transport", "ws", "--connect", listen, "--env", "gym:CartPole-v1", "--num-envs", "4", "--api-key", "k"])
        for _ in range(2)
    ]
    try:
        output, _ = trainer.communicate(timeout=220)
    finally:
        for host in hosts:
            stop(host)
        stop(trainer)
    assert trainer.returncode == 0, output
    rows = metrics(tmp_path)
    assert rows[-1]["global_step"] == 20480
    # Random play scores ~22; the same budget on local hosts ends near 150-250.
    assert rows[-1]["episode_return"] > 80, [round(r["episode_return"], 1) for r in rows]


@pytest.mark.timeout(240)
def test_a_killed_trainer_resumes_from_its_last_checkpoint(tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("checkpoint_every = 1\nrollout_steps = 32\nnum_envs = 4\n")
    run = tmp_path / "run"
    args = ["train", "--env", "gym:CartPole-v1", "--config", str(config), "--max-steps", "3072", "--out", str(run),
            "--no-progress", "--eval-episodes", "0"]
    first = start(args, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(metrics(run)) < 3:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the trainer and its env host, mid-run, without warning
    first.wait()
    killed_at = len(metrics(run))
    assert 3 <= killed_at < 24, "the first run should have been killed mid-way"

    second = start([*args, "--resume"])
    output, _ = second.communicate(timeout=180)
    assert second.returncode == 0, output
    updates = [row["update"] for row in metrics(run)]
    resumed_from = updates[killed_at]
    assert resumed_from in (killed_at, killed_at + 1)  # from the last checkpoint, not from scratch
    assert updates[-1] == 24 and metrics(run)[-1]["global_step"] == 3072


@pytest.mark.timeout(180)
def test_train_then_eval_json_and_plot_from_the_command_line(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text("num_envs: 2\nrollout_steps: 32\nd_model: 16\n")
    run = tmp_path / "run"
    trained = subprocess.run(AGENTGPT + ["train", "--env", "gym:CartPole-v1", "--config", str(config), "--max-steps", "128",
                                         "--out", str(run), "--no-progress", "--eval-episodes", "2"],
                             capture_output=True, text=True, timeout=150)
    assert trained.returncode == 0, trained.stderr
    assert "trained 128 env steps" in trained.stdout and "final policy over 2 episodes" in trained.stdout
    curve = Path(trained.stdout.split("learning curve: ")[1].strip())  # the main job plots for the user
    assert curve == run / "learning_curve.png" and curve.read_bytes()[:4] == b"\x89PNG"

    evaluated = subprocess.run(AGENTGPT + ["eval", "--policy", str(run), "--env", "gym:CartPole-v1", "--episodes", "3", "--json"],
                               capture_output=True, text=True, timeout=60)
    report = json.loads(evaluated.stdout)
    assert set(report) == {"mean_return", "std_return", "episodes"} and report["episodes"] == 3
    assert 8 <= report["mean_return"] <= 500

    plotted = subprocess.run(AGENTGPT + ["plot", str(run)], capture_output=True, text=True, timeout=60)
    assert Path(plotted.stdout.strip()).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.timeout(240)
def test_listen_trains_on_the_configured_rows_as_hosts_arrive(tmp_path):
    """num_envs = 8 from the hyperparameters: one 4-env host trains on 4 real rows and 4 filler
    rows; a second takes the free rows (8 real rows from then on); a third waits as a spare."""
    config = tmp_path / "tiny.yaml"
    config.write_text("num_envs: 8\nrollout_steps: 16\nd_model: 16\nmax_input_states: 4\n")
    run, listen = tmp_path / "run", f"ws://127.0.0.1:{free_port()}"
    trainer = start(["train", "--env", "CartPole-v1", "--listen", listen, "--min-hosts", "1", "--config", str(config),
                     "--max-steps", "19200", "--api-key", "k", "--out", str(run), "--no-progress", "--wait-timeout", "120"])
    launch = ["launch", "--transport", "ws", "--connect", listen, "--env", "gym:CartPole-v1", "--num-envs", "4", "--api-key", "k"]
    hosts = [start(launch)]
    try:
        deadline = time.monotonic() + 120
        while not metrics(run) and time.monotonic() < deadline:  # training has begun with the first host alone
            time.sleep(0.2)
        hosts += [start(launch), start(launch)]
        output, _ = trainer.communicate(timeout=200)
    finally:
        for host in hosts:
            stop(host)
        stop(trainer)
    assert trainer.returncode == 0, output
    alive = [row["alive_rows"] for row in metrics(run)]
    assert alive[0] == 4  # rows 4..7 are filler until a second host takes them
    both = alive.index(8)  # the first update with both hosts present...
    assert all(count == 8 for count in alive[both + 1 :])  # ...and every one after it trains on all 8 rows
    joined = [line.split("joined with slots ")[1].strip() for line in output.splitlines() if "joined with slots" in line]
    assert sorted(joined) == ["0..3", "4..7"], output
    assert "waits as a spare" in output
