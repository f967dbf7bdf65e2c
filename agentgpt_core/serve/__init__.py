"""Real-time serving: the InferenceService a transport serves, and the GPTAPI client."""

from .errors import TooManyAgents
from .service import ACTIONS, METHODS, InferenceService

__all__ = ["ACTIONS", "METHODS", "InferenceService", "TooManyAgents"]
