"""Learning through dial-out hosts vs local hosts: the same curve, whatever the path.

Runs the real CLI twice with the same seed and budget:

- ``local``: ``agentgpt train --env gym:CartPole-v1`` (the default command: it starts
  its own env host process and drives it over HTTP);
- ``dialout``: ``agentgpt train --listen ws://127.0.0.1:PORT --min-hosts 2`` with two
  ``agentgpt launch --transport ws --connect ...`` processes offering 4 envs each;

then prints the training return at fixed step marks side by side, the wall-clock, and
each final policy's evaluation (``agentgpt eval --json``, 20 episodes).

    python benchmarks/learning/dialout_vs_local.py --steps 100000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_local(out: Path, steps: int, seed: int) -> float:
    started = time.perf_counter()
    subprocess.run(AGENTGPT + ["train", "--env", "gym:CartPole-v1", "--max-steps", str(steps), "--seed", str(seed),
                               "--out", str(out), "--no-progress", "--eval-episodes", "0"], check=True)
    return time.perf_counter() - started


def train_dialout(out: Path, steps: int, seed: int) -> float:
    listen = f"ws://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    trainer = subprocess.Popen(AGENTGPT + ["train", "--env", "CartPole-v1", "--listen", listen, "--min-hosts", "2",
                                           "--num-envs", "8", "--max-steps", str(steps), "--seed", str(seed),
                                           "--api-key", "bench", "--out", str(out), "--no-progress"])
    hosts = [subprocess.Popen(AGENTGPT + ["launch", "--transport", "ws", "--connect", listen, "--env", "gym:CartPole-v1",
                                          "--num-envs", "4", "--api-key", "bench"], stdout=subprocess.DEVNULL)
             for _ in range(2)]
    try:
        if trainer.wait() != 0:
            raise SystemExit("dial-out training failed")
    finally:
        for host in hosts:
            host.terminate()
            host.wait()
    return time.perf_counter() - started


def curve(run_dir: Path, marks: list[int]) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [next((r["episode_return"] for r in rows if r["global_step"] >= mark), rows[-1]["episode_return"]) for mark in marks]


def evaluate(run_dir: Path, seed: int) -> dict:
    output = subprocess.run(AGENTGPT + ["eval", "--policy", str(run_dir), "--env", "gym:CartPole-v1", "--episodes", "20",
                                        "--seed", str(seed), "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default="runs/bench-dialout")
    args = parser.parse_args()
    runs = Path(args.runs)
    marks = [args.steps * k // 10 for k in range(1, 11)]
    seconds = {"local": train_local(runs / "local", args.steps, args.seed),
               "dialout": train_dialout(runs / "dialout", args.steps, args.seed)}
    curves = {mode: curve(runs / mode, marks) for mode in seconds}
    evals = {mode: evaluate(runs / mode, 10_000) for mode in seconds}
    print("| env steps | local hosts (HTTP): train return | 2 dial-out hosts (WS): train return |")
    print("| ---: | ---: | ---: |")
    for i, mark in enumerate(marks):
        print(f"| {mark:,} | {curves['local'][i]:.1f} | {curves['dialout'][i]:.1f} |")
    for mode in seconds:
        print(f"- {mode}: {seconds[mode]:.0f} s wall-clock, final eval {evals[mode]['mean_return']:.1f} ± {evals[mode]['std_return']:.1f}")


if __name__ == "__main__":
    main()
