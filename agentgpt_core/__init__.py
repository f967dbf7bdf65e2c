"""AgentGPT core: the Remote Gymnasium protocol, env hosting, remote env clients,
the GPT actor-critic trainer and the plugin system."""

__version__ = "0.1.0"

from .remote import RemoteEnv, RemoteVectorEnv  # noqa: E402

__all__ = ["RemoteEnv", "RemoteVectorEnv", "__version__"]
