"""Hyperparameter sweep over seeds, in-process: is a setting's *final* policy good on every seed?

Trains ours on a ``SyncVectorEnv`` (SAME_STEP) for each seed with the given overrides,
evaluates every 20k env steps and the final checkpoint (20 deterministic episodes, envs
seeded 10000...), and appends one JSON line per seed to ``OUT/<tag>.jsonl``. This is how the
defaults were chosen (see RESULTS.md, "How the defaults were chosen"); the main job's own
path is measured by ``main_job.py``.

    python benchmarks/learning/seed_sweep.py --tag scaled-g99 --seeds 1,2,3 \
        --set '{"gamma": 0.99, "gae_lambda": 0.95}'
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agentgpt_core.policy import load_policy
from agentgpt_core.train import evaluate_policy, load_hyperparameters, train
from common import EVAL_EPISODES, EVAL_SEED, env_factory, same_step_envs

EVAL_EVERY = 20_000


def run(env_id: str, seed: int, overrides: dict, tag: str, runs: Path) -> dict:
    hp = load_hyperparameters(None, {**overrides, "seed": seed})
    evaluations, next_eval = [], [EVAL_EVERY]

    def on_update(report) -> None:
        if report.global_step >= next_eval[0]:
            next_eval[0] += EVAL_EVERY
            outcome = evaluate_policy(report.policy, env_factory(env_id), EVAL_EPISODES, EVAL_SEED)
            evaluations.append(round(outcome["mean_return"], 1))

    envs = same_step_envs(env_id, hp.num_envs)
    started = time.perf_counter()
    result = train(envs, hp, runs / f"{tag}-s{seed}", progress=False, on_update=on_update)
    envs.close()
    policy, _ = load_policy(result.checkpoint)
    final = evaluate_policy(policy, env_factory(env_id), EVAL_EPISODES, EVAL_SEED)["mean_return"]
    return {"tag": tag, "seed": seed, "overrides": overrides, "evals_every_20k": evaluations,
            "final": round(final, 1), "seconds": round(time.perf_counter() - started)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8,9,10")
    parser.add_argument("--set", default="{}", help="JSON object of hyperparameter overrides")
    parser.add_argument("--out", default="benchmarks/learning/results/sweeps")
    parser.add_argument("--runs", default="runs/sweeps")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        row = run(args.env, seed, json.loads(args.set), args.tag, Path(args.runs))
        print(json.dumps(row), flush=True)
        with open(out / f"{args.tag}.jsonl", "a") as file:
            file.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
