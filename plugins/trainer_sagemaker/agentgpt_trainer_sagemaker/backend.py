"""The ``sagemaker`` trainer backend: ``agentgpt train --trainer sagemaker`` and ``serve --sagemaker``.

It trains nowhere near this process (``remote = True``): ``submit`` starts a training job,
``deploy`` an endpoint. The ``--config`` file holds a ``sagemaker`` table (SageMakerConfig)
and, optionally, a ``hyperparameters`` table; flags override the latter.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import click

from agentgpt_core.kinds import TrainerBackend

from .errors import SageMakerError
from .config import ConfigError, file_hyperparameters, load_config


def one_line_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; a ConfigError or SageMakerError becomes the CLI's one-line error."""
    try:
        return call()
    except (ConfigError, SageMakerError) as exc:
        raise click.ClickException(str(exc)) from None


class SageMakerTrainer(TrainerBackend):
    name = "sagemaker"
    remote = True

    def train(self, envs: Any, hp: Any, out_dir: Path, *, resume: bool = False, progress: bool = True) -> Any:
        raise NotImplementedError("the sagemaker trainer runs in a training job: agentgpt train --trainer sagemaker --config FILE")

    def submit(self, env: str, *, config: Path | None, settings: dict[str, Any], job: dict[str, Any], wait: bool,
               echo: Callable[[str], None]) -> str:
        from .api import train_on_cloud

        def start() -> str:
            sagemaker_config = _config(config)
            given = dict(job)
            secrets = {"AGENTGPT_API_KEY": given.pop("api_key", None) or ""}
            if given.get("tunnel") == "ngrok":
                secrets["NGROK_AUTHTOKEN"] = os.environ.get("NGROK_AUTHTOKEN", "")  # the job opens the tunnel
            values = {**file_hyperparameters(config), **settings, "env": env, **{k: v for k, v in given.items() if v not in (None, ())}}
            return train_on_cloud(sagemaker_config, values, wait=wait, secrets=secrets, echo=echo)

        return one_line_errors(start)

    def deploy(self, *, config: Path | None, endpoint: str | None, policy: Path | None, options: dict[str, Any],
               echo: Callable[[str], None]) -> str:
        from .api import resolve_model_data
        from .aws import Aws
        from .endpoints import deploy

        def start() -> str:
            sagemaker_config = _config(config)
            aws = Aws.for_config(sagemaker_config)
            model_data = resolve_model_data(aws, sagemaker_config, endpoint, model_data=options.get("model_data"),
                                            job_name=options.get("job"), policy=policy)
            return deploy(aws, sagemaker_config, model_data, endpoint, echo=echo)

        return one_line_errors(start)


def _config(path: Path | None):
    if path is None:
        raise ConfigError("the sagemaker trainer needs --config FILE with a [sagemaker] table (role_arn, image_uri, output_path...): see docs/cloud.md")
    return load_config(path)
