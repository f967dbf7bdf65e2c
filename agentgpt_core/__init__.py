"""AgentGPT core: the Remote Gymnasium protocol, env hosting, remote env clients,
the GPT actor-critic trainer and the plugin system."""

from __future__ import annotations

from typing import Any

from ._version import __version__
__all__ = ["EnvLauncher", "GPTAPI", "RemoteEnv", "RemoteParallelEnv", "RemoteVectorEnv", "__version__"]


def __getattr__(name: str) -> Any:
    """``RemoteEnv``, ``RemoteParallelEnv``, ``RemoteVectorEnv``, ``GPTAPI`` and ``EnvLauncher`` load on first use, so ``import agentgpt_core.kinds``
    (a plugin, a torch-free host) imports nothing else of the core, and a game's client needs no torch."""
    if name == "RemoteEnv":
        from .remote.env import RemoteEnv

        return RemoteEnv
    if name == "RemoteParallelEnv":
        from .remote.parallel import RemoteParallelEnv

        return RemoteParallelEnv
    if name == "RemoteVectorEnv":
        from .remote.vector import RemoteVectorEnv

        return RemoteVectorEnv
    if name == "EnvLauncher":
        from .launcher import EnvLauncher

        return EnvLauncher
    if name == "GPTAPI":
        from .serve.client import GPTAPI

        return GPTAPI
    raise AttributeError(f"module 'agentgpt_core' has no attribute {name!r}")
