"""Env hosting: the EnvService, operator env specs, and wire normalisation."""

from .served import ServedEnv
from .service import EnvService
from .specs import EnvSpec

__all__ = ["EnvService", "EnvSpec", "ServedEnv"]
