"""The local trainer: PPO or the off-policy learner for the GPT actor-critic, its settings,
checkpoints, eval and plots."""

from .evaluate import evaluate, evaluate_policy
from .hyperparameters import Hyperparameters, load_hyperparameters
from .plot import plot_run
from .ppo import TrainResult, UpdateReport
from .ppo import train as train_ppo

ALGORITHMS = ("ppo", "offpolicy")


def train(envs, hp: Hyperparameters, out_dir, **options) -> TrainResult:
    """Train with the learner ``hp.algorithm`` names: ``ppo.train`` or ``offpolicy.train``."""
    if hp.algorithm == "ppo":
        return train_ppo(envs, hp, out_dir, **options)
    if hp.algorithm == "offpolicy":
        from .offpolicy import train as train_offpolicy

        return train_offpolicy(envs, hp, out_dir, **options)
    raise ValueError(f"unknown algorithm {hp.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")


__all__ = [
    "ALGORITHMS",
    "Hyperparameters",
    "TrainResult",
    "UpdateReport",
    "evaluate",
    "evaluate_policy",
    "load_hyperparameters",
    "plot_run",
    "train",
]
