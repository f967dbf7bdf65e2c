"""AgentGPT core: the Remote Gymnasium protocol, env hosting, remote env clients,
the GPT actor-critic trainer and the plugin system."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["GPTAPI", "RemoteEnv", "RemoteParallelEnv", "RemoteVectorEnv", "__version__"]


def __getattr__(name: str) -> Any:
    """``RemoteEnv``, ``RemoteParallelEnv``, ``RemoteVectorEnv`` and ``GPTAPI`` load on first use, so ``import agentgpt_core.kinds``
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
    if name == "GPTAPI":
        from .serve.client import GPTAPI

        return GPTAPI
    raise AttributeError(f"module 'agentgpt_core' has no attribute {name!r}")
