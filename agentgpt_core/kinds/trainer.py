"""Trainer backend plugin kind: turns envs and hyperparameters into a trained policy."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable


class TrainerBackend(ABC):
    """Trains a policy (``local`` is built in; ``sagemaker`` is a plugin).

    A backend that trains elsewhere (a cloud job) sets ``remote = True``: ``agentgpt train``
    then opens no envs here and hands the request to ``submit``; ``agentgpt serve --NAME``
    hands a policy to ``deploy``. Both raise ``click.ClickException`` for a one-line refusal.
    """

    name: str
    remote: bool = False

    @abstractmethod
    def train(self, envs: Any, hp: Any, out_dir: Path, *, resume: bool = False, progress: bool = True) -> Any:
        """Train on ``envs`` (a gymnasium VectorEnv) with ``hp``; write the run to ``out_dir``."""

    def submit(self, env: str, *, config: Path | None, settings: dict[str, Any], job: dict[str, Any], wait: bool,
               echo: Callable[[str], None]) -> str:
        """Remote backends: start training ``env`` (``settings``: hyperparameter overrides; ``job``:
        hosts, listen, tunnel..., and api_key, a secret the backend must keep out of anything it logs or lists; ``config``: the backend's settings file); return where the policy
        is (waited for) or the job's name (not waited for)."""
        raise NotImplementedError(f"the {self.name} trainer trains in this process")

    def deploy(self, *, config: Path | None, endpoint: str | None, policy: Path | None, options: dict[str, Any],
               echo: Callable[[str], None]) -> str:
        """Remote backends: serve a policy where this backend runs (an endpoint); return its name."""
        raise NotImplementedError(f"the {self.name} trainer has no endpoints")
