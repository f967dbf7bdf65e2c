"""The RESULTS-offpolicy.md tables from the per-seed JSON reports of ``offpolicy.py``.

A seed's two learners may sit in one report (``--which both``) or in two (``--which ours``
then ``--which sb3``); each learner's row comes from whichever report holds it. Prints one
markdown table per call: per seed, first evaluation at or above the target, final-policy
evaluation and learning time, then mean ± std (population std over the seeds) of the final
evaluations.

    python benchmarks/learning/offpolicy_summary.py --env Pendulum-v1 --steps 20000
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

LEARNERS = ("ours", "sb3")


def collect(results: Path, env: str, steps: int) -> dict[int, dict[str, dict]]:
    """{seed: {"ours" | "sb3": result}} from ``offpolicy-<env>-s<seed>-<steps>-<which>.json``."""
    pattern = re.compile(rf"offpolicy-{re.escape(env)}-s(\d+)-{steps}-(both|ours|sb3)\.json")
    seeds: dict[int, dict[str, dict]] = {}
    for path in sorted(results.glob(f"offpolicy-{env}-s*-{steps}-*.json")):
        match = pattern.fullmatch(path.name)
        if match is None:
            continue
        for result in json.loads(path.read_text())["results"]:
            learner = "ours" if result["learner"].startswith("agentgpt") else "sb3"
            seeds.setdefault(int(match.group(1)), {})[learner] = result
    return seeds


def cells(result: dict | None) -> list[str]:
    if result is None:
        return ["not run"] * 3
    hit = result["first_hit"]
    first = "never" if hit is None else f"{hit['global_step']:,} steps ({hit['mean_return']:.1f})"
    if hit is None and result["evaluations"]:
        first += f" (best {max(e['mean_return'] for e in result['evaluations']):.1f})"
    speed = f"{result['learning_seconds']:.1f} ({result['steps_per_second']:.1f})"
    return [first, f"{result['final_eval']['mean_return']:.1f}", speed]


def table(seeds: dict[int, dict[str, dict]], names: tuple[str, str]) -> str:
    header = ["seed"]
    for name in names:
        header += [f"{name}: first eval ≥ target at", f"{name}: final policy (20 ep.)", f"{name}: learning s (steps/s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + " ---: |" * len(header)]
    for seed in sorted(seeds):
        row = [str(seed)]
        for learner in LEARNERS:
            row += cells(seeds[seed].get(learner))
        lines.append("| " + " | ".join(row) + " |")
    summary = ["mean ± std"]
    for learner in LEARNERS:
        finals = [s[learner]["final_eval"]["mean_return"] for s in seeds.values() if learner in s]
        speeds = [s[learner]["steps_per_second"] for s in seeds.values() if learner in s]
        summary += ["", f"{np.mean(finals):.1f} ± {np.std(finals):.1f} (n={len(finals)})" if finals else "",
                    f"({np.mean(speeds):.1f})" if speeds else ""]  # fmt: skip
    lines.append("| " + " | ".join(summary) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--results", default="benchmarks/learning/results")
    parser.add_argument("--names", default="ours,SB3", help="column names of the two learners")
    args = parser.parse_args()
    print(table(collect(Path(args.results), args.env, args.steps), tuple(args.names.split(","))))


if __name__ == "__main__":
    main()
