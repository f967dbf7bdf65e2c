"""Host plugin kind: runs env hosts somewhere (this process, Docker, EC2...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Host(ABC):
    """Starts an env host serving ``env_specs`` and says where to reach it."""

    name: str

    @abstractmethod
    def launch(self, env_specs: list[str], **options: Any) -> str:
        """Start a host serving the specs; return its URL."""

    @abstractmethod
    def terminate(self) -> None:
        """Stop everything ``launch`` started; idempotent."""

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()
