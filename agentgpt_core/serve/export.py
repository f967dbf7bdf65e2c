"""ONNX export: the policy as one graph a game can run itself (Unity Sentis, Unreal NNE, onnxruntime).

The graph takes the context window in the plainest form a game can build, and does
every policy-side transformation inside, so the game never re-implements the
observation normaliser, the symlog reward or the action features:

inputs (all float32, ``B`` dynamic, ``K`` = the policy's context length):
  observation      [B, K, D]  flattened raw observations, oldest first (Gymnasium's flatten order)
  previous_action  [B, K, R]  the raw action (the graph's ``action`` output) taken before each step; 0 at an episode's start
  previous_reward  [B, K]     the reward received before each step; 0 at an episode's start
  episode_start    [B, K]     1 for an episode's first step (it has no previous action), else 0
  valid            [B, K]     1 for real steps, 0 for padding; windows are right-aligned (newest last)

outputs (for the newest step of each row):
  action           [B, R]     the deterministic raw action (feed it back as ``previous_action``)
  action_<i>       env action of part i (i = 0 unless the space is a Tuple/Dict): int64 for
                   Discrete/MultiDiscrete (start included), float32 in the Box's bounds
  logits_<i>       [B, n]     log-probabilities of a categorical part (sample from these to explore)
  mean_<i>, std_<i>[B, d]     a Gaussian part in raw units (map a sample as ``action_<i>`` maps the mean)
  value            [B]        the critic's estimate

Only the ``(B, K)`` axes are shaped by the caller; export checks the graph against the
torch policy before returning.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..policy import GPTActorCritic, Window
from ..policy.action_heads import ActionHead, BoxHead, CompositeHead, DiscreteHead, MultiDiscreteHead

INPUTS = ("observation", "previous_action", "previous_reward", "episode_start", "valid")
OPSET = 18


def leaf_heads(head: ActionHead) -> list[ActionHead]:
    """The non-composite heads in order: one per ``action_<i>`` output."""
    if isinstance(head, CompositeHead):
        return [leaf for part in head.parts for leaf in leaf_heads(part)]
    return [head]


class ExportablePolicy(nn.Module):
    """The policy with its input and output conversions in torch ops (what the ONNX graph computes)."""

    def __init__(self, policy: GPTActorCritic) -> None:
        super().__init__()
        self.policy = policy.eval()
        normalizer = policy.obs_normalizer
        self.normalize, self.clip = normalizer.enabled, normalizer.clip
        self.leaves = leaf_heads(policy.action_head)
        for leaf in self.leaves:
            if isinstance(leaf, BoxHead):
                leaf.register_buffer("export_low", torch.as_tensor(leaf.low, dtype=torch.float32), persistent=False)
                leaf.register_buffer("export_high", torch.as_tensor(leaf.high, dtype=torch.float32), persistent=False)

    def output_names(self) -> list[str]:
        names = ["action"]
        for i, leaf in enumerate(self.leaves):
            names.append(f"action_{i}")
            names += [f"mean_{i}", f"std_{i}"] if isinstance(leaf, BoxHead) else [f"logits_{i}"]
        return names + ["value"]

    def forward(self, observation, previous_action, previous_reward, episode_start, valid):
        normalizer = self.policy.obs_normalizer
        if self.normalize:  # in float64, as RunningNormalizer.normalize does it in numpy
            scaled = (observation.double() - normalizer.mean) / torch.sqrt(normalizer.var + 1e-8)
            observation = scaled.clamp(-self.clip, self.clip).float()
        start = episode_start > 0.5
        features = self.policy.action_head.features(previous_action)
        features = torch.where(start.unsqueeze(-1), torch.zeros_like(features), features)
        previous = torch.cat([features, start.float().unsqueeze(-1)], dim=-1)
        reward = torch.sign(previous_reward) * torch.log1p(previous_reward.abs())
        distribution, value = self.policy(Window(observation, previous, reward, valid > 0.5))
        raw = distribution.mode()
        outputs = [raw]
        widths = [leaf.raw_dim for leaf in self.leaves]
        for leaf, piece, part in zip(self.leaves, torch.split(raw, widths, dim=-1), _flat_parts(distribution, self.policy.action_head)):
            outputs.append(_env_action(leaf, piece))
            outputs += _parameters(leaf, part)
        return (*outputs, value)


def _flat_parts(distribution: Any, head: ActionHead) -> list[Any]:
    """The leaf distributions, aligned with ``leaf_heads(head)``."""
    if isinstance(head, CompositeHead):
        return [leaf for part, sub in zip(distribution.parts, head.parts) for leaf in _flat_parts(part, sub)]
    return [distribution]


def _parameters(leaf: ActionHead, distribution: Any) -> list[torch.Tensor]:
    if isinstance(leaf, BoxHead):
        normal = distribution._dist
        return [normal.loc, normal.scale]
    if isinstance(leaf, MultiDiscreteHead):
        return [torch.cat([part.log_probs for part in distribution.parts], dim=-1)]
    return [distribution.log_probs]


def _env_action(leaf: ActionHead, raw: torch.Tensor) -> torch.Tensor:
    """``leaf.to_env`` in torch ops."""
    if isinstance(leaf, DiscreteHead):
        return raw[..., 0].round().long() + leaf.start
    if isinstance(leaf, MultiDiscreteHead):
        return raw.round().long() + torch.as_tensor(leaf.start)
    if isinstance(leaf, BoxHead):
        unit = raw.clamp(-1.0, 1.0)
        scaled = leaf.export_low + (unit + 1.0) * 0.5 * (leaf.export_high - leaf.export_low)
        return torch.where(leaf.clip_mask, scaled, raw)
    raise TypeError(f"cannot export {type(leaf).__name__}")


def example_inputs(policy: GPTActorCritic, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Zero windows of the right shapes (one real step per row), for tracing and tests."""
    k, raw_dim = policy.max_input_states, policy.action_head.raw_dim
    valid = torch.zeros(batch, k)
    valid[:, -1] = 1.0
    start = valid.clone()
    return (torch.zeros(batch, k, policy.obs_dim), torch.zeros(batch, k, raw_dim), torch.zeros(batch, k), start, valid)


def export_onnx(policy: GPTActorCritic, out: str | Path) -> Path:
    """Write ``policy`` as an ONNX graph to ``out`` (see the module docstring for its signature)."""
    module = ExportablePolicy(policy)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = module.output_names()
    dynamic = {name: {0: "batch"} for name in (*INPUTS, *names)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shapes are symbolic: the batch axis is dynamic
        torch.onnx.export(
            module, example_inputs(policy), str(out), input_names=list(INPUTS), output_names=names,
            dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    return out


def check_onnx(policy: GPTActorCritic, path: str | Path, rows: int = 64, seed: int = 0) -> dict[str, Any]:
    """Run the graph in onnxruntime beside the torch module on random windows; report the largest gaps.

    Returns ``{"inputs", "outputs", "max_abs_diff", "same_discrete_actions"}``; raises
    ImportError when onnxruntime is not installed (``pip install agentgpt-core[serve]``).
    """
    import numpy as np
    import onnxruntime

    generator = torch.Generator().manual_seed(seed)
    k = policy.max_input_states
    valid = (torch.rand(rows, k, generator=generator) < 0.8).float()
    valid[:, -1] = 1.0
    inputs = (
        torch.randn(rows, k, policy.obs_dim, generator=generator),
        torch.randn(rows, k, policy.action_head.raw_dim, generator=generator).clamp(-1, 1).abs(),
        torch.randn(rows, k, generator=generator),
        (torch.rand(rows, k, generator=generator) < 0.1).float(),
        valid,
    )
    module = ExportablePolicy(policy)
    with torch.no_grad():
        expected = [t.numpy() for t in module(*inputs)]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(None, {name: t.numpy() for name, t in zip(INPUTS, inputs)})
    names = module.output_names()
    gaps = {name: float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0)) for name, a, b in zip(names, expected, got)}
    discrete = [name for name, a in zip(names, expected) if np.issubdtype(a.dtype, np.integer)]
    return {
        "inputs": {i.name: i.shape for i in session.get_inputs()},
        "outputs": {o.name: o.shape for o in session.get_outputs()},
        "max_abs_diff": gaps,
        "same_discrete_actions": all(gaps[name] == 0 for name in discrete),
    }
