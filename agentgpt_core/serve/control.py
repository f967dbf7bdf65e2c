"""The control value: one number in [0, 1] per agent that sets how well it plays.

Each decision, an agent with control value ``c`` takes the policy's action with
probability ``c`` and a uniformly random action from the action space otherwise
(an epsilon-greedy mixture with epsilon = 1 - c). So ``c = 1`` is the policy at its
best, ``c = 0`` has no capability at all (uniformly random play), and in between the
agent is the mixture policy ``pi_c = c * pi + (1 - c) * uniform``.

Why the mean return rises with ``c`` (docs/serving.md has the longer version): the
return of ``pi_c`` is a polynomial in ``c`` whose derivative is, by the policy-gradient
theorem, ``sum_t E_{s ~ pi_c}[Q_c(s, pi(s)) - Q_c(s, uniform)]``: how much better the
policy's action is than a random one, in the states the mixture visits. A trained
policy's action is never worse than a random one in expectation (that is what training
optimises), so the derivative is non-negative everywhere and the curve is monotone; the
coupling below makes it monotone sample by sample too: one uniform draw ``u`` per
decision decides, and raising ``c`` only turns random decisions into policy decisions,
never the other way round. ``benchmarks/control_value.py`` measures the curve.

With an action mask (masks.py) the random action is uniform over the allowed choices of
each branch, so a masked agent never plays a forbidden action whatever its control value.

Random actions are drawn in the policy's *raw* action form (an index for a categorical
part, a value in [-1, 1] for a bounded Box dimension), so they enter the agent's context
exactly like the policy's own actions and ``to_env`` maps both the same way.
"""

from __future__ import annotations

import numpy as np

from ..policy.action_heads import ActionHead, BoxHead, CompositeHead, DiscreteHead, MultiDiscreteHead


def random_raw_actions(head: ActionHead, rows: int, rng: np.random.Generator, mask: np.ndarray | None = None) -> np.ndarray:
    """``rows`` uniformly random actions of ``head``'s space, as raw actions ``[rows, raw_dim]``;
    with ``mask`` (bool ``[rows, mask_width]``) uniform over each row's allowed choices."""
    if isinstance(head, DiscreteHead):
        if mask is not None:
            return _allowed_choice(mask, rng)[:, None].astype(np.float32)
        return rng.integers(0, head.n, size=(rows, 1)).astype(np.float32)
    if isinstance(head, MultiDiscreteHead):
        if mask is not None:
            branches = np.split(mask, np.cumsum(head.nvec)[:-1], axis=1)
            return np.stack([_allowed_choice(branch, rng) for branch in branches], axis=1).astype(np.float32)
        return np.stack([rng.integers(0, n, size=rows) for n in head.nvec], axis=1).astype(np.float32)
    if isinstance(head, BoxHead):
        # Bounded dimensions: uniform on [-1, 1], which to_env maps onto [low, high]. Unbounded
        # ones have no uniform distribution; a standard normal is what gymnasium samples there.
        uniform = rng.uniform(-1.0, 1.0, size=(rows, head.raw_dim))
        return np.where(head.bounded, uniform, rng.standard_normal((rows, head.raw_dim))).astype(np.float32)
    if isinstance(head, CompositeHead):
        parts = np.split(mask, np.cumsum(head.mask_widths)[:-1], axis=1) if mask is not None else [None] * len(head.parts)
        return np.concatenate([random_raw_actions(part, rows, rng, m) for part, m in zip(head.parts, parts)], axis=1)
    raise TypeError(f"no uniform random action for {type(head).__name__}")


def _allowed_choice(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, a uniformly random index among the True columns (each row has one)."""
    return np.where(mask, rng.random(mask.shape), -1.0).argmax(1)


def mix(policy_action: np.ndarray, random_action: np.ndarray, control: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Row ``i`` keeps the policy's action when ``draws[i] < control[i]``, else the random one."""
    take_policy = np.asarray(draws) < np.asarray(control)
    return np.where(take_policy[:, None], policy_action, random_action)


def check_control_value(value) -> float:
    """A control value as a float in [0, 1], or ValueError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"a control value is a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"a control value is a number in [0, 1], got {value!r}")
    return value
