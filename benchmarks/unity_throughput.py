"""Decisions per second through the fake Unity player: WS dial-out vs ``UnityEnvironment`` directly.

A decision is one agent's observation answered with one action. For 1, 16 and 64 seekers
(the player's ``agents`` parameter) this measures, for the same build:

- ``direct``: ML-Agents' ``UnityEnvironment`` in this process (gRPC to the player), random
  actions, no AgentGPT at all: the ceiling;
- ``ws dial-out``: ``agentgpt launch --transport ws --connect`` hosting ``unity:`` (the adapter,
  slots, msgpack over a WebSocket) and a ``RemoteVectorEnv.from_hosts`` trainer side in this
  process, one row per agent slot, random actions for the live rows.

Run (from the repo root, in .venv-unity; ``make bench-unity``)::

    OMP_NUM_THREADS=1 .venv-unity/bin/python benchmarks/unity_throughput.py [--seconds 5]

The results go to benchmarks/RESULTS-unity.md by hand, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PLAYER = ROOT / "plugins" / "env_unity" / "tests" / "fake_player"
AGENTGPT = str(Path(sys.executable).parent / "agentgpt")
SEEKER = "Seeker?team=0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def direct(agents: int, seconds: float) -> float:
    from mlagents_envs.environment import UnityEnvironment
    from mlagents_envs.side_channel.environment_parameters_channel import EnvironmentParametersChannel

    parameters = EnvironmentParametersChannel()
    env = UnityEnvironment(str(PLAYER), base_port=free_port(), no_graphics=True, timeout_wait=30, side_channels=[parameters])
    try:
        parameters.set_float_parameter("agents", agents)
        env.reset()
        spec = env.behavior_specs[SEEKER].action_spec
        decisions, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            steps, _ = env.get_steps(SEEKER)
            decisions += len(steps)
            env.set_actions(SEEKER, spec.random_action(len(steps)))
            env.step()
        return decisions / (time.perf_counter() - start)
    finally:
        env.close()


def ws_dial_out(agents: int, seconds: float) -> float:
    from agentgpt_core.remote import RemoteVectorEnv

    port = free_port()
    spec = f"seeker=unity:{PLAYER}?behaviour=Seeker&base_port={free_port()}&param.agents={agents}"
    env = {**os.environ, "AGENTGPT_LOAD_PLUGINS": "http,ws,unity"}
    with ThreadPoolExecutor(1) as waiting:
        pool = waiting.submit(RemoteVectorEnv.from_hosts, f"ws://127.0.0.1:{port}", "seeker", 1,
                              agent_rows=agents + 1, wait_timeout=60)
        time.sleep(0.3)
        host = subprocess.Popen([AGENTGPT, "launch", "--transport", "ws", "--connect", f"ws://127.0.0.1:{port}",
                                 "--env", spec], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        envs = pool.result(timeout=90)
    try:
        _, infos = envs.reset(seed=0)
        decisions, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            decisions += int(np.sum(infos["alive"]))
            _, _, _, _, infos = envs.step(envs.action_space.sample())
        return decisions / (time.perf_counter() - start)
    finally:
        envs.close()
        host.send_signal(signal.SIGINT)
        host.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    os.environ.setdefault("AGENTGPT_FAKE_PLAYER_PYTHON", sys.executable)
    print("| seekers | direct UnityEnvironment (decisions/s) | WS dial-out host (decisions/s) | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    for agents in args.agents:
        ceiling, remote = direct(agents, args.seconds), ws_dial_out(agents, args.seconds)
        print(f"| {agents} | {ceiling:,.0f} | {remote:,.0f} | {remote / ceiling:.2f} |", flush=True)


if __name__ == "__main__":
    main()
