"""Transport benchmarks: CartPole-v1 steps/s and per-step latency, in-process vs over the wire.

    .venv/bin/python benchmarks/transports.py                       # every case, plain table
    .venv/bin/python benchmarks/transports.py --markdown out.md     # also write a markdown table
    .venv/bin/python benchmarks/transports.py http-1-msgpack local-1

One run measures every case in ``CASES`` against the same machine state, so the
ratios in the targets below compare like with like. Env hosts run as separate
``agentgpt launch`` processes on loopback, as they would on another machine (client
and server never share a GIL); the trainer side runs in this process.

Targets (issue "HTTP transport"): ``http-1-msgpack`` median round trip < 1 ms;
``http-64-msgpack`` steps/s >= 0.5 x ``local-sync-64``.

Adding a transport (WebSocket direct and dial-out are next): add its host command to
``HOST_COMMANDS`` (any process that prints ``AGENTGPT_URL=<url>`` once serving, as
``agentgpt launch`` does; a dial-out case can instead open a gateway in ``make``),
then append ``Case``s to ``CASES`` whose ``make`` opens the env through that host.
The table, the markdown and the targets pick them up unchanged. The ``*-threaded``
and ``httpx-client`` rows are baselines that show what two design choices of the
HTTP transport buy (see RESULTS-transports.md).
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

# How to start each host: a name cases refer to -> the command. Add "ws" etc. here.
HOST_COMMANDS: dict[str, Callable[[], list[str]]] = {
    "http": lambda: [*agentgpt_command(), "launch", "--transport", "http", "--port", "0", "--api-key", KEY, "--env", f"gym:{ENV_ID}"],
    "http-threaded": lambda: [sys.executable, "-c", THREADED_HTTP_HOST, KEY, f"gym:{ENV_ID}"],
}


@contextlib.contextmanager
def launched(host: str) -> Iterator[str]:
    """A host process (``HOST_COMMANDS[host]``) serving CartPole; yields the URL it prints."""
    command = HOST_COMMANDS[host]()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("AGENTGPT_URL="):
            raise RuntimeError(f"{shlex.join(command)} did not start (printed {line!r})")
        yield line.split("=", 1)[1]
    finally:
        process.terminate()
        process.wait(10)


class Hosts:
    """Starts each host process on first use and keeps it for the whole run."""

    def __init__(self, stack: contextlib.ExitStack):
        self._stack = stack
        self._urls: dict[str, str] = {}

    def url(self, host: str) -> str:
        if host not in self._urls:
            self._urls[host] = self._stack.enter_context(launched(host))
        return self._urls[host]


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


CASES: list[Case] = [
    Case("local-1", 1, 20000, local_single, "gymnasium env in-process"),
    Case("local-sync-64", 64, 1000, local_sync(64), "gymnasium SyncVectorEnv in-process"),
    Case("http-1-msgpack", 1, 5000, remote("http", 1, "msgpack"), "RemoteEnv -> agentgpt launch --transport http"),
    Case("http-1-json", 1, 5000, remote("http", 1, "json"), "RemoteEnv, JSON bodies"),
    Case("http-64-msgpack", 64, 1000, remote("http", 64, "msgpack"), "RemoteVectorEnv(64), one round trip per step"),
    Case("http-1-httpx-client", 1, 5000, httpx_baseline, "baseline: same server, httpx.Client.post as the client"),
    Case("http-1-threaded", 1, 5000, remote("http-threaded", 1, "msgpack"), "baseline: every env call in a worker thread"),
    Case("http-64-threaded", 64, 1000, remote("http-threaded", 64, "msgpack"), "baseline: every env call in a worker thread"),
]

TARGETS: list[tuple[str, Callable[[dict[str, dict]], tuple[bool, str]]]] = [
    ("http-1-msgpack median < 1 ms", lambda r: (r["http-1-msgpack"]["median_ms"] < 1.0, f"{r['http-1-msgpack']['median_ms']:.3f} ms")),
    (
        "http-64-msgpack >= 0.5 x local-sync-64 steps/s",
        lambda r: (
            r["http-64-msgpack"]["steps_per_s"] >= 0.5 * r["local-sync-64"]["steps_per_s"],
            f"{r['http-64-msgpack']['steps_per_s'] / r['local-sync-64']['steps_per_s']:.2f} x",
        ),
    ),
]


# -- measuring ---------------------------------------------------------------------


def step_times(env: Any, num_envs: int, steps: int, warmup: int = 50) -> list[float]:
    """Seconds per ``step`` call, random actions, resetting a single env when its episode ends."""
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(steps + warmup, num_envs))
    env.reset(seed=0)
    times = []
    for i in range(steps + warmup):
        action = int(actions[i, 0]) if num_envs == 1 else actions[i]
        started = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed = time.perf_counter() - started
        if num_envs == 1 and (terminated or truncated):
            env.reset()
        if i >= warmup:
            times.append(elapsed)
    return times


def run_case(case: Case, hosts: Hosts, scale: float) -> dict:
    env = case.make(hosts)
    try:
        times = np.asarray(step_times(env, case.num_envs, max(50, int(case.steps * scale))))
    finally:
        env.close()
    return {
        "case": case.name,
        "envs": case.num_envs,
        "median_ms": float(np.median(times) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
        "steps_per_s": float(case.num_envs * len(times) / times.sum()),
        "note": case.note,
    }


def markdown(results: list[dict], checks: list[str], command: str, load: float) -> str:
    lines = [
        f"Command: `{command}`",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"1-minute load average {load:.2f} before the run (other work shares the machine)",
        "",
        "| case | envs | median ms | p99 ms | steps/s | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [f"| {r['case']} | {r['envs']} | {r['median_ms']:.3f} | {r['p99_ms']:.3f} | {r['steps_per_s']:,.0f} | {r['note']} |" for r in results]
    return "\n".join(lines + [""] + [f"- {check}" for check in checks]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the results as a markdown table")
    parser.add_argument("--quick", action="store_true", help="a fifth of the steps")
    args = parser.parse_args()
    os.environ.setdefault("AGENTGPT_LOAD_PLUGINS", "http")
    by_name = {case.name: case for case in CASES}
    unknown = sorted(set(args.names) - set(by_name))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {list(by_name)}")
    load = os.getloadavg()[0]
    results = []
    with contextlib.ExitStack() as stack:
        hosts = Hosts(stack)
        for name in args.names or by_name:
            results.append(run_case(by_name[name], hosts, 0.2 if args.quick else 1.0))
            r = results[-1]
            print(f"{r['case']:20s} envs {r['envs']:3d}  median {r['median_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms  {r['steps_per_s']:10,.0f} steps/s", flush=True)
    done = {r["case"]: r for r in results}
    checks = []
    for label, check in TARGETS:
        try:
            ok, value = check(done)
        except KeyError:
            continue  # a case it needs was not run
        checks.append(f"{'PASS' if ok else 'FAIL'} {label}: {value}")
    print("\n".join(checks))
    if args.markdown:
        command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
        with open(args.markdown, "w") as out:
            out.write(markdown(results, checks, command, load))


if __name__ == "__main__":
    main()
