"""Learning benchmark: AgentGPT's GPT PPO beside Stable-Baselines3 PPO on one task.

Reports, for each learner, the env steps and learning wall-clock (evaluation excluded) at
which the deterministic mean return over 20 fresh episodes first reaches the target.
Evaluation happens every ``--eval-every`` env steps; a learner stops once it hits the
target (``--keep-going`` trains to the full budget instead).

    python benchmarks/learning/compare_sb3.py --env CartPole-v1 --target 475 --steps 100000
    python benchmarks/learning/compare_sb3.py --env MaskedCartPole-v1 --target 475 --steps 500000
    python benchmarks/learning/compare_sb3.py --env Pendulum-v1 --target -250 --steps 300000 \
        --config benchmarks/learning/pendulum.toml --which ours

SB3 uses the RL-Zoo CartPole-v1 hyperparameters (n_envs=8, n_steps=32, batch_size=256,
gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0, linear lr 1e-3, linear clip 0.2).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.utils.tensorboard  # noqa: F401  (SB3 imports it at import time; keep both clocks free of it)

from agentgpt_core.train import evaluate_policy, load_hyperparameters, train
from common import EVAL_EPISODES, EVAL_SEED, LearningClock, env_factory, evaluate_sb3, same_step_envs


def run_ours(args) -> dict:
    overrides = {"max_steps": args.steps, "seed": args.seed}
    if args.env != "MaskedCartPole-v1":
        overrides["env_id"] = args.env
    hp = load_hyperparameters(args.config, overrides)
    clock = LearningClock(args.target)
    next_eval = [args.eval_every]

    def on_update(report) -> bool:
        if report.global_step < next_eval[0]:
            return False
        next_eval[0] += args.eval_every
        hit = clock.record(
            report.global_step,
            lambda: evaluate_policy(report.policy, env_factory(args.env), EVAL_EPISODES, EVAL_SEED)["mean_return"],
        )
        return hit and not args.keep_going

    envs = same_step_envs(args.env, hp.num_envs)
    run_dir = Path(args.runs) / f"ours-{args.env}-s{args.seed}"
    result = train(envs, hp, run_dir, progress=False, on_update=on_update)
    envs.close()
    return {"learner": "agentgpt-gpt-ppo", "hyperparameters": vars(hp), "first_hit": clock.first_hit,
            "total_steps": result.global_step, "run_dir": str(run_dir), "evaluations": clock.evaluations}  # fmt: skip


def run_sb3(args) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    def linear(initial: float):
        return lambda progress_remaining: progress_remaining * initial

    clock = LearningClock(args.target)

    class EvaluateEvery(BaseCallback):
        next_eval = args.eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += args.eval_every
            hit = clock.record(self.num_timesteps, lambda: evaluate_sb3(self.model, args.env))
            return not (hit and not args.keep_going)

    envs = make_vec_env(env_factory(args.env), n_envs=8, seed=args.seed)
    model = PPO(
        "MlpPolicy", envs, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
        learning_rate=linear(1e-3), clip_range=linear(0.2), seed=args.seed, device="cpu", verbose=0,
    )  # fmt: skip
    clock.started = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=EvaluateEvery())
    return {"learner": "sb3-ppo-mlp (rl-zoo cartpole)", "first_hit": clock.first_hit,
            "total_steps": model.num_timesteps, "evaluations": clock.evaluations}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1", choices=["CartPole-v1", "MaskedCartPole-v1", "Pendulum-v1"])
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", default=None, help="TOML/YAML hyperparameters for ours (defaults otherwise)")
    parser.add_argument("--which", choices=["both", "ours", "sb3"], default="both")
    parser.add_argument("--keep-going", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/learning/results", help="where the JSON report goes")
    parser.add_argument("--runs", default="runs/benchmarks", help="where our run directories go")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    results = []
    for learner, run in (("ours", run_ours), ("sb3", run_sb3)):
        if args.which in ("both", learner):
            results.append(run(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"{args.env}-s{args.seed}-{args.which}.json"
    report.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    for result in results:
        print(result["learner"], "first reached target at", result["first_hit"], "| total steps", result["total_steps"])
    print("wrote", report)


if __name__ == "__main__":
    main()
