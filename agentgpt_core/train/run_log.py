"""What a run leaves behind while it learns: metrics files, TensorBoard events, a progress bar.

``metrics.jsonl`` (one JSON object per update) is the source of truth that ``plot_run``
and scripts read; ``metrics.csv`` has the same rows for spreadsheets; ``tb/`` holds
TensorBoard event files. All three are appended to on resume.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
TENSORBOARD_DIR = "tb"


class MetricsLog:
    def __init__(self, run_dir: Path, fields: list[str]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.fields = fields
        self.jsonl = open(run_dir / METRICS_JSONL, "a")
        csv_path = run_dir / METRICS_CSV
        new_csv = not csv_path.exists() or csv_path.stat().st_size == 0
        self.csv_file = open(csv_path, "a", newline="")
        self.csv = csv.DictWriter(self.csv_file, fieldnames=fields)
        if new_csv:
            self.csv.writeheader()
        self.tensorboard = SummaryWriter(str(run_dir / TENSORBOARD_DIR))

    def write(self, row: dict[str, Any]) -> None:
        step = row["global_step"]
        for name, value in row.items():
            if name != "global_step" and isinstance(value, int | float) and math.isfinite(value):
                self.tensorboard.add_scalar(name, value, step)
        self.jsonl.write(json.dumps(row) + "\n")
        self.jsonl.flush()
        self.csv.writerow({name: row.get(name) for name in self.fields})
        self.csv_file.flush()

    def close(self) -> None:
        self.tensorboard.close()
        self.jsonl.close()
        self.csv_file.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS_JSONL
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ProgressBar:
    """Steps, steps/s, mean episode return and ETA on one live line (silent when disabled)."""

    def __init__(self, total_steps: int, done_steps: int, enabled: bool) -> None:
        self.progress = None
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7.0f} steps/s"),
            TextColumn("return {task.fields[episode_return]}"),
            TimeRemainingColumn(),
        )
        self.task = self.progress.add_task(
            "train", total=total_steps, completed=done_steps, rate=0.0, episode_return="-"
        )
        self.progress.start()

    def update(self, steps: int, rate: float, episode_return: float) -> None:
        if self.progress is not None:
            shown = "-" if math.isnan(episode_return) else f"{episode_return:.1f}"
            self.progress.update(self.task, completed=steps, rate=rate, episode_return=shown)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
