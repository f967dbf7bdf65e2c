"""A small pre-LayerNorm causal transformer over padded timestep windows.

Windows are right-aligned: the newest timestep is the last token, and positions before an
episode's start (or slots with no data) are padding marked ``valid=False``. Padding is
never attended to; each token may always attend to itself so no attention row is empty.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, queries: int) -> torch.Tensor:
        """Attend from the last ``queries`` tokens of ``x`` to all of them."""
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(
            q[:, :, -queries:], k, v, attn_mask=allowed[..., -queries:, :],
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.proj(out.transpose(1, 2).reshape(batch, queries, width))


class Block(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_attn, self.ln_mlp = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, num_heads, dropout)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, queries: int) -> torch.Tensor:
        """The block's output for the last ``queries`` tokens (fewer queries, less work)."""
        x = x[:, -queries:] + self.attn(self.ln_attn(x), allowed, queries)
        return x + self.mlp(self.ln_mlp(x))


class CausalTransformer(nn.Module):
    """Embedded tokens ``[batch, K, d_model]`` + ``valid [batch, K]`` -> last token's features."""

    def __init__(self, d_model: int, num_layers: int, num_heads: int, dropout: float, length: int):
        super().__init__()
        self.position = nn.Parameter(torch.randn(length, d_model) * 0.02)
        self.blocks = nn.ModuleList(Block(d_model, num_heads, dropout) for _ in range(num_layers))
        self.ln_out = nn.LayerNorm(d_model)
        self.register_buffer("causal", torch.ones(length, length).tril().bool(), persistent=False)
        self.register_buffer("diagonal", torch.eye(length).bool(), persistent=False)

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        allowed = self.causal & (valid[:, None, :] | self.diagonal)
        x = tokens + self.position
        # Only the newest token's output is used, so the last block computes just that query.
        for depth, block in enumerate(self.blocks, start=1):
            x = block(x, allowed[:, None], queries=1 if depth == len(self.blocks) else x.shape[1])
        return self.ln_out(x[:, -1])
