"""The commands a user runs: ``agentgpt launch --env unity:...`` (this venv) dialling out to
``agentgpt train --listen`` (the main venv's trainer, ``AGENTGPT_TRAINER_BIN``, as the Makefile
sets it; this venv's own agentgpt when unset), the embedded ``agentgpt train --env unity:...``,
and the start-up failures: one line, a non-zero exit, no player left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from unity_helpers import free_port, leftover_processes

HERE_BIN = Path(sys.executable).parent
AGENTGPT = str(HERE_BIN / "agentgpt")
TRAINER = os.environ.get("AGENTGPT_TRAINER_BIN") or AGENTGPT
SMALL = "rollout_steps = 64\nnum_epochs = 2\n"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the test run may have inherited an ignored SIGINT


def launch(spec: str, connect: str, num_envs: int, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [AGENTGPT, "launch", "--transport", "ws", "--connect", connect, "--num-envs", str(num_envs), "--env", spec],
        stdout=open(tmp_path / "host.out", "w"), stderr=open(tmp_path / "host.err", "w"),
        preexec_fn=_default_sigint, cwd=tmp_path,
    )


def stop_host(host: subprocess.Popen) -> int:
    host.send_signal(signal.SIGINT)
    try:
        return host.wait(timeout=30)
    finally:
        if host.poll() is None:
            host.kill()


@pytest.mark.timeout(280)
def test_a_dial_out_unity_host_trains_one_behaviour_under_train_listen(build, tmp_path):
    # the issue's own command, `launch --transport ws --connect ... --env unity:PATH`: no alias, no
    # behaviour named (the double has two: the first by name, Seeker, is served); the settings after
    # `?` keep this test on its own ports and log folder
    port, base = free_port(), free_port(2)
    target = f"{build}?base_port={base}&time_scale=20&log_folder={tmp_path}"
    (tmp_path / "small.toml").write_text(SMALL)
    trainer = subprocess.Popen(
        [TRAINER, "train", "--listen", f"ws://127.0.0.1:{port}", "--env", target, "--num-envs", "2",
         "--agent-rows", "4", "--max-steps", "4000", "--config", str(tmp_path / "small.toml"),
         "--out", str(tmp_path / "run"), "--no-progress", "--eval-episodes", "0", "--wait-timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
        env={**os.environ, "AGENTGPT_LOAD_PLUGINS": "http,ws"},
    )
    time.sleep(1.0)
    host = launch(f"unity:{target}", f"ws://127.0.0.1:{port}", 2, tmp_path)
    try:
        out, err = trainer.communicate(timeout=240)
    finally:
        if trainer.poll() is None:
            trainer.kill()
        code = stop_host(host)
    assert trainer.returncode == 0, err[-3000:]
    host_err = (tmp_path / "host.err").read_text()
    assert "trained" in out and code == 0, host_err[-2000:]
    assert "serving 'Seeker?team=0' (not 'Walker?team=0')" in host_err
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["global_step"] >= 2000 and rows[-1]["episodes"] > 100
    # 2 builds x 4 rows: 2 seekers per round, a third joins, the first leaves, so 2-3 of 4 rows live per build
    assert all(4.0 <= r["alive_rows"] <= 6.0 for r in rows), [r["alive_rows"] for r in rows]
    for worker in (0, 1):  # each build got the engine setting through its side channel, then closed
        log = (tmp_path / f"Player-{worker}.log").read_text()
        assert "time_scale=20.0" in log and log.rstrip().endswith("closed")
    assert leftover_processes(str(tmp_path)) == []


@pytest.mark.timeout(200)
def test_rows_hold_one_unity_agent_each_for_the_life_of_its_slot(build, tmp_path):
    from agentgpt_core.remote import RemoteVectorEnv

    port, base = free_port(), free_port(2)
    with ThreadPoolExecutor(1) as waiting:  # the gateway listens (and waits) while the host dials in
        pool = waiting.submit(RemoteVectorEnv.from_hosts, f"ws://127.0.0.1:{port}", "seeker", 2, agent_rows=4, wait_timeout=60)
        time.sleep(0.5)
        host = launch(f"seeker=unity:{build}?behaviour=Seeker&base_port={base}", f"ws://127.0.0.1:{port}", 2, tmp_path)
        envs = pool.result(timeout=90)
    try:
        _, infos = envs.reset(seed=0)
        held: dict[tuple[int, int], set[int]] = {}  # (build, Unity agent id) -> rows it was seen in
        runs: list[list[int | None]] = [[] for _ in range(8)]
        for _ in range(60):
            for row, agent in enumerate(infos["agent_id"]):
                if agent is not None and infos["alive"][row]:
                    held.setdefault((row // 4, agent), set()).add(row)
                    if not runs[row] or runs[row][-1] != agent:
                        runs[row].append(agent)
            _, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
    finally:
        envs.close()
        stop_host(host)
    assert all(isinstance(a, int) and a >= 17 for _, a in held)  # Unity's ids, not 0..n-1
    assert all(len(rows) == 1 for rows in held.values()), held  # an agent never moves to another row
    for row_runs in runs:  # a row passes from one agent to the next, never back
        assert len(row_runs) == len(set(row_runs)), runs
    # rows 0-1 of each build: the round's first seekers; row 2: the one that joins; row 3: never used
    assert runs[3] == [] and runs[7] == [] and runs[2] and runs[6]
    assert len(runs[0]) >= 3  # 60 steps = 2+ rounds: a new seeker takes the freed row each round
    assert leftover_processes(str(tmp_path)) == []


@pytest.mark.timeout(200)
def test_embedded_train_hosts_the_build_itself(build, tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    done = subprocess.run(
        [AGENTGPT, "train", "--env", f"unity:{build}?behaviour=Seeker&base_port={free_port()}", "--num-envs", "1",
         "--agent-rows", "4", "--max-steps", "600", "--config", str(tmp_path / "small.toml"),
         "--out", str(tmp_path / "run"), "--no-progress", "--eval-episodes", "0"],
        capture_output=True, text=True, timeout=180, preexec_fn=_default_sigint,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained" in done.stdout
    assert leftover_processes(str(tmp_path)) == []


# -- start-up failures --------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("case", ["missing", "exits", "port", "silent", "behaviour"])
def test_launch_stops_with_one_line_and_leaves_no_process(case, build, tmp_path):
    import socket

    port = free_port()
    holder = None
    if case == "missing":
        spec, expect = f"unity:{tmp_path}/Nothing", "not found"
    elif case == "exits":
        spec, expect = f"unity:{_script(tmp_path / 'Crash', 'exit 7')}?base_port={port}", "exited with code 7 before it connected"
    elif case == "port":
        holder = socket.socket()
        holder.bind(("127.0.0.1", port))
        holder.listen()
        spec, expect = f"unity:{build}?base_port={port}", f"port {port} (base port + worker id 0) is in use"
    elif case == "silent":
        spec, expect = f"unity:{_script(tmp_path / 'Silent', 'exec sleep 600')}?base_port={port}&timeout=2", "did not connect within 2 s"
    else:
        spec, expect = f"unity:{build}?base_port={port}&behaviour=Runner", "'Runner' is not one of the build's behaviours"
    try:
        done = subprocess.run([AGENTGPT, "launch", "--transport", "ws", "--connect", "ws://127.0.0.1:9", "--env", spec],
                              capture_output=True, text=True, timeout=60, preexec_fn=_default_sigint)
    finally:
        if holder is not None:
            holder.close()
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expect in lines[0], done.stderr
    assert leftover_processes(str(tmp_path)) == []

