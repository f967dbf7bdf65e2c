"""Checkpoints that survive a kill at any moment.

The file is written next to its final name and moved into place with ``os.replace``
(atomic on POSIX and Windows), so a reader sees either the previous complete checkpoint
or the new complete one, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch


def save_atomically(record: dict[str, Any], path: Path) -> Path:
    return write_atomically(path, lambda file: torch.save(record, file))


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Have ``write`` fill a temporary file beside ``path``, sync it, then rename it over ``path``:
    a kill at any moment leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
