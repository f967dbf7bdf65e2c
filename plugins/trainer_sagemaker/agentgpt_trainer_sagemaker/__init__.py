"""AgentGPT on SageMaker: training jobs and real-time endpoints (the ``sagemaker`` plugin).

``train_on_cloud(config, hyperparameters)`` and ``run_on_cloud(config, user_endpoint_name=None)``
are the seeds' one-call entry points; ``agentgpt train --trainer sagemaker``, ``agentgpt serve
--sagemaker``, ``agentgpt jobs``, ``agentgpt endpoints`` and ``agentgpt image`` are the CLI's.
"""

from .config import ConfigError, SageMakerConfig, load_config

__all__ = ["ConfigError", "SageMakerConfig", "load_config", "train_on_cloud", "run_on_cloud"]


def __getattr__(name: str):  # the cloud calls pull in boto3 only when used
    if name in ("train_on_cloud", "run_on_cloud"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
