"""Learning benchmark: AgentGPT's GPT PPO beside Stable-Baselines3 PPO, final policies over seeds.

Each learner trains for the whole budget on every seed (no early stop), is evaluated every
``--eval-every`` env steps on 20 fresh deterministic episodes, and its **final** policy is
evaluated the same way at the end. Per seed the report gives the final evaluation, the first
step at which an evaluation reached the target, and the best evaluation; then mean ± std
over seeds for both learners, side by side, as a markdown table.

    python benchmarks/learning/compare_sb3.py --env CartPole-v1 --target 475 --steps 100000 --seeds 1,2,3,4,5
    python benchmarks/learning/compare_sb3.py --env MaskedCartPole-v1 --target 475 --steps 500000 \
        --config benchmarks/learning/masked_cartpole.toml --seeds 1,2,3,4,5
    python benchmarks/learning/compare_sb3.py --env Pendulum-v1 --target -250 --steps 300000 \
        --config benchmarks/learning/pendulum.toml --seeds 1,2,3,4,5

SB3 uses the RL-Zoo PPO hyperparameters of the task (``SB3_SETTINGS``): CartPole's for
CartPole and masked CartPole (an MLP, no memory), Pendulum's for Pendulum (with reward
normalisation only, so evaluation sees raw observations as ours does).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.utils.tensorboard  # noqa: F401  (SB3 imports it at import time; keep both clocks free of it)

from agentgpt_core.policy import load_policy
from agentgpt_core.train import evaluate_policy, load_hyperparameters, train
from common import EVAL_EPISODES, EVAL_SEED, LearningClock, env_factory, evaluate_sb3, same_step_envs


def linear(initial: float):
    return lambda progress_remaining: progress_remaining * initial


SB3_CARTPOLE = dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=linear(1e-3), clip_range=linear(0.2))  # fmt: skip
SB3_SETTINGS = {
    "CartPole-v1": SB3_CARTPOLE,
    "MaskedCartPole-v1": SB3_CARTPOLE,
    "Pendulum-v1": dict(n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
                        learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4, normalize_reward=True),
}  # fmt: skip


def _summary(clock: LearningClock, final: dict, total_steps: int, seconds: float) -> dict:
    best = max(clock.evaluations, key=lambda e: e["mean_return"], default=None)
    return {
        "final_mean_return": final["mean_return"],
        "final_std_return": final["std_return"],
        "first_hit_step": clock.first_hit["global_step"] if clock.first_hit else None,
        "best_mean_return": best["mean_return"] if best else None,
        "total_steps": total_steps,
        "seconds": round(seconds, 1),
        "evaluations": clock.evaluations,
    }


def run_ours(args, seed: int) -> dict:
    overrides = {"max_steps": args.steps, "seed": seed}
    if args.env != "MaskedCartPole-v1":
        overrides["env_id"] = args.env
    hp = load_hyperparameters(args.config, overrides)
    clock = LearningClock(args.target)
    next_eval = [args.eval_every]

    def on_update(report) -> None:
        if report.global_step >= next_eval[0]:
            next_eval[0] += args.eval_every
            clock.record(
                report.global_step,
                lambda: evaluate_policy(report.policy, env_factory(args.env), EVAL_EPISODES, EVAL_SEED)["mean_return"],
            )

    envs = same_step_envs(args.env, hp.num_envs)
    run_dir = Path(args.runs) / f"ours-{args.env}-s{seed}"
    started = time.perf_counter()
    result = train(envs, hp, run_dir, progress=False, on_update=on_update)
    seconds = time.perf_counter() - started
    envs.close()
    policy, _ = load_policy(result.checkpoint)
    final = evaluate_policy(policy, env_factory(args.env), EVAL_EPISODES, EVAL_SEED)
    return {"learner": "agentgpt-gpt-ppo", "seed": seed, "run_dir": str(run_dir), "hyperparameters": vars(hp),
            **_summary(clock, final, result.global_step, seconds)}  # fmt: skip


def run_sb3(args, seed: int) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    settings = dict(SB3_SETTINGS[args.env])
    n_envs, normalize_reward = settings.pop("n_envs"), settings.pop("normalize_reward", False)
    clock = LearningClock(args.target)

    class EvaluateEvery(BaseCallback):
        next_eval = args.eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                self.next_eval += args.eval_every
                clock.record(self.num_timesteps, lambda: evaluate_sb3(self.model, args.env))
            return True

    envs = make_vec_env(env_factory(args.env), n_envs=n_envs, seed=seed)
    if normalize_reward:
        envs = VecNormalize(envs, norm_obs=False, norm_reward=True, gamma=settings["gamma"])
    model = PPO("MlpPolicy", envs, seed=seed, device="cpu", verbose=0, **settings)
    started = clock.started = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=EvaluateEvery())
    seconds = time.perf_counter() - started
    returns = evaluate_sb3(model, args.env, per_episode=True)
    final = {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns))}
    return {"learner": "sb3-ppo-mlp (rl-zoo)", "seed": seed, **_summary(clock, final, model.num_timesteps, seconds)}


def _mean_std(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{np.mean(values):,.1f} ± {np.std(values):,.1f}"


def markdown(args, results: list[dict]) -> str:
    """Per-seed rows and a mean ± std row for each learner."""
    lines = [f"### {args.env}: target {args.target:g}, budget {args.steps:,} env steps, seeds {args.seeds}", "",
             "| learner | seed | final eval (20 ep.) | first step ≥ target | best eval | learning s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for learner in dict.fromkeys(r["learner"] for r in results):
        rows = [r for r in results if r["learner"] == learner]
        for r in rows:
            hit = f"{r['first_hit_step']:,}" if r["first_hit_step"] is not None else "never"
            lines.append(f"| {learner} | {r['seed']} | {r['final_mean_return']:.1f} ± {r['final_std_return']:.1f} "
                         f"| {hit} | {r['best_mean_return']:.1f} | {r['seconds']:.0f} |")  # fmt: skip
        reached = sum(r["final_mean_return"] >= args.target for r in rows)
        lines.append(f"| **{learner}: mean ± std** | {reached}/{len(rows)} final ≥ target "
                     f"| {_mean_std([r['final_mean_return'] for r in rows])} "
                     f"| {_mean_std([r['first_hit_step'] for r in rows])} ({sum(r['first_hit_step'] is not None for r in rows)}/{len(rows)} hit) "
                     f"| {_mean_std([r['best_mean_return'] for r in rows])} | {_mean_std([r['seconds'] for r in rows])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1", choices=sorted(SB3_SETTINGS))
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=10_240)
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds")
    parser.add_argument("--config", default=None, help="TOML/YAML hyperparameters for ours (defaults otherwise)")
    parser.add_argument("--which", choices=["both", "ours", "sb3"], default="both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/learning/results", help="where the JSON and markdown go")
    parser.add_argument("--runs", default="runs/benchmarks", help="where our run directories go")
    parser.add_argument("--summarize", action="store_true",
                        help="train nothing: print the table from the per-seed JSON files already in --out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in seeds:
        for learner, run in (("ours", run_ours), ("sb3", run_sb3)):
            if args.summarize and args.which in ("both", learner):
                recorded = out / f"{args.env}-s{seed}-{learner}.json"
                if recorded.exists():
                    results.append(json.loads(recorded.read_text()))
            elif args.which in ("both", learner):
                result = run(args, seed)
                results.append(result)
                (out / f"{args.env}-s{seed}-{learner}.json").write_text(json.dumps({"args": vars(args), **result}, indent=2))
                print(f"{learner} seed {seed}: final {result['final_mean_return']:.1f}, first hit "
                      f"{result['first_hit_step']}, best {result['best_mean_return']}", flush=True)  # fmt: skip
    table = markdown(args, sorted(results, key=lambda r: (r["learner"], r["seed"])))
    if not args.summarize:
        stem = f"{args.env}-{args.which}-{args.steps}-seeds{args.seeds.replace(',', '_')}"
        (out / f"{stem}.md").write_text(table)
    print(table)
    if any(math.isnan(r["final_mean_return"]) for r in results):
        raise SystemExit("a final evaluation was NaN")


if __name__ == "__main__":
    main()
