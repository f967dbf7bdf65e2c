"""The policy artefact: a checkpoint that rebuilds the policy with no env around.

One file, ``checkpoint.pt`` (``torch.save`` of plain dicts and tensors, loaded with
``weights_only=True`` so loading never runs pickled code), holds the weights (including
the observation normaliser), the single-row observation and action spaces serialised with
:mod:`agentgpt_core.protocol.spaces`, the model settings, the hyperparameters and, for
``train(resume=True)``, the trainer's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .model import GPTActorCritic

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "agentgpt-gpt-actor-critic/1"


def policy_record(policy: GPTActorCritic, model_config: dict[str, Any]) -> dict[str, Any]:
    """The part of a checkpoint that ``load_policy`` needs."""
    from agentgpt_core.protocol.spaces import space_to_dict

    return {
        "format": FORMAT,
        "model_state": policy.state_dict(),
        "model_config": dict(model_config),
        "observation_space": space_to_dict(policy.observation_space),
        "action_space": space_to_dict(policy.action_space),
    }


def checkpoint_path(run_dir_or_ckpt: str | Path) -> Path:
    path = Path(run_dir_or_ckpt)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def read_checkpoint(run_dir_or_ckpt: str | Path) -> dict[str, Any]:
    path = checkpoint_path(run_dir_or_ckpt)
    record = torch.load(path, map_location="cpu", weights_only=True)
    if record.get("format") != FORMAT:
        raise ValueError(f"{path} is not an AgentGPT policy checkpoint (format {record.get('format')!r})")
    return record


def load_policy(run_dir_or_ckpt: str | Path) -> tuple[GPTActorCritic, dict[str, Any]]:
    """Rebuild the trained policy (in eval mode) from a run directory or checkpoint file.

    Returns ``(policy, metadata)``; metadata has the ``observation_space`` and
    ``action_space`` (gymnasium spaces), ``model_config``, ``hyperparameters`` (dict),
    ``global_step`` and the checkpoint ``path``.
    """
    from agentgpt_core.protocol.spaces import space_from_dict

    record = read_checkpoint(run_dir_or_ckpt)
    observation_space = space_from_dict(record["observation_space"])
    action_space = space_from_dict(record["action_space"])
    policy = GPTActorCritic(observation_space, action_space, **record["model_config"])
    policy.load_state_dict(record["model_state"])
    policy.eval()
    metadata = {
        "observation_space": observation_space,
        "action_space": action_space,
        "model_config": record["model_config"],
        "hyperparameters": record.get("hyperparameters", {}),
        "global_step": record.get("trainer_state", {}).get("global_step"),
        "path": checkpoint_path(run_dir_or_ckpt),
    }
    return policy, metadata
