"""Action distributions the actor head can produce, behind one small interface.

PPO needs four things from a policy's output: ``sample`` (collect), ``mode`` (evaluate
and serve deterministically), ``log_prob`` (the ratio) and ``entropy`` (the bonus).
Every distribution here works on a *raw action*: a float tensor ``[batch, raw_dim]``.
A categorical choice is one column holding the index, a Gaussian is its vector, and a
hybrid action is the concatenation of its parts, so the rollout buffer stores every
action kind the same way and only the heads know how to turn it into an env action.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import torch
from torch.distributions import Normal

# The logit of an action an action mask forbids (masks.py): finite, so log_softmax, the
# entropy's p * log p (exactly 0 * -1e9 = 0) and gradients stay finite, yet its
# probability underflows to 0 and Gumbel noise (below ~20) can never lift it to a sample.
MASKED_LOGIT = -1e9


class ActionDistribution(Protocol):
    """The interface PPO uses; log_prob and entropy return ``[batch]``."""

    raw_dim: int

    def sample(self) -> torch.Tensor: ...

    def mode(self) -> torch.Tensor: ...

    def log_prob(self, raw_action: torch.Tensor) -> torch.Tensor: ...

    def entropy(self) -> torch.Tensor: ...


class CategoricalDistribution:
    """One discrete choice among ``logits.shape[-1]``; the raw action is its index.

    Written out rather than wrapping ``torch.distributions.Categorical``: Gumbel-max
    sampling and one log-softmax are several times faster on CPU for the small batches a
    rollout step has, and the policy samples once per env step.
    """

    raw_dim = 1

    def __init__(self, logits: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        if mask is not None:  # forbidden choices get ~zero probability, with no inf to make NaNs
            logits = logits.masked_fill(~mask, MASKED_LOGIT)
        self.log_probs = logits.log_softmax(-1)

    def sample(self) -> torch.Tensor:
        uniform = torch.rand_like(self.log_probs).clamp_(1e-20, 1.0)
        return (self.log_probs - (-uniform.log()).log()).argmax(-1, keepdim=True).float()

    def mode(self) -> torch.Tensor:
        return self.log_probs.argmax(-1, keepdim=True).float()

    def log_prob(self, raw_action: torch.Tensor) -> torch.Tensor:
        return self.log_probs.gather(-1, raw_action.round().long()).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        return -(self.log_probs.exp() * self.log_probs).sum(-1)


class DiagGaussianDistribution:
    """Independent Gaussians; the head maps samples to the Box bounds, so no squashing term."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self._dist = Normal(mean, log_std.expand_as(mean).exp(), validate_args=False)
        self.raw_dim = mean.shape[-1]

    def sample(self) -> torch.Tensor:
        return self._dist.sample()

    def mode(self) -> torch.Tensor:
        return self._dist.mean

    def log_prob(self, raw_action: torch.Tensor) -> torch.Tensor:
        return self._dist.log_prob(raw_action).sum(-1)

    def entropy(self) -> torch.Tensor:
        return self._dist.entropy().sum(-1)


class TanhGaussianDistribution:
    """A Gaussian squashed by tanh into (-1, 1): the bounded, reparameterisable actions
    the off-policy learner (``train/offpolicy.py``) needs. The raw action is the squashed
    value, so the Box head maps it onto the bounds exactly as it does a clipped sample;
    ``log_prob`` includes the tanh Jacobian, and ``entropy`` is a one-sample estimate.
    """

    EPSILON = 1e-6

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self._dist = Normal(mean, log_std.exp(), validate_args=False)
        self.raw_dim = mean.shape[-1]

    def _log_prob_of(self, unsquashed: torch.Tensor, squashed: torch.Tensor) -> torch.Tensor:
        return (self._dist.log_prob(unsquashed) - torch.log1p(-squashed.pow(2) + self.EPSILON)).sum(-1)

    def rsample_with_log_prob(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised sample (gradients flow to mean and log-std) and its log-probability."""
        unsquashed = self._dist.rsample()
        squashed = torch.tanh(unsquashed)
        return squashed, self._log_prob_of(unsquashed, squashed)

    def sample(self) -> torch.Tensor:
        return torch.tanh(self._dist.sample())

    def mode(self) -> torch.Tensor:
        return torch.tanh(self._dist.mean)

    def log_prob(self, raw_action: torch.Tensor) -> torch.Tensor:
        squashed = raw_action.clamp(-1.0 + self.EPSILON, 1.0 - self.EPSILON)
        return self._log_prob_of(torch.atanh(squashed), squashed)

    def entropy(self) -> torch.Tensor:
        return -self.rsample_with_log_prob()[1]


class ProductDistribution:
    """Independent parts side by side (MultiDiscrete, Tuple and Dict action spaces).

    The joint log-probability and entropy are the sums over the parts; the raw action is
    the parts' raw actions concatenated in order.
    """

    def __init__(self, parts: Sequence[ActionDistribution]) -> None:
        self.parts = list(parts)
        self.widths = [part.raw_dim for part in self.parts]
        self.raw_dim = sum(self.widths)

    def sample(self) -> torch.Tensor:
        return torch.cat([part.sample() for part in self.parts], dim=-1)

    def mode(self) -> torch.Tensor:
        return torch.cat([part.mode() for part in self.parts], dim=-1)

    def log_prob(self, raw_action: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(raw_action, self.widths, dim=-1)
        return sum(part.log_prob(piece) for part, piece in zip(self.parts, pieces))

    def entropy(self) -> torch.Tensor:
        return sum(part.entropy() for part in self.parts)
