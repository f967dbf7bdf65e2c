"""Serving benchmark: select_action latency over HTTP beside the bare forward pass, and
cross-request batching with 16 concurrent clients.

    .venv/bin/python benchmarks/serving.py --policy runs/cartpole     # a trained CartPole run
    .venv/bin/python benchmarks/serving.py                            # trains one first (~30-60 s)

One interleaved run, ``--rounds`` times over: for 1, 64 and 256 agents, a block of bare
forward passes (this process, torch on 1 thread, the agents' full K-step windows) then a
block of ``select_action`` calls by one GPTAPI client (msgpack) over HTTP on loopback;
then 16 clients of 16 agents each (asyncio tasks in one load process, one connection
each) call as fast as they can for ``--seconds``, for each of ``--transports`` (HTTP and
WebSocket), against a server with cross-request batching for each ``--window-ms``
(2 ms, the default) and one without (``--batch-window-ms -1``). Servers are
``agentgpt serve`` processes (torch on 1 thread), so clients and server never share a
GIL. Interleaving keeps the ratios fair on a shared machine, where absolute figures
drift; each round's batched block is also compared with the same round's unbatched one.

Targets (issue "Real-time serving"): 1 agent median < 3 ms; 256 agents median < 15 ms;
HTTP overhead (select_action median minus the bare forward median) < 1 ms; batching
>= 2x the decisions per second of unbatched serving at 16 clients.
Writes benchmarks/RESULTS-serving.md (and prints it).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

HERE = Path(__file__).resolve().parent
AGENT_COUNTS = (1, 64, 256)
CALLS = {1: 200, 64: 100, 256: 40}  # per block
CLIENTS, AGENTS_PER_CLIENT = 16, 16
WARM_CALLS = 3  # per client before each concurrent block
HORIZON_S = 1.2  # a batcher expects a client for 1 s after its last call (batching.py); wait that out


def agentgpt_command() -> list[str]:
    found = shutil.which("agentgpt", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "agentgpt_core"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def served(policy: Path, *options: str) -> Iterator[tuple[str, int]]:
    command = [*agentgpt_command(), "serve", "--policy", str(policy), "--port", "0", "--threads", "1", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("AGENTGPT_URL="):
            raise RuntimeError(f"{' '.join(command)} did not start (printed {line!r})")
        yield line.split("=", 1)[1], process.pid
    finally:
        process.terminate()
        process.wait(10)


def observations(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.normal(0, 0.05, (n, 4))).astype(np.float32)


# -- the load: 16 clients in one process ------------------------------------------------


def load_worker(commands: mp.Queue, results: mp.Queue) -> None:
    """Waits for (url, start_at, seconds); runs CLIENTS lean asyncio clients against url until time is up.

    Each client keeps one connection (HTTP keep-alive, or one WebSocket), sends its 16
    agents' fresh observations as msgpack, waits for the answer and decodes it, as fast
    as it can. The clients are lean (a prebuilt HTTP request head on an asyncio stream,
    websockets' own client) so that one process can drive the server harder than it
    can answer: what is measured is the server, not the client library.
    """
    import asyncio

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    while True:
        command = commands.get()
        if command is None:
            break
        results.put(asyncio.run(_load(*command)))


async def _load(url: str, start_at: float, seconds: float) -> list[float]:
    import asyncio

    rates = await asyncio.gather(*(_client(url, i, start_at, seconds) for i in range(CLIENTS)))
    return list(rates)


async def _client(url: str, index: int, start_at: float, seconds: float) -> float:
    """Calls per second of one client over the time it ran."""
    import asyncio

    from agentgpt_core.protocol.codecs import MSGPACK

    rng = np.random.default_rng(index)
    ids = list(range(AGENTS_PER_CLIENT))
    call = await (_ws_caller(url) if url.startswith("ws") else _http_caller(url, f"bench-{index}"))
    try:
        def args() -> dict:
            return {"action": "select_action", "args": {"agent_ids": ids, "observations": observations(AGENTS_PER_CLIENT, rng)}}

        for _ in range(WARM_CALLS):
            await call(args())
        await asyncio.sleep(max(0.0, start_at - time.time()))
        calls, began = 0, time.time()
        while time.time() < start_at + seconds:
            answer = MSGPACK.decode(await call(args()))
            if "actions" not in answer.get("result", answer):
                raise RuntimeError(f"select_action failed: {answer}")
            calls += 1
        return calls / max(time.time() - began, 1e-9)
    finally:
        await call(None)


async def _http_caller(url: str, session: str):
    """``call(args) -> answer bytes`` on one keep-alive connection; ``call(None)`` closes it."""
    import asyncio
    from urllib.parse import urlsplit

    from agentgpt_core.protocol.codecs import MSGPACK

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/msgpack\r\n"
        f"Accept: application/msgpack\r\nX-AgentGPT-Session: {session}\r\nContent-Length: "
    ).encode()

    async def call(args: dict | None) -> bytes:
        if args is None:
            writer.close()
            return b""
        body = MSGPACK.encode(args)
        writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        response_head = await reader.readuntil(b"\r\n\r\n")
        if not response_head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the server answered {response_head[:60]!r}")
        length = int(response_head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        return await reader.readexactly(length)

    return call


async def _ws_caller(url: str):
    """``call(args) -> answer bytes`` on one WebSocket (as a protocol message); ``call(None)`` closes it."""
    from websockets.asyncio.client import connect

    from agentgpt_core.protocol.codecs import MSGPACK

    socket = await connect(url, compression=None, max_size=None)
    ids = iter(range(1, 1 << 62))

    async def call(args: dict | None) -> bytes:
        if args is None:
            await socket.close()
            return b""
        await socket.send(MSGPACK.encode({"id": next(ids), "method": "invocations", "params": args}))
        return await socket.recv()

    return call


def batching_counts(api) -> tuple[int, int]:
    """(calls, forward passes) the server has answered so far."""
    status = api.status()
    batching = status["batching"]
    return (batching["calls"], batching["forward_passes"]) if batching else (status["forward_passes"], status["forward_passes"])


def concurrent_block(server: tuple[str, int], loader: mp.Queue, results: mp.Queue, seconds: float, load_pid: int) -> tuple[float, float, float]:
    """Decisions per second of all clients calling the server at once for ``seconds`` (each
    client's calls over the time it actually ran, summed), and the server's and the load
    process's CPU milliseconds per 1,000 decisions over the block (warm-up calls included,
    so a slight overestimate)."""
    url, pid = server
    start_at = time.time() + 1.0  # time for every client to connect and warm up first
    cpu_before, load_before = cpu_seconds(pid), cpu_seconds(load_pid)
    loader.put((url, start_at, seconds))
    rate = sum(results.get(timeout=300)) * AGENTS_PER_CLIENT
    cpu, load_cpu = cpu_seconds(pid) - cpu_before, cpu_seconds(load_pid) - load_before
    thousands = (rate * seconds + CLIENTS * WARM_CALLS * AGENTS_PER_CLIENT) / 1e3
    return rate, cpu * 1e3 / thousands, load_cpu * 1e3 / thousands


# -- in this process --------------------------------------------------------------------


def forward_block(policy, n: int, calls: int, rng) -> list[float]:
    import torch

    from agentgpt_core.policy import Window

    k = policy.max_input_states
    window = Window(
        torch.randn(n, k, policy.obs_dim, generator=torch.Generator().manual_seed(0)),
        torch.zeros(n, k, policy.action_feature_dim),
        torch.zeros(n, k),
        torch.ones(n, k, dtype=torch.bool),
    )
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        with torch.inference_mode():
            distribution, _ = policy(window)
            distribution.mode().numpy()
        times.append(time.perf_counter() - start)
    return times


def http_block(api, n: int, calls: int, rng) -> list[float]:
    ids = list(range(n))
    times = []
    for _ in range(calls):
        batch = observations(n, rng)
        start = time.perf_counter()
        api.select_action(ids, batch)
        times.append(time.perf_counter() - start)
    return times


def large_policy(out: Path) -> Path:
    """A randomly initialised CartPole policy of a size where the forward pass dominates a call."""
    import gymnasium
    import torch

    from agentgpt_core.policy import GPTActorCritic
    from agentgpt_core.policy.artifact import CHECKPOINT_NAME, policy_record

    config = {"d_model": 64, "num_layers": 2, "num_heads": 4, "dropout": 0.0, "max_input_states": 16}
    env = gymnasium.make("CartPole-v1")
    policy = GPTActorCritic(env.observation_space, env.action_space, **config)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(policy_record(policy, config), out / CHECKPOINT_NAME)
    return out


def train_policy(out: Path) -> Path:
    import gymnasium

    from agentgpt_core.train import load_hyperparameters, train

    hp = load_hyperparameters(None, {"max_steps": 50_000, "seed": 1, "checkpoint_every": 1000})
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("CartPole-v1")] * hp.num_envs, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
    )
    train(envs, hp, out, progress=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", type=Path, default=None, help="Run directory (default: train a CartPole one now).")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="Length of each concurrent block.")
    parser.add_argument("--window-ms", type=float, nargs="+", default=[5.0, 2.0],
                        help="Batching windows to measure at 16 clients, one batched server each; the first serves the latency blocks.")
    parser.add_argument("--transports", nargs="+", default=["http", "ws"], choices=["http", "ws"], help="Transports to measure at 16 clients.")
    parser.add_argument("--large", action=argparse.BooleanOptionalAction, default=False,
                        help="Also measure 16 HTTP clients against a larger, untrained policy (d_model 64, 2 layers, 4 heads, K = 16).")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-serving.md")
    args = parser.parse_args()

    import torch

    from agentgpt_core import GPTAPI
    from agentgpt_core.policy import load_policy

    torch.set_num_threads(1)
    began = time.time()
    policy_dir = args.policy or train_policy(Path(tempfile.mkdtemp(prefix="agentgpt-serving-")))
    policy, _ = load_policy(policy_dir)
    rng = np.random.default_rng(0)
    context = mp.get_context("spawn")
    results: mp.Queue = context.Queue()
    loader: mp.Queue = context.Queue()
    worker = context.Process(target=load_worker, args=(loader, results), daemon=True)
    worker.start()
    latency: dict[str, list[float]] = {}
    groups = {transport: (policy_dir, transport) for transport in args.transports}
    if args.large:
        groups["large http"] = (large_policy(Path(tempfile.mkdtemp(prefix="agentgpt-serving-large-"))), "http")
    servers = {}  # name -> (group, policy dir, transport, window ms; < 0: unbatched)
    for group, (path, transport) in groups.items():
        servers.update({f"{group} batched-{w:g}ms": (group, path, transport, w) for w in (args.window_ms if group in args.transports else args.window_ms[:1])})
        servers[f"{group} unbatched"] = (group, path, transport, -1)
    names = list(servers)
    throughput: dict[str, list[float]] = {name: [] for name in names}
    server_cpu: dict[str, list[float]] = {}
    client_cpu: dict[str, list[float]] = {}
    per_pass: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(served(path, "--transport", transport, "--batch-window-ms", str(w)))
            for name, (_, path, transport, w) in servers.items()
        }
        latency_server = f"http batched-{args.window_ms[0]:g}ms"
        http_url = urls[latency_server][0] if latency_server in urls else stack.enter_context(served(policy_dir, "--transport", "http"))[0]
        apis = {name: stack.enter_context(GPTAPI.connect(url)) for name, (url, _) in urls.items()}
        with GPTAPI.connect(http_url) as api:
            for n in AGENT_COUNTS:  # warm-up: imports, connections, full contexts
                forward_block(policy, n, 5, rng)
                http_block(api, n, 20, rng)
            for server in urls.values():  # the load process's imports and connections, not counted
                concurrent_block(server, loader, results, 0.5, worker.pid)
            for round_ in range(args.rounds):
                time.sleep(HORIZON_S)  # the batcher forgets the load's clients: the latency client is alone
                for n in AGENT_COUNTS:
                    latency.setdefault(f"forward-{n}", []).extend(forward_block(policy, n, CALLS[n], rng))
                    latency.setdefault(f"http-{n}", []).extend(http_block(api, n, CALLS[n], rng))
                order = names if round_ % 2 == 0 else names[::-1]
                for name in order:
                    before = batching_counts(apis[name])
                    rate, cpu_ms, load_ms = concurrent_block(urls[name], loader, results, args.seconds, worker.pid)
                    after = batching_counts(apis[name])
                    per_pass.setdefault(name, []).append((after[0] - before[0]) / max(after[1] - before[1], 1))
                    throughput[name].append(rate)
                    server_cpu.setdefault(name, []).append(cpu_ms)
                    client_cpu.setdefault(name, []).append(load_ms)
                print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    loader.put(None)
    worker.join(10)
    baselines = {name: f"{group} unbatched" for name, (group, *_) in servers.items()}
    write_results(args, latency, throughput, server_cpu, client_cpu, per_pass, baselines, time.time() - began)


def write_results(args, latency, throughput, server_cpu, client_cpu, per_pass, baselines, seconds) -> None:
    ms = {name: (np.median(t) * 1e3, np.percentile(t, 99) * 1e3, len(t)) for name, t in latency.items()}
    rows = []
    for n in AGENT_COUNTS:
        http, bare = ms[f"http-{n}"], ms[f"forward-{n}"]
        rows.append(f"| {n} | {bare[0]:.2f} | {bare[1]:.2f} | {http[0]:.2f} | {http[1]:.2f} | {http[0] - bare[0]:.2f} | {http[2]} |")
    overheads = [ms[f"http-{n}"][0] - ms[f"forward-{n}"][0] for n in AGENT_COUNTS]
    checks = {
        f"1 agent median < 3 ms ({ms['http-1'][0]:.2f} ms)": ms["http-1"][0] < 3,
        f"256 agents median < 15 ms ({ms['http-256'][0]:.2f} ms)": ms["http-256"][0] < 15,
        f"HTTP overhead < 1 ms above the forward pass (largest: {max(overheads):.2f} ms)": max(overheads) < 1,
    }
    def baseline(name: str) -> float:
        return np.median(throughput[baselines[name]])

    for name in throughput:
        if name != baselines[name]:
            ratio = np.median(throughput[name]) / baseline(name)
            checks[f"{name} >= 2x its unbatched decisions/s at {CLIENTS} clients ({ratio:.2f}x)"] = ratio >= 2
    def paired(name: str) -> list[float]:  # each round's ratio to its own unbatched block (interleaved)
        return [x / y for x, y in zip(throughput[name], throughput[baselines[name]])]

    table = [
        f"| {name} | {np.median(values):.0f} | {min(values):.0f}-{max(values):.0f} | {np.median(values) / baseline(name):.2f}x | "
        f"{', '.join(f'{r:.2f}' for r in paired(name))} | {np.median(server_cpu[name]):.0f} | {np.median(client_cpu[name]):.0f} | "
        f"{np.median(per_pass[name]):.1f} |"
        for name, values in throughput.items()
    ]
    lines = [
        "# Serving: select_action latency and cross-request batching",
        "",
        f"Command: `{' '.join(['.venv/bin/python benchmarks/serving.py', *sys.argv[1:]])}` "
        f"({args.rounds} interleaved rounds, {args.seconds:.0f} s concurrent blocks; policy: "
        f"{args.policy or 'a CartPole policy trained by the script (50k steps, seed 1)'}; d_model 32, 1 layer, K = 16; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs shared with other work; {seconds:.0f} s in all).",
        "",
        "Latency of one call, one client, msgpack over HTTP on 127.0.0.1, beside the bare forward pass",
        "(`policy(window)` + mode, torch 1 thread, the same batch, in the client's process):",
        "",
        "| agents | forward median ms | forward p99 ms | select_action median ms | select_action p99 ms | overhead (median) ms | calls |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "The overhead is everything a call adds to its forward pass: encoding, the HTTP round trip,",
        "the server's checks, context bookkeeping and any hand-off between the HTTP loop and a worker thread. The bare",
        "forward pass runs in this process and the served one in the server's, so on a shared machine the two can see",
        "different load (a negative overhead means the bare pass happened to be the slower one).",
        "",
        f"{CLIENTS} clients of {AGENTS_PER_CLIENT} agents each, calling `select_action` as fast as they can, each on its own",
        "connection (HTTP keep-alive or one WebSocket), msgpack; decisions per second, median and range over rounds. Each",
        "round ran every server, alternating the order, so each batched block has an unbatched block of the same transport",
        "in the same round beside it (the paired ratios):",
        "",
        "| server | decisions/s (median) | range | vs unbatched (medians) | paired ratio per round | server CPU ms / 1,000 decisions | load process CPU ms / 1,000 decisions | calls per forward pass |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
        *table,
        "",
        f"`batched-Nms` is `agentgpt serve --batch-window-ms N` ({args.window_ms[0]:g} ms is the default and served the latency",
        "blocks above); `unbatched` is `--batch-window-ms -1`, one forward pass per call. `large` rows serve an untrained",
        "policy of d_model 64, 2 layers, 4 heads (K = 16), compared with `large unbatched`. The 16 clients are asyncio tasks",
        "in one load process (a prebuilt HTTP request head on an asyncio stream; websockets' client), lean so that the",
        "figure is the server's and not a client library's; they decode every answer. Server and load CPU are each",
        "process's user + system time over the block divided by the decisions answered. Calls per pass is the",
        "server's own count (`status`: calls and forward passes) over each block, median over rounds.",
        "",
        *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()],
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
