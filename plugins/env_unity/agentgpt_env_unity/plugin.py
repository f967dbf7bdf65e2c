"""The ``agentgpt`` entry point of this distribution: registers the ``unity:`` env adapter."""

from .adapter import register_env_adapters

__all__ = ["register_env_adapters"]
