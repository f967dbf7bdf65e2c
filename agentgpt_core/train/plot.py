"""Learning-curve PNG of a run: mean episode return against env steps, from metrics.jsonl."""

from __future__ import annotations

import math
from pathlib import Path

from .run_log import read_metrics


def plot_run(run_dir: str | Path, out_png: str | Path | None = None) -> Path:
    """Write the learning curve of ``run_dir`` to ``out_png`` (default ``run_dir/learning_curve.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    run_dir = Path(run_dir)
    out_png = Path(out_png) if out_png is not None else run_dir / "learning_curve.png"
    rows = [r for r in read_metrics(run_dir) if not math.isnan(r.get("episode_return", math.nan))]
    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.plot([r["global_step"] for r in rows], [r["episode_return"] for r in rows])
    axes.set_xlabel("env steps")
    axes.set_ylabel("mean episode return")
    axes.set_title(run_dir.name)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out_png, dpi=100)
    pyplot.close(figure)
    return out_png
