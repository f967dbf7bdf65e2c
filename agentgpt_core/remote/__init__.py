"""Remote env clients: real Gymnasium envs whose simulators run on env hosts."""

from .connect import connect
from .env import RemoteEnv
from .vector import RemoteVectorEnv

__all__ = ["RemoteEnv", "RemoteVectorEnv", "connect"]
