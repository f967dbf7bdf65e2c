"""Host plugin kind: runs env hosts somewhere (processes here, Docker, EC2...)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from .lifecycle import Closing


class Host(Closing):
    """Starts env hosts serving ``env_specs`` and says where to reach each; ``close()`` stops them all."""

    name: str

    @abstractmethod
    def launch(self, env_specs: list[str], **options: Any) -> str:
        """Start a host serving the specs; return its URL. Options: ``transport`` (a transport name), ``api_key``."""

    @abstractmethod
    def terminate(self) -> None:
        """Stop everything ``launch`` started; idempotent."""

    def close(self) -> None:
        self.terminate()
