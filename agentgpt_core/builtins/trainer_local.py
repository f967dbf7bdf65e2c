"""The ``local`` trainer backend: the GPT actor-critic trained in this process.

Torch is imported only when training starts, so ``agentgpt --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..hookspecs import hookimpl
from ..kinds import TrainerBackend


class LocalTrainer(TrainerBackend):
    name = "local"

    def train(self, envs: Any, hp: Any, out_dir: Path, *, resume: bool = False, progress: bool = True) -> Any:
        from ..train import train

        return train(envs, hp, Path(out_dir), resume=resume, progress=progress)


@hookimpl
def register_trainers(register):
    register(LocalTrainer())
