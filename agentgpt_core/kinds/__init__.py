"""The plugin ABI: one small abstract class per kind, each with a ``name``.

This package depends on ``agentgpt_core.protocol`` only, so a plugin (or a policy
server, or a host without torch) can import it without the rest of the core.
docs/plugins.md shows each interface in a few lines.
"""

from .client import DeferredCall, TransportClient
from .env_adapter import EnvAdapter, EnvStartError
from .gateway import Gateway, HostLink
from .host import Host, HostError, HostRun
from .service import Service
from .trainer import TrainerBackend
from .transport import Transport, TransportServer, Unsupported
from .tunnel import Tunnel, TunnelError

__all__ = [
    "DeferredCall",
    "EnvAdapter",
    "EnvStartError",
    "Gateway",
    "Host",
    "HostError",
    "HostLink",
    "HostRun",
    "Service",
    "TrainerBackend",
    "Transport",
    "TransportClient",
    "TransportServer",
    "Tunnel",
    "TunnelError",
    "Unsupported",
]
