"""Learning benchmark: mpe2's simple_spread (N=3) with ``agentgpt train`` beside SB3 PPO with parameter sharing.

Both learners get the same budget of **agent steps** (one agent acting once is one step;
simple_spread keeps all 3 agents for all 25 steps of an episode) and one shared policy
for the 3 agents:

- AgentGPT: ``agentgpt train --env pettingzoo:mpe2.simple_spread_v3`` as a user runs it
  (a local env host process over HTTP, 8 envs x 3 agent rows, the default hyperparameters);
- the baseline: Stable-Baselines3 PPO (MlpPolicy) on SuperSuit's
  ``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1`` (8 envs x 3 agents = 24 rows),
  the standard parameter-sharing recipe, with ``VecMonitor`` counting per-agent returns;
- random actions, for scale.

The figure compared is the training-time mean **per-agent** episode return of the last 20
agent-episodes (both learners' stochastic policies, measured the same way), as a curve
over agent steps and at the end of the budget. Higher (less negative) is better.

    PYTHONPATH=. .venv/bin/python benchmarks/multiagent/spread.py --steps 150000 --seeds 1 \
        --out benchmarks/multiagent/results
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

ENV = "pettingzoo:mpe2.simple_spread_v3"
WINDOW = 20  # agent-episodes averaged, as the trainer's metrics do
SMOOTH = 10  # curve points in the plot's running mean
TAIL = 0.1  # the summary's "end of budget" figure: the mean of the curve over its last 10% of steps
ROOT = Path(__file__).resolve().parents[2]


def make_spread():
    from mpe2 import simple_spread_v3

    return simple_spread_v3.parallel_env(N=3, max_cycles=25, continuous_actions=False)


def random_return(episodes: int = 50, seed: int = 0) -> float:
    env, rng, totals = make_spread(), np.random.default_rng(seed), []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        returns = dict.fromkeys(env.agents, 0.0)
        while env.agents:
            _, rewards, *_ = env.step({a: int(rng.integers(5)) for a in env.agents})
            for agent, reward in rewards.items():
                returns[agent] += reward
        totals.extend(returns.values())
    return float(np.mean(totals))


def run_agentgpt(steps: int, seed: int, out: Path) -> dict:
    run = out / f"agentgpt-seed{seed}"
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "agentgpt_core", "train", "--env", ENV, "--num-envs", "8", "--max-steps", str(steps),
               "--seed", str(seed), "--out", str(run), "--no-progress"]  # fmt: skip
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    curve = [(r["global_step"], r["episode_return"]) for r in rows]
    return {"curve": curve, "final": curve[-1][1], "seconds": round(time.perf_counter() - started, 1),
            "command": " ".join(["agentgpt", *command[3:]])}  # fmt: skip


def run_sb3(steps: int, seed: int) -> dict:
    import supersuit as ss
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.utils import set_random_seed
    from stable_baselines3.common.vec_env import VecMonitor

    torch.set_num_threads(1)
    venv = ss.pettingzoo_env_to_vec_env_v1(make_spread())
    venv = ss.concat_vec_envs_v1(venv, 8, num_cpus=0, base_class="stable_baselines3")
    venv = VecMonitor(venv)
    returns: deque = deque(maxlen=WINDOW)
    curve: list = []

    class Curve(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    returns.append(info["episode"]["r"])
            return True

        def _on_rollout_end(self) -> None:
            if returns:
                curve.append((self.num_timesteps, float(np.mean(returns))))

    set_random_seed(seed)
    started = time.perf_counter()
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=10, learning_rate=3e-4, gamma=0.99,
                gae_lambda=0.95, ent_coef=0.01, verbose=0)  # fmt: skip (seed= would call ConcatVecEnv.seed, which it lacks)
    model.learn(total_timesteps=steps, callback=Curve())
    venv.close()
    return {"curve": curve, "final": float(np.mean(returns)), "seconds": round(time.perf_counter() - started, 1),
            "settings": "PPO MlpPolicy n_steps=128 x 24 rows, batch 256, 10 epochs, lr 3e-4, gamma 0.99, ent 0.01"}  # fmt: skip


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for name, color in (("agentgpt", "tab:blue"), ("sb3_supersuit", "tab:orange")):
        for seed, run in results[name].items():
            steps, values = (np.array(v) for v in zip(*run["curve"]))
            smooth = np.array([values[max(0, i - SMOOTH + 1) : i + 1].mean() for i in range(len(values))])
            axes.plot(steps, values, color=color, alpha=0.2)
            axes.plot(steps, smooth, color=color, label=f"{name} (seed {seed}), running mean of {SMOOTH}")
    axes.axhline(results["random"], color="grey", linestyle="--", label="random")
    axes.set_xlabel("agent steps")
    axes.set_ylabel(f"mean per-agent episode return (last {WINDOW})")
    axes.set_title("simple_spread N=3, one shared policy")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def summarize(results: dict) -> str:
    """A markdown table of the recorded curves: start, end of budget (last 10% of steps), wall time."""
    lines = [f"simple_spread N=3, {results['steps']} agent steps per learner; random play: {results['random']:.1f}", "",
             "| learner | seed | first 10% of steps | last 10% of steps | final window | wall s |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name in ("agentgpt", "sb3_supersuit"):
        for seed, run in sorted(results[name].items()):
            steps, values = (np.array(v) for v in zip(*run["curve"]))
            head = values[steps <= TAIL * results["steps"]].mean()
            tail = values[steps >= (1 - TAIL) * results["steps"]].mean()
            lines.append(f"| {name} | {seed} | {head:.1f} | {tail:.1f} | {run['final']:.1f} | {run['seconds']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150_000, help="agent steps per learner and seed")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/multiagent/results"))
    parser.add_argument("--report-only", action="store_true", help="redo the table and plot from OUT/spread.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    recorded = args.out / "spread.json"
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {"steps": args.steps, "random": random_return(), "agentgpt": {}, "sb3_supersuit": {}}
    if recorded.exists():  # keep the seeds already recorded for this budget; add the new ones
        old = json.loads(recorded.read_text())
        if old["steps"] == args.steps or args.report_only:
            results = old
    if args.report_only:
        seeds = []
    print(f"random: {results['random']:.1f}", flush=True)
    for seed in seeds:
        results["agentgpt"][str(seed)] = run_agentgpt(args.steps, seed, args.out / "runs")
        print(f"agentgpt seed {seed}: {results['agentgpt'][str(seed)]['final']:.1f} in {results['agentgpt'][str(seed)]['seconds']} s", flush=True)
        results["sb3_supersuit"][str(seed)] = run_sb3(args.steps, seed)
        print(f"sb3 seed {seed}: {results['sb3_supersuit'][str(seed)]['final']:.1f} in {results['sb3_supersuit'][str(seed)]['seconds']} s", flush=True)
    recorded.write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.out / "spread.png")
    table = summarize(results)
    (args.out / "spread.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
