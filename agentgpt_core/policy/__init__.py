"""The GPT actor-critic policy: model, action distributions, context windows, artefact."""

from .artifact import CHECKPOINT_NAME, load_policy
from .context import ContextWindows
from .model import GPTActorCritic, Window

__all__ = ["CHECKPOINT_NAME", "ContextWindows", "GPTActorCritic", "Window", "load_policy"]
