"""The local trainer: PPO for the GPT actor-critic, its settings, checkpoints, eval and plots."""

from .evaluate import evaluate, evaluate_policy
from .hyperparameters import Hyperparameters, load_hyperparameters
from .plot import plot_run
from .ppo import TrainResult, UpdateReport, train

__all__ = [
    "Hyperparameters",
    "TrainResult",
    "UpdateReport",
    "evaluate",
    "evaluate_policy",
    "load_hyperparameters",
    "plot_run",
    "train",
]
