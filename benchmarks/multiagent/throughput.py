"""Steps/s of one multi-agent env with 64 agents over WebSocket, beside the same PettingZoo env in-process.

Both sides run the same loop: random actions for every live agent, as a dict, through the
ParallelEnv API (``RemoteParallelEnv`` remotely). The host is a separate
``agentgpt launch --transport ws`` process on 127.0.0.1 (msgpack codec), so the figure
includes encoding, the socket, the host's slot bookkeeping and action checks. Envs:

- ``poles64``: 64 agents each balancing its own CartPole (cheap per agent: transport-bound); a
  fallen pole respawns at once (the agent ends and acts again in the same step), so all 64 act
  every step (the test env of ``tests/envs_multiagent.py``, hence PYTHONPATH=.);
- ``spread64``: mpe2's simple_spread with N=64 (O(N^2) physics: simulator-bound), if mpe2 is installed.

    PYTHONPATH=. .venv/bin/python benchmarks/multiagent/throughput.py --seconds 8 --out benchmarks/multiagent/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from agentgpt_core import RemoteParallelEnv
from agentgpt_core.builtins.env_pettingzoo import PettingZooAdapter
from agentgpt_core.builtins.host_local import HostProcess

ENVS = {
    "poles64": ("pettingzoo:tests.envs_multiagent:multi_cartpole", {"num_agents": 64, "respawn": True}),
    "spread64": ("pettingzoo:mpe2.simple_spread_v3:parallel_env", {"N": 64, "max_cycles": 25}),
}


def run(env, seconds: float, seed: int = 0) -> dict:
    """Step ``env`` with random actions for ``seconds``; resets when every agent is done."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    space = env.action_space(env.possible_agents[0])
    steps = agent_steps = episodes = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if not env.agents:
            env.reset()
            episodes += 1
        actions = {agent: int(rng.integers(space.n)) for agent in env.agents}
        env.step(actions)
        steps += 1
        agent_steps += len(actions)
    elapsed = time.perf_counter() - started
    return {"env_steps_per_s": steps / elapsed, "agent_steps_per_s": agent_steps / elapsed,
            "mean_live_agents": agent_steps / max(steps, 1), "steps": steps, "episodes": episodes}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per env and side")
    parser.add_argument("--envs", default="poles64,spread64")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    names = [n for n in args.envs.split(",") if n]
    if "spread64" in names:
        try:
            import mpe2  # noqa: F401
        except ImportError:
            names.remove("spread64")
    specs = [f"{name}={ENVS[name][0]}" for name in names]
    host = HostProcess(specs, transport="ws")
    results = {"host": host.url.split("://")[0], "seconds_per_side": args.seconds, "machine": platform.processor() or platform.machine(), "envs": {}}
    try:
        for name in names:
            target, kwargs = ENVS[name]
            local = PettingZooAdapter().make(target.split(":", 1)[1], **kwargs)
            in_process = run(local, args.seconds)
            local.close()
            with RemoteParallelEnv(host.url, name, **kwargs) as remote:
                over_ws = run(remote, args.seconds)
            results["envs"][name] = {"in_process": in_process, "ws": over_ws,
                                     "ws_over_in_process": over_ws["env_steps_per_s"] / in_process["env_steps_per_s"]}  # fmt: skip
            print(f"{name}: in-process {in_process['env_steps_per_s']:.0f} env steps/s "
                  f"({in_process['agent_steps_per_s']:.0f} agent steps/s); over ws {over_ws['env_steps_per_s']:.0f} "
                  f"env steps/s ({over_ws['agent_steps_per_s']:.0f} agent steps/s)", flush=True)  # fmt: skip
    finally:
        host.stop()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
