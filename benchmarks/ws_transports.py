"""WebSocket transport benchmarks: direct and dial-out hosts, the host pool, a bare echo.

    python benchmarks/ws_transports.py            # every case, markdown table
    python benchmarks/ws_transports.py --json     # one JSON object per case
    python benchmarks/ws_transports.py ws-echo ws-direct-1

Env hosts run as separate ``agentgpt launch`` processes on loopback, as they would on
a second machine; the trainer side runs in this process. Targets (issue "WebSocket
transport"): ws-direct-1 median within 1.5x of ws-echo; ws-direct-64 and
ws-dialout-64 at least 70 % of local-sync-64 steps/s; dialout-busy-4-hosts at least
2.5x dialout-busy-1-host steps/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

HERE = Path(__file__).resolve().parent
KEY = "bench-key"


def summarise(name: str, times: list[float], envs: int, note: str = "") -> dict[str, Any]:
    times_ms = np.asarray(times) * 1e3
    return {
        "case": name,
        "envs": envs,
        "median_ms": round(float(np.median(times_ms)), 3),
        "p99_ms": round(float(np.percentile(times_ms, 99)), 3),
        "steps_per_s": round(envs * len(times) / (times_ms.sum() / 1e3)),
        "note": note,
    }


def timed(step: Callable[[], Any], steps: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return times


# -- env host processes ------------------------------------------------------------


def agentgpt() -> list[str]:
    found = shutil.which("agentgpt", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "agentgpt_core.cli"]


@contextlib.contextmanager
def host_processes(count: int, *args: str) -> Iterator[list[subprocess.Popen]]:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    processes = [
        subprocess.Popen([*agentgpt(), "launch", "--transport", "ws", "--api-key", KEY, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


@contextlib.contextmanager
def listening_host(env: str = "gym:CartPole-v1") -> Iterator[str]:
    with host_processes(1, "--port", "0", "--env", env) as [process]:
        line = process.stdout.readline()
        yield line.strip().split("=", 1)[1]


@contextlib.contextmanager
def dialout_hosts(count: int, num_envs: int, env: str = "gym:CartPole-v1") -> Iterator[Any]:
    from agentgpt_transport_ws import WsGateway

    with WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=60) as gateway:
        with host_processes(count, "--connect", gateway.url, "--env", env, "--num-envs", str(num_envs)):
            gateway.wait_for_hosts(count, timeout=60)
            yield gateway


# -- cases -------------------------------------------------------------------------


def local_sync(num_envs: int, steps: int) -> dict:
    import gymnasium as gym

    env = gym.make_vec("CartPole-v1", num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=(steps + 20, num_envs))
    it = iter(actions)
    result = summarise(f"local-sync-{num_envs}", timed(lambda: env.step(next(it)), steps), num_envs, "gymnasium SyncVectorEnv in-process")
    env.close()
    return result


def single_env_steps(env: Any, steps: int) -> list[float]:
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step():
        *_, terminated, truncated, _ = env.step(int(rng.integers(0, 2)))
        if terminated or truncated:
            env.reset()

    return timed(step, steps)


def vector_steps(env: Any, steps: int) -> list[float]:
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=(steps + 20, env.num_envs))
    it = iter(actions)
    return timed(lambda: env.step(next(it)), steps)


def ws_direct(num_envs: int, steps: int) -> dict:
    from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv

    with listening_host() as url:
        env = RemoteEnv(url, "CartPole-v1", api_key=KEY) if num_envs == 1 else RemoteVectorEnv(url, "CartPole-v1", num_envs, api_key=KEY)
        times = single_env_steps(env, steps) if num_envs == 1 else vector_steps(env, steps)
        env.close()
    return summarise(f"ws-direct-{num_envs}", times, num_envs, "RemoteEnv/RemoteVectorEnv -> agentgpt launch --transport ws")


def ws_dialout(num_envs: int, steps: int) -> dict:
    from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv

    with dialout_hosts(1, num_envs) as gateway:
        [link] = gateway.hosts()
        if num_envs == 1:
            env = RemoteEnv(gateway.url, "CartPole-v1", client=link)
            times = single_env_steps(env, steps)
        else:
            env = RemoteVectorEnv(gateway.url, "CartPole-v1", num_envs, client=link)
            times = vector_steps(env, steps)
        env.close()
    return summarise(f"ws-dialout-{num_envs}", times, num_envs, "gateway link -> agentgpt launch --connect")


ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
reply = bytes.fromhex(sys.argv[1])
async def handler(socket):
    async for _ in socket:
        await socket.send(reply)
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def ws_echo(steps: int) -> dict:
    """A bare websockets round trip carrying the bytes of one single-env step, both ways."""
    from websockets.sync.client import connect

    from agentgpt_core.envs.service import EnvService
    from agentgpt_core.protocol.codecs import MSGPACK

    service = EnvService(["gym:CartPole-v1"])
    key = service.handle("make", {"env_name": "CartPole-v1"})["env_key"]
    service.handle("reset", {"env_key": key, "seed": 0})
    request = MSGPACK.encode({"id": 1, "method": "step", "params": {"env_key": key, "action": 0}})
    reply = MSGPACK.encode({"id": 1, "result": service.handle("step", {"env_key": key, "action": 0})})
    server = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, reply.hex()], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        with connect(f"ws://127.0.0.1:{port}", compression=None) as socket:
            times = timed(lambda: (socket.send(request), socket.recv()), steps)
    finally:
        server.terminate()
        server.wait(10)
    return summarise("ws-echo", times, 1, f"bare websockets sync client, {len(request)} B out / {len(reply)} B back")


def dialout_busy(hosts: int, steps: int, envs_per_host: int = 4) -> dict:
    from agentgpt_core.remote.pool import HostPoolVectorEnv

    with dialout_hosts(hosts, envs_per_host, "busy=gym:busy_env:make_env") as gateway:
        pool = HostPoolVectorEnv(gateway, "busy", min_hosts=hosts, owns_source=False)
        times = vector_steps(pool, steps)
        pool.close()
    name = f"dialout-busy-{hosts}-host{'s' if hosts > 1 else ''}"
    return summarise(name, times, hosts * envs_per_host, f"HostPoolVectorEnv, {envs_per_host} envs/host, 1 ms sleep per env step")


def cases(quick: bool) -> dict[str, Callable[[], dict]]:
    scale = 0.25 if quick else 1.0
    n = lambda count: max(20, int(count * scale))  # noqa: E731
    return {
        "local-sync-64": lambda: local_sync(64, n(1000)),
        "ws-echo": lambda: ws_echo(n(5000)),
        "ws-direct-1": lambda: ws_direct(1, n(5000)),
        "ws-direct-64": lambda: ws_direct(64, n(1000)),
        "ws-dialout-1": lambda: ws_dialout(1, n(5000)),
        "ws-dialout-64": lambda: ws_dialout(64, n(1000)),
        "dialout-busy-1-host": lambda: dialout_busy(1, n(300)),
        "dialout-busy-4-hosts": lambda: dialout_busy(4, n(300)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a quarter of the steps")
    args = parser.parse_args()
    os.environ.setdefault("AGENTGPT_LOAD_PLUGINS", "ws")
    table = cases(args.quick)
    results = [table[name]() for name in (args.names or table)]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print("| case | envs | median ms | p99 ms | steps/s | note |\n|---|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['case']} | {r['envs']} | {r['median_ms']} | {r['p99_ms']} | {r['steps_per_s']} | {r['note']} |")


if __name__ == "__main__":
    main()
