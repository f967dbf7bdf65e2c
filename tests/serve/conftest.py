"""Serving tests: torch on one thread (the test machine's cores are shared)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
