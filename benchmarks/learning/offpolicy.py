"""Learning benchmark: AgentGPT's off-policy GPT learner beside SB3 SAC (Box) or DQN (Discrete).

Both learners get the same env-step budget, are evaluated the same way (``EVAL_EPISODES``
deterministic episodes on fresh envs seeded from ``EVAL_SEED``) every ``--eval-every`` env
steps with evaluation time kept off the clock, and their *final* policy is evaluated once
more at the end. "steps/s" is env steps per second of learning (acting, storing and all
gradient updates; evaluation excluded).

    python benchmarks/learning/offpolicy.py --env Pendulum-v1 --steps 20000 --seed 1 \
        --config benchmarks/learning/pendulum_offpolicy.toml
    python benchmarks/learning/offpolicy.py --env Pendulum-v1 --steps 3000 --eval-every 0 \
        --config benchmarks/learning/pendulum_offpolicy.toml --replay-ratio 4       # speed only
    python benchmarks/learning/offpolicy.py --env MaskedCartPole-v1 --steps 100000 --target 475 \
        --config benchmarks/learning/masked_cartpole_offpolicy.toml --eval-every 5000 --stop-at-target

SB3 settings are the RL-Zoo ones: SAC for Pendulum-v1 (lr 1e-3, otherwise SB3's defaults:
batch 256, buffer 1e6, gamma 0.99, tau 0.005, one gradient step per env step, auto entropy)
and for MuJoCo (SB3 defaults, learning_starts 10000), DQN for CartPole (lr 2.3e-3, batch 64,
buffer 1e5, learning_starts 1000, gamma 0.99, target update 10, train_freq 256 with 128
gradient steps, exploration 0.16 -> 0.04, net [256, 256]). ``--replay-ratio`` sets SAC's
gradient steps per env step as it sets ours.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium
import torch
import torch.utils.tensorboard  # noqa: F401  (SB3 imports it at import time; keep both clocks free of it)

from agentgpt_core.train import evaluate_policy, load_hyperparameters, train
from common import EVAL_EPISODES, EVAL_SEED, LearningClock, env_factory, evaluate_sb3, same_step_envs


def run_ours(args) -> dict:
    overrides = {"algorithm": "offpolicy", "max_steps": args.steps, "seed": args.seed}
    if args.replay_ratio is not None:
        overrides["replay_ratio"] = args.replay_ratio
    hp = load_hyperparameters(args.config, overrides)
    clock = LearningClock(args.target)
    next_eval = [args.eval_every]

    def on_update(report) -> bool:
        if args.eval_every and report.global_step >= next_eval[0]:
            next_eval[0] += args.eval_every
            hit = clock.record(
                report.global_step,
                lambda: evaluate_policy(report.policy, env_factory(args.env), EVAL_EPISODES, EVAL_SEED)["mean_return"],
            )
            return hit and args.stop_at_target
        return False

    envs = same_step_envs(args.env, hp.num_envs)
    run_dir = Path(args.runs) / f"offpolicy-{args.env}-s{args.seed}-rr{hp.replay_ratio:g}"
    clock.started = time.perf_counter()
    result = train(envs, hp, run_dir, progress=False, on_update=on_update)
    learning_seconds = time.perf_counter() - clock.started - clock.paused
    envs.close()
    final = evaluate_policy(result_policy(run_dir), env_factory(args.env), EVAL_EPISODES, EVAL_SEED)
    return {"learner": "agentgpt-gpt-offpolicy", "hyperparameters": vars(hp), "first_hit": clock.first_hit,
            "total_steps": result.global_step, "learning_seconds": round(learning_seconds, 1),
            "steps_per_second": round(result.global_step / learning_seconds, 1), "final_eval": final,
            "run_dir": str(run_dir), "evaluations": clock.evaluations}  # fmt: skip


def result_policy(run_dir: Path):
    from agentgpt_core.policy import load_policy

    return load_policy(run_dir)[0]  # the checkpoint, exactly what `agentgpt eval` loads


def run_sb3(args) -> dict:
    from stable_baselines3 import DQN, SAC
    from stable_baselines3.common.callbacks import BaseCallback

    clock = LearningClock(args.target)

    class EvaluateEvery(BaseCallback):
        next_eval = args.eval_every

        def _on_step(self) -> bool:
            if args.eval_every and self.num_timesteps >= self.next_eval:
                self.next_eval += args.eval_every
                hit = clock.record(self.num_timesteps, lambda: evaluate_sb3(self.model, args.env))
                return not (hit and args.stop_at_target)
            return True

    env = env_factory(args.env)()
    common = {"seed": args.seed, "device": "cpu", "verbose": 0}
    if isinstance(env.action_space, gymnasium.spaces.Box):
        if args.env == "Pendulum-v1":
            settings = {"learning_rate": 1e-3}
        else:  # MuJoCo: SB3 / RL-Zoo defaults
            settings = {"learning_starts": 10_000}
        if args.replay_ratio is not None:
            settings["gradient_steps"] = int(args.replay_ratio)
        model, name = SAC("MlpPolicy", env, **settings, **common), "sb3-sac-mlp (rl-zoo)"
    else:
        model = DQN(
            "MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
            gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
            exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]}, **common,
        )  # fmt: skip
        name = "sb3-dqn-mlp (rl-zoo cartpole)"
    clock.started = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=EvaluateEvery())
    learning_seconds = time.perf_counter() - clock.started - clock.paused
    final = evaluate_sb3(model, args.env)
    return {"learner": name, "first_hit": clock.first_hit, "total_steps": model.num_timesteps,
            "learning_seconds": round(learning_seconds, 1),
            "steps_per_second": round(model.num_timesteps / learning_seconds, 1),
            "final_eval": {"mean_return": final, "episodes": EVAL_EPISODES}, "evaluations": clock.evaluations}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--target", type=float, default=-200.0, help="first evaluation at or above it is reported")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=2048, help="0: evaluate the final policy only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", default=None, help="TOML/YAML hyperparameters for ours")
    parser.add_argument("--replay-ratio", type=float, default=None, help="gradient updates per env step (both)")
    parser.add_argument("--stop-at-target", action="store_true", help="stop a learner at its first evaluation >= target")
    parser.add_argument("--which", choices=["both", "ours", "sb3"], default="both")
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
    rr = "" if args.replay_ratio is None else f"-rr{args.replay_ratio:g}"
    report = out / f"offpolicy-{args.env}-s{args.seed}-{args.steps}{rr}-{args.which}.json"
    report.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    for result in results:
        print(f"{result['learner']}: final eval {result['final_eval']['mean_return']:.1f} over {EVAL_EPISODES} episodes"
              f" | first >= target {result['first_hit']} | {result['total_steps']} steps"
              f" in {result['learning_seconds']} s = {result['steps_per_second']} steps/s")  # fmt: skip
    print("wrote", report)


if __name__ == "__main__":
    main()
