"""The README's main job, over many seeds: does the final policy of the default command solve CartPole?

For each seed it runs the real CLI exactly as ``make run`` does, only with ``--seed`` and
``--out`` added (and ``--no-progress``):

- ``local``: ``agentgpt train --env gym:CartPole-v1`` (the embedded default: the trainer
  starts its own ``agentgpt launch`` host process and drives it over HTTP);
- ``dialout``: ``agentgpt train --listen ws://127.0.0.1:PORT --min-hosts 2`` with two
  ``agentgpt launch --transport ws --connect ...`` processes offering 4 envs each (the
  hyperparameters' ``num_envs = 8`` rows, no ``--num-envs`` given);

then evaluates each final policy with ``agentgpt eval --json`` (20 deterministic episodes,
envs seeded 10000...) and prints a markdown table: per seed, the final evaluation, the
training return at the end, and the wall-clock; then mean ± std and how many seeds reached
the target.

    python benchmarks/learning/main_job.py --seeds 1,2,3,4,5,6,7,8,9,10 --modes local
    python benchmarks/learning/main_job.py --seeds 1,2,3 --modes local,dialout
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]
ENV = "gym:CartPole-v1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_local(out: Path, steps: int, seed: int) -> float:
    started = time.perf_counter()
    subprocess.run(AGENTGPT + ["train", "--env", ENV, "--max-steps", str(steps), "--seed", str(seed),
                               "--out", str(out), "--no-progress", "--eval-episodes", "0"], check=True)  # fmt: skip
    return time.perf_counter() - started


def train_dialout(out: Path, steps: int, seed: int) -> float:
    listen = f"ws://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    trainer = subprocess.Popen(AGENTGPT + ["train", "--env", "CartPole-v1", "--listen", listen, "--min-hosts", "2",
                                           "--max-steps", str(steps), "--seed", str(seed),
                                           "--api-key", "bench", "--out", str(out), "--no-progress"])  # fmt: skip
    hosts = [subprocess.Popen(AGENTGPT + ["launch", "--transport", "ws", "--connect", listen, "--env", ENV,
                                          "--num-envs", "4", "--api-key", "bench"], stdout=subprocess.DEVNULL)
             for _ in range(2)]  # fmt: skip
    try:
        if trainer.wait() != 0:
            raise SystemExit("dial-out training failed")
    finally:
        for host in hosts:
            host.terminate()
            host.wait()
    return time.perf_counter() - started


def last_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])


def evaluate(run_dir: Path) -> dict:
    output = subprocess.run(AGENTGPT + ["eval", "--policy", str(run_dir), "--env", ENV, "--episodes", "20",
                                        "--seed", "10000", "--json"], check=True, capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8,9,10")
    parser.add_argument("--modes", default="local", help="comma-separated: local, dialout")
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument("--runs", default="runs/bench-main-job")
    parser.add_argument("--out", default="benchmarks/learning/results")
    args = parser.parse_args()
    trainers = {"local": train_local, "dialout": train_dialout}
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for mode in args.modes.split(","):
            run_dir = Path(args.runs) / f"{mode}-s{seed}"
            seconds = trainers[mode](run_dir, args.steps, seed)
            report = evaluate(run_dir)
            metrics = last_metrics(run_dir)
            rows.append({"mode": mode, "seed": seed, "seconds": round(seconds, 1), "final_mean_return": report["mean_return"],
                         "final_std_return": report["std_return"], "train_return_at_end": metrics["episode_return"],
                         "global_step": metrics["global_step"]})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)

    lines = ["| mode | seed | final eval (20 ep.) | training return at end | env steps | wall s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        for r in mine:
            lines.append(f"| {mode} | {r['seed']} | {r['final_mean_return']:.1f} ± {r['final_std_return']:.1f} "
                         f"| {r['train_return_at_end']:.1f} | {r['global_step']:,} | {r['seconds']:.0f} |")  # fmt: skip
        finals = [r["final_mean_return"] for r in mine]
        lines.append(f"| **{mode}** | {sum(f >= args.target for f in finals)}/{len(mine)} ≥ {args.target:g} "
                     f"| {np.mean(finals):.1f} ± {np.std(finals):.1f} (min {min(finals):.1f}) | | | "
                     f"{np.mean([r['seconds'] for r in mine]):.0f} |")  # fmt: skip
    table = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"main-job-{args.modes.replace(',', '_')}-seeds{args.seeds.replace(',', '_')}"
    (out / f"{stem}.json").write_text(json.dumps(rows, indent=2))
    (out / f"{stem}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
