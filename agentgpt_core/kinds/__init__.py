"""The plugin kinds: one small abstract class each, with a ``name``."""

from .env_adapter import EnvAdapter
from .host import Host
from .trainer import TrainerBackend
from .transport import Transport, TransportClient, TransportServer
from .tunnel import InMemoryTunnel, Tunnel

__all__ = [
    "EnvAdapter",
    "Host",
    "InMemoryTunnel",
    "TrainerBackend",
    "Transport",
    "TransportClient",
    "TransportServer",
    "Tunnel",
]
