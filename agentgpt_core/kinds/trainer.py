"""Trainer backend plugin kind: turns envs and hyperparameters into a trained policy."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class TrainerBackend(ABC):
    """Trains a policy (``local`` is built in; ``sagemaker`` is a plugin)."""

    name: str

    @abstractmethod
    def train(self, envs: Any, hp: Any, out_dir: Path, *, resume: bool = False, progress: bool = True) -> Any:
        """Train on ``envs`` (a gymnasium VectorEnv) with ``hp``; write the run to ``out_dir``."""
