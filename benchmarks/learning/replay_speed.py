"""Replay buffer speed and memory, in RAM or on disk (``replay_on_disk``): one mode per process.

Fills a ``TrajectoryReplay`` with ``--timesteps`` random tokens (``--rows`` rows, MuJoCo-sized
observations and actions), then times ``sample`` (batch 256, K = 4, the Hopper setting), a
checkpoint snapshot (``save``) and its ``load``, and reports the process's anonymous memory
(``RssAnon``: what RAM must hold) and file-backed resident pages (``RssFile``: memmap pages the
kernel may drop and re-read) after sampling, so the two modes can be compared.

    python benchmarks/learning/replay_speed.py --timesteps 2000000
    python benchmarks/learning/replay_speed.py --timesteps 2000000 --on-disk
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from agentgpt_core.train.offpolicy import TrajectoryReplay


def resident_mib() -> dict[str, float]:
    """RssAnon and RssFile of this process (Linux ``/proc/self/status``), in MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {f"{name.lower()}_mib": round(int(fields[name].split()[0]) / 1024, 1) for name in ("RssAnon", "RssFile")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=2_000_000)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--obs-dim", type=int, default=17)
    parser.add_argument("--action-dim", type=int, default=6)
    parser.add_argument("--on-disk", action="store_true")
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=".") as scratch:
        scratch = Path(scratch)
        directory = scratch / "replay_buffer" if args.on_disk else None
        replay = TrajectoryReplay(args.rows, args.timesteps, args.obs_dim, args.action_dim + 1, directory)
        every = np.ones(args.rows, bool)
        observation = rng.normal(size=(args.rows, args.obs_dim)).astype(np.float32)
        action = rng.normal(size=(args.rows, args.action_dim + 1)).astype(np.float32)
        started = time.perf_counter()
        for step in range(args.timesteps // args.rows):
            final = step % 1000 == 999
            replay.add(observation, action, np.zeros(args.rows), every, final=final)
            if not final:
                replay.record_step(np.ones(args.rows), np.ones(args.rows), every)
        fill = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(args.samples):
            replay.sample(256, 4, rng, lambda x: x)
        sample_ms = (time.perf_counter() - started) / args.samples * 1000
        memory = resident_mib()
        started = time.perf_counter()
        replay.save(scratch / "snapshot.npz")
        save = time.perf_counter() - started
        del replay
        started = time.perf_counter()
        loaded = TrajectoryReplay.load(scratch / "snapshot.npz", scratch / "resumed" if args.on_disk else None)
        load = time.perf_counter() - started
        report = {
            "on_disk": args.on_disk, "timesteps": len(loaded), "rows": args.rows,
            "snapshot_mib": round((scratch / "snapshot.npz").stat().st_size / 2**20, 1),
            "fill_tokens_per_s": round(args.timesteps / fill), "sample_ms": round(sample_ms, 2),
            "save_s": round(save, 2), "load_s": round(load, 2),
            **memory,
        }  # fmt: skip
    print(json.dumps(report))


if __name__ == "__main__":
    main()
