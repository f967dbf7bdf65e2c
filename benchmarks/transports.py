"""Transport benchmarks: CartPole-v1 steps/s and per-step latency, in-process vs over the wire.

    .venv/bin/python benchmarks/transports.py                       # every case, then the targets
    .venv/bin/python benchmarks/transports.py --markdown out.md     # also write the table as markdown
    .venv/bin/python benchmarks/transports.py ws-echo ws-direct-1   # some cases (targets need theirs)

One run measures every case in ``CASES`` and interleaves them: all envs are opened
first, then each case takes a block of its steps in turn, ``--rounds`` times, so
the ratios in ``TARGETS`` compare cases that saw the same machine load (on a shared
machine absolute figures move between runs and even within one). Env hosts run as separate
``agentgpt launch`` processes on loopback, as they would on another machine (client
and server never share a GIL); the trainer side runs in this process.

Targets: issue "HTTP transport" (``http-1-msgpack`` median < 1 ms, ``http-64-msgpack``
>= 0.5 x ``local-sync-64`` steps/s) and issue "WebSocket transport" (``ws-direct-1``
median <= 1.5 x a bare websockets echo of the same bytes, ``ws-echo``; ``ws-direct-64``
and ``ws-dialout-64`` >= 0.7 x ``local-sync-64``; 4 dial-out hosts >= 2.5 x one when
the simulator is the bottleneck, ``busy_env.py``).

Adding a transport: add its host command to ``HOST_COMMANDS`` (any process that
prints ``AGENTGPT_URL=<url>`` once serving, as ``agentgpt launch`` does; hosts that
dial out use ``Hosts.dialout`` instead), then append ``Case``s to ``CASES`` whose
``make`` opens the env through that host. The table, the markdown and the targets
pick them up unchanged. The ``*-threaded``, ``httpx-client`` and ``ws-echo`` rows are
baselines (see RESULTS-transports.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

KEY = "bench-key"
ENV_ID = "CartPole-v1"
HERE = os.path.dirname(os.path.abspath(__file__))


# -- env hosts ---------------------------------------------------------------------


def agentgpt_command() -> list[str]:
    found = shutil.which("agentgpt", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "agentgpt_core"]


# An HTTP host with every env call in a worker thread (inline_budget_s=0), to show what
# the dispatcher's inline calls save; `agentgpt launch` has no flag for it.
THREADED_HTTP_HOST = """
import sys
from agentgpt_core.envs.service import EnvService
from agentgpt_transport_http import HttpServer
server = HttpServer(EnvService([sys.argv[2]]), api_key=sys.argv[1], inline_budget_s=0)
server.start()
print("AGENTGPT_URL=" + server.url, flush=True)
server.serve_forever()
"""

# A bare websockets server answering every frame with the same bytes: the floor for a
# WebSocket round trip on this machine (argv: the reply, hex).
ECHO_WS_HOST = """
import asyncio, sys
from websockets.asyncio.server import serve
reply = bytes.fromhex(sys.argv[1])
async def echo(socket):
    async for _ in socket:
        await socket.send(reply)
async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        print("AGENTGPT_URL=ws://127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def step_frames() -> tuple[bytes, bytes]:
    """The msgpack frames of one single-env CartPole step: the request and its answer."""
    from agentgpt_core.envs.service import EnvService
    from agentgpt_core.protocol.codecs import MSGPACK

    service = EnvService([f"gym:{ENV_ID}"])
    key = service.handle("make", {"env_name": ENV_ID})["env_key"]
    service.handle("reset", {"env_key": key, "seed": 0})
    request = MSGPACK.encode({"id": 1, "method": "step", "params": {"env_key": key, "action": 0}})
    answer = MSGPACK.encode({"id": 1, "result": service.handle("step", {"env_key": key, "action": 0})})
    service.close()
    return request, answer


def launch(transport: str, *args: str) -> list[str]:
    return [*agentgpt_command(), "launch", "--transport", transport, "--api-key", KEY, *args]


# How to start each host: a name cases refer to -> the command.
HOST_COMMANDS: dict[str, Callable[[], list[str]]] = {
    "http": lambda: launch("http", "--port", "0", "--env", f"gym:{ENV_ID}"),
    "http-threaded": lambda: [sys.executable, "-c", THREADED_HTTP_HOST, KEY, f"gym:{ENV_ID}"],
    "ws": lambda: launch("ws", "--port", "0", "--env", f"gym:{ENV_ID}"),
    "ws-echo": lambda: [sys.executable, "-c", ECHO_WS_HOST, step_frames()[1].hex()],
}
HOST_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}  # busy_env


@contextlib.contextmanager
def running(command: list[str]) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(command, env=HOST_ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def launched(host: str) -> Iterator[str]:
    """A host process (``HOST_COMMANDS[host]``) serving CartPole; yields the URL it prints."""
    command = HOST_COMMANDS[host]()
    with running(command) as process:
        line = process.stdout.readline().strip()
        if not line.startswith("AGENTGPT_URL="):
            raise RuntimeError(f"{shlex.join(command)} did not start (printed {line!r})")
        yield line.split("=", 1)[1]


class Hosts:
    """Starts each host (or gateway with its dial-out hosts) on first use; all stop at the end of the run."""

    def __init__(self, stack: contextlib.ExitStack):
        self._stack = stack
        self._urls: dict[str, str] = {}
        self._gateways: dict[tuple, Any] = {}

    def url(self, host: str) -> str:
        if host not in self._urls:
            self._urls[host] = self._stack.enter_context(launched(host))
        return self._urls[host]

    def dialout(self, count: int, num_envs: int, env: str) -> Any:
        """A ``WsGateway`` with ``count`` ``agentgpt launch --connect`` hosts registered at it."""
        key = (count, num_envs, env)
        if key not in self._gateways:
            from agentgpt_transport_ws import WsGateway

            gateway = self._stack.enter_context(WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=60))
            for _ in range(count):
                self._stack.enter_context(running(launch("ws", "--connect", gateway.url, "--env", env, "--num-envs", str(num_envs))))
            self._gateways[key] = gateway
        gateway = self._gateways[key]
        if len(gateway.wait_for_hosts(count, timeout=60)) < count:
            raise RuntimeError(f"only {len(gateway.hosts())} of {count} dial-out hosts registered")
        return gateway


# -- cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One row: ``make(hosts)`` returns a Gymnasium env (single or vector) to step ``steps`` times."""

    name: str
    num_envs: int
    steps: int
    make: Callable[[Hosts], Any]
    note: str


def local_single(hosts: Hosts) -> Any:
    import gymnasium as gym

    return gym.make(ENV_ID)


def local_sync(num_envs: int) -> Callable[[Hosts], Any]:
    def make(hosts: Hosts) -> Any:
        import gymnasium as gym

        return gym.make_vec(ENV_ID, num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})

    return make


def remote(host: str, num_envs: int, codec: str) -> Callable[[Hosts], Any]:
    def make(hosts: Hosts) -> Any:
        from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv

        url = hosts.url(host)
        if num_envs == 1:
            return RemoteEnv(url, ENV_ID, api_key=KEY, codec=codec)
        return RemoteVectorEnv(url, ENV_ID, num_envs, api_key=KEY, codec=codec)

    return make


class HttpxClientBaseline:
    """The obvious client, for comparison: ``httpx.Client.post`` per call (cookies, URL merging, httpcore)."""

    def __init__(self, url: str, codec: str):
        import httpx

        from agentgpt_core.protocol.codecs import get_codec

        self.codec = get_codec(codec)
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": self.codec.content_type, "X-AgentGPT-Session": "httpx-baseline"}
        self.http = httpx.Client(base_url=url, headers=headers)

    def call(self, method: str, params: dict | None = None) -> Any:
        from agentgpt_core.protocol.errors import error_from_dict

        response = self.http.post(f"/{method}", content=self.codec.encode(params or {}))
        if response.status_code != 200:
            raise error_from_dict(self.codec.decode(response.content)["error"])
        return self.codec.decode(response.content)

    def close(self) -> None:
        self.http.close()


def httpx_baseline(hosts: Hosts) -> Any:
    from agentgpt_core.remote import RemoteEnv

    url = hosts.url("http")
    return RemoteEnv(url, ENV_ID, client=HttpxClientBaseline(url, "msgpack"))


class EchoEnv:
    """Steps that are one bare websockets round trip of a step's bytes (websockets' sync client)."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.request, _ = step_frames()
        self.socket = connect(url, compression=None, legacy=True)  # a plain connection, not a context manager

    def reset(self, seed: int | None = None) -> tuple[Any, dict]:
        return None, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.socket.send(self.request)
        self.socket.recv()
        return None, 0.0, False, False, {}

    def close(self) -> None:
        self.socket.close()


def dialout(num_envs: int) -> Callable[[Hosts], Any]:
    """RemoteEnv / RemoteVectorEnv over the gateway's link to one dial-out host."""

    def make(hosts: Hosts) -> Any:
        from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv

        gateway = hosts.dialout(1, 1, f"gym:{ENV_ID}")
        [link] = gateway.hosts()  # closing the env closes the link; the host then dials in again
        if num_envs == 1:
            return RemoteEnv(gateway.url, ENV_ID, client=link)
        return RemoteVectorEnv(gateway.url, ENV_ID, num_envs, client=link)

    return make


def busy_pool(count: int, envs_per_host: int) -> Callable[[Hosts], Any]:
    """HostPoolVectorEnv over ``count`` dial-out hosts of ``busy_env`` (1 ms of waiting per env step)."""

    def make(hosts: Hosts) -> Any:
        from agentgpt_core.remote.pool import HostPoolVectorEnv

        gateway = hosts.dialout(count, envs_per_host, "busy=gym:busy_env:make_env")
        return HostPoolVectorEnv(gateway, "busy", min_hosts=count, owns_source=False)

    return make


CASES: list[Case] = [
    Case("local-1", 1, 20000, local_single, "gymnasium env in-process"),
    Case("local-sync-64", 64, 1000, local_sync(64), "gymnasium SyncVectorEnv in-process"),
    Case("http-1-msgpack", 1, 5000, remote("http", 1, "msgpack"), "RemoteEnv -> agentgpt launch --transport http"),
    Case("http-1-json", 1, 5000, remote("http", 1, "json"), "RemoteEnv, JSON bodies"),
    Case("http-64-msgpack", 64, 1000, remote("http", 64, "msgpack"), "RemoteVectorEnv(64), one round trip per step"),
    Case("http-1-httpx-client", 1, 5000, httpx_baseline, "baseline: same server, httpx.Client.post as the client"),
    Case("http-1-threaded", 1, 5000, remote("http-threaded", 1, "msgpack"), "baseline: every env call in a worker thread"),
    Case("http-64-threaded", 64, 1000, remote("http-threaded", 64, "msgpack"), "baseline: every env call in a worker thread"),
    Case("ws-echo", 1, 5000, lambda hosts: EchoEnv(hosts.url("ws-echo")), "baseline: bare websockets echo of a step's bytes"),
    Case("ws-direct-1", 1, 5000, remote("ws", 1, "msgpack"), "RemoteEnv -> agentgpt launch --transport ws"),
    Case("ws-direct-64", 64, 1000, remote("ws", 64, "msgpack"), "RemoteVectorEnv(64) over ws"),
    Case("ws-dialout-1", 1, 5000, dialout(1), "RemoteEnv over a gateway link -> agentgpt launch --connect"),
    Case("ws-dialout-64", 64, 1000, dialout(64), "RemoteVectorEnv(64) over a gateway link"),
    Case("dialout-busy-1-host", 4, 300, busy_pool(1, 4), "HostPoolVectorEnv, 1 host x 4 envs, 1 ms sleep per env step"),
    Case("dialout-busy-4-hosts", 16, 300, busy_pool(4, 4), "HostPoolVectorEnv, 4 hosts x 4 envs, 1 ms sleep per env step"),
]


def at_most(case: str, factor: float, baseline: str) -> Callable[[dict[str, dict]], tuple[bool, str]]:
    """``case``'s median round trip <= ``factor`` x ``baseline``'s."""

    def check(r: dict[str, dict]) -> tuple[bool, str]:
        ratio = r[case]["median_ms"] / r[baseline]["median_ms"]
        return ratio <= factor, f"{r[case]['median_ms']:.3f} / {r[baseline]['median_ms']:.3f} ms = {ratio:.2f} x"

    return check


def at_least(case: str, factor: float, baseline: str) -> Callable[[dict[str, dict]], tuple[bool, str]]:
    """``case``'s steps/s >= ``factor`` x ``baseline``'s."""

    def check(r: dict[str, dict]) -> tuple[bool, str]:
        ratio = r[case]["steps_per_s"] / r[baseline]["steps_per_s"]
        return ratio >= factor, f"{r[case]['steps_per_s']:,.0f} / {r[baseline]['steps_per_s']:,.0f} steps/s = {ratio:.2f} x"

    return check


TARGETS: list[tuple[str, Callable[[dict[str, dict]], tuple[bool, str]]]] = [
    ("http-1-msgpack median < 1 ms", lambda r: (r["http-1-msgpack"]["median_ms"] < 1.0, f"{r['http-1-msgpack']['median_ms']:.3f} ms")),
    ("http-64-msgpack >= 0.5 x local-sync-64 steps/s", at_least("http-64-msgpack", 0.5, "local-sync-64")),
    ("ws-direct-1 median <= 1.5 x ws-echo median", at_most("ws-direct-1", 1.5, "ws-echo")),
    ("ws-direct-64 >= 0.7 x local-sync-64 steps/s", at_least("ws-direct-64", 0.7, "local-sync-64")),
    ("ws-dialout-64 >= 0.7 x local-sync-64 steps/s", at_least("ws-dialout-64", 0.7, "local-sync-64")),
    ("dialout-busy-4-hosts >= 2.5 x dialout-busy-1-host steps/s", at_least("dialout-busy-4-hosts", 2.5, "dialout-busy-1-host")),
]


# -- measuring ---------------------------------------------------------------------


class Stepper:
    """One case's env, stepped a block at a time with random actions; keeps the time of every step.

    ``main`` steps every case's blocks in turn, round after round, so a burst of load
    from other work on the machine lands on all cases alike instead of on whichever
    one happened to be running: the target ratios stay fair on a shared machine.
    """

    def __init__(self, case: Case, hosts: Hosts, steps: int, warmup: int = 50):
        self.case, self.steps = case, steps
        self.actions = np.random.default_rng(0).integers(0, 2, size=(steps + warmup, case.num_envs))
        self.times: list[float] = []
        self.env = case.make(hosts)
        self.env.reset(seed=0)
        self._next = 0
        self.step(warmup)
        self.times.clear()

    def step(self, count: int) -> None:
        """``count`` steps, resetting a single env when its episode ends (not timed)."""
        env, single = self.env, self.case.num_envs == 1
        for i in range(self._next, min(self._next + count, len(self.actions))):
            action = int(self.actions[i, 0]) if single else self.actions[i]
            started = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            self.times.append(time.perf_counter() - started)
            if single and (terminated or truncated):
                env.reset()
        self._next += count

    def summary(self) -> dict:
        times = np.asarray(self.times)
        return {
            "case": self.case.name,
            "envs": self.case.num_envs,
            "median_ms": float(np.median(times) * 1e3),
            "p99_ms": float(np.percentile(times, 99) * 1e3),
            "steps_per_s": float(self.case.num_envs * len(times) / times.sum()),
            "note": self.case.note,
        }


def measure(cases: list[Case], hosts: Hosts, scale: float, rounds: int) -> list[dict]:
    """Every case's summary, their steps interleaved in ``rounds`` blocks each."""
    steppers = []
    try:
        for case in cases:
            steppers.append(Stepper(case, hosts, max(rounds, int(case.steps * scale))))
        for round_ in range(rounds):
            for stepper in steppers:
                stepper.step(-(-stepper.steps // rounds))
            print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    finally:
        for stepper in steppers:
            stepper.env.close()
    return [stepper.summary() for stepper in steppers]


def markdown(results: list[dict], checks: list[str], command: str, loads: tuple[float, float]) -> str:
    """The run as markdown: command, machine and its load, the table, then the targets."""
    lines = [
        f"Command: `{command}`",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"1-minute load average {loads[0]:.2f} before the run and {loads[1]:.2f} after it",
        "",
        "| case | envs | median ms | p99 ms | steps/s | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [f"| {r['case']} | {r['envs']} | {r['median_ms']:.3f} | {r['p99_ms']:.3f} | {r['steps_per_s']:,.0f} | {r['note']} |" for r in results]
    return "\n".join(lines + ["", "Targets:", ""] + [f"- {check}" for check in checks]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the results as a markdown table")
    parser.add_argument("--quick", action="store_true", help="a fifth of the steps")
    parser.add_argument("--rounds", type=int, default=10, help="blocks each case's steps are split into, interleaved")
    args = parser.parse_args()
    os.environ.setdefault("AGENTGPT_LOAD_PLUGINS", "http,ws")
    by_name = {case.name: case for case in CASES}
    unknown = sorted(set(args.names) - set(by_name))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {list(by_name)}")
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        results = measure([by_name[name] for name in args.names or by_name], Hosts(stack), 0.2 if args.quick else 1.0, args.rounds)
    done = {r["case"]: r for r in results}
    checks = []
    for label, check in TARGETS:
        try:
            ok, value = check(done)
        except KeyError:
            continue  # a case it needs was not run
        checks.append(f"{'PASS' if ok else 'FAIL'} {label}: {value}")
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    report = markdown(results, checks, command, (load_before, os.getloadavg()[0]))
    print("\n" + report, end="")
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(report)


if __name__ == "__main__":
    main()
