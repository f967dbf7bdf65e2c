"""Host memory under rejected oversized actions (issue 16, item 4): RSS before, during, after.

Starts ``agentgpt launch`` (HTTP or WS, loopback) as its own process, makes CartPole,
then sends N steps whose action is a ~15 MB JSON list (CartPole wants one integer, so
each is refused with ``invalid_action``), and reads the host's RSS from /proc after
each. A host that keeps what it refused alive until the garbage collector runs grows
by the decoded size of each request (about 137 MB for 15 MB of JSON floats); one that
frees it at once stays flat. Prints one JSON line; ``--max-growth-mb`` makes it exit 1
above that growth (the fault test runs it so).

    .venv/bin/python benchmarks/oversized_actions.py --transport http --requests 50 [--codec msgpack]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

AGENTGPT = [sys.executable, "-m", "agentgpt_core"]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_host(transport: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AGENTGPT_API_KEY", None)
    process = subprocess.Popen(
        AGENTGPT + ["launch", "--transport", transport, "--host", "127.0.0.1", "--port", "0", "--env", "gym:CartPole-v1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    for line in process.stdout:
        if line.startswith("AGENTGPT_URL="):
            return process, line.split("=", 1)[1].strip()
    raise RuntimeError("the host did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", default="http", choices=["http", "ws"])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--mb", type=float, default=15.0, help="size of each action body")
    parser.add_argument("--codec", default="json", choices=["json", "msgpack"], help="msgpack sends the action as one raw float64 ndarray")
    parser.add_argument("--max-growth-mb", type=float, default=None)
    args = parser.parse_args()

    from agentgpt_core.protocol.errors import InvalidAction
    from agentgpt_core.remote.connect import connect

    if args.codec == "json":
        action = [0.5] * int(args.mb * 2**20 / 4)  # "0.5," is 4 bytes of JSON
    else:
        import numpy as np

        action = np.full(int(args.mb * 2**20 / 8), 0.5)
    process, url = start_host(args.transport)
    try:
        client = connect(url, codec=args.codec, timeout=120)
        key = client.call("make", {"env_name": "CartPole-v1"})["env_key"]
        client.call("reset", {"env_key": key})
        client.call("step", {"env_key": key, "action": 0})
        start = rss_mb(process.pid)
        samples, refused = [], 0
        began = time.perf_counter()
        for _ in range(args.requests):
            try:
                client.call("step", {"env_key": key, "action": action})
            except InvalidAction:
                refused += 1
            samples.append(rss_mb(process.pid))
        seconds = time.perf_counter() - began
        still_works = client.call("step", {"env_key": key, "action": 1})["reward"] == 1.0
        client.close()
        report = {
            "transport": args.transport, "codec": args.codec, "requests": args.requests, "refused": refused, "body_mb": args.mb,
            "rss_start_mb": round(start, 1), "rss_peak_mb": round(max(samples), 1), "rss_end_mb": round(samples[-1], 1),
            "growth_mb": round(max(samples) - start, 1), "seconds": round(seconds, 1), "valid_step_after": still_works,
        }  # fmt: skip
    finally:
        process.terminate()
        process.wait(10)
    print(json.dumps(report))
    ok = refused == args.requests and still_works
    if args.max_growth_mb is not None and report["growth_mb"] > args.max_growth_mb:
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
