"""Control value benchmark: mean CartPole-v1 return at control values 0, 0.25, 0.5, 0.75 and 1.

    .venv/bin/python benchmarks/control_value.py --policy runs/cartpole        # a trained run
    .venv/bin/python benchmarks/control_value.py                               # trains one first (~30-60 s)
    .venv/bin/python benchmarks/control_value.py --url http://127.0.0.1:8080   # a running agentgpt serve

Each control value plays ``--episodes`` episodes (20 by default) as that many agents
of one GPTAPI connection, env seeds 0..N-1 at every level (common random numbers, so
the levels differ by the knob, not by the starting states), deterministic policy
actions, rewards passed back as in training. Writes benchmarks/RESULTS-control-value.md
(and prints it). Target (issue "Real-time serving"): monotone, near random at 0 and
>= 475 at 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import gymnasium
import numpy as np

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
HERE = Path(__file__).resolve().parent


def play_level(api, control_value: float, episodes: int, max_steps: int = 500) -> list[float]:
    """``episodes`` CartPole episodes at one control value, one agent per episode, all in step."""
    ids = list(range(episodes))
    api.reset_agents()
    api.set_control_value(control_value)
    envs = [gymnasium.make("CartPole-v1") for _ in ids]
    observations = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
    returns, rewards, done = [0.0] * episodes, [None] * episodes, [False] * episodes
    for _ in range(max_steps):
        actions = api.select_action(ids, [None if d else o for d, o in zip(done, observations)], rewards=rewards)
        for i, env in enumerate(envs):
            if not done[i]:
                observations[i], reward, terminated, truncated, _ = env.step(int(actions[i]))
                returns[i] += reward
                rewards[i] = reward
                done[i] = terminated or truncated
        if all(done):
            break
    return returns


def random_baseline(episodes: int) -> float:
    env = gymnasium.make("CartPole-v1")
    env.action_space.seed(0)
    total = []
    for i in range(episodes):
        env.reset(seed=i)
        ret, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            ret, done = ret + reward, terminated or truncated
        total.append(ret)
    return float(np.mean(total))


def train_policy(out: Path) -> Path:
    from agentgpt_core.train import load_hyperparameters, train

    hp = load_hyperparameters(None, {"max_steps": 50_000, "seed": 1, "checkpoint_every": 1000})
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("CartPole-v1")] * hp.num_envs, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
    )
    train(envs, hp, out, progress=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", type=Path, default=None, help="Run directory (default: train one now).")
    parser.add_argument("--url", default=None, help="Measure a running server instead of one in this process.")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the server's random actions (in-process only).")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-control-value.md")
    args = parser.parse_args()

    import torch

    from agentgpt_core import GPTAPI

    torch.set_num_threads(1)
    started = time.time()
    server = service = None
    if args.url:
        api = GPTAPI.connect(args.url)
        source = args.url
    else:
        from agentgpt_core.plugins import get_plugin_manager
        from agentgpt_core.serve import InferenceService

        policy = args.policy or train_policy(Path(tempfile.mkdtemp(prefix="agentgpt-cv-")))
        service = InferenceService.from_run(policy, seed=args.seed)
        server = get_plugin_manager().get("transports", "memory").server(service)
        server.start()
        api = GPTAPI.connect(server.url)
        source = str(args.policy) if args.policy else "a CartPole policy trained by this script (50k steps, seed 1)"
    rows = []
    for level in LEVELS:
        returns = play_level(api, level, args.episodes)
        rows.append({"control_value": level, "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns))})
        print(json.dumps(rows[-1]), flush=True)
    api.close()
    if server is not None:
        server.stop()
        service.close()
    means = [row["mean_return"] for row in rows]
    baseline = random_baseline(args.episodes)
    monotone = all(a <= b for a, b in zip(means, means[1:]))
    checks = {
        "monotone": monotone,
        "near random at 0 (within 10 of the random policy's mean)": abs(means[0] - baseline) <= 10,
        ">= 475 at 1": means[-1] >= 475,
    }
    lines = [
        "# Control value: mean CartPole-v1 return against the knob",
        "",
        f"Command: `.venv/bin/python benchmarks/control_value.py{' --policy ' + str(args.policy) if args.policy else ''}` "
        f"({args.episodes} episodes per level, env seeds 0..{args.episodes - 1}, server seed {args.seed}; "
        f"policy: {source}; {platform.python_version()}, {os.cpu_count()} CPUs; {time.time() - started:.0f} s).",
        "",
        "| control value | mean return | std |",
        "| ---: | ---: | ---: |",
        *[f"| {r['control_value']:.2f} | {r['mean_return']:.1f} | {r['std_return']:.1f} |" for r in rows],
        "",
        f"Uniformly random actions on the same seeds: {baseline:.1f}.",
        "",
        *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()],
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
