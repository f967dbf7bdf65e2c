"""Every training setting, named once with its default, and how settings files override them.

The defaults are the ones whose final policy solves CartPole-v1 on every seed benchmarked
(see ``benchmarks/learning/RESULTS.md``);
other tasks bring a TOML or YAML file (``benchmarks/learning/pendulum.toml``) and/or
explicit overrides, applied in that order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..settings_files import read_settings_file


@dataclass
class Hyperparameters:
    # What to train on (the trainer itself receives ready envs; the CLI and benchmarks use these).
    env_id: str = "CartPole-v1"
    num_envs: int = 8  # parallel env rows a caller should create; the trainer uses envs.num_envs
    seed: int = 1

    # Budget and rollouts: one update = rollout_steps x num_envs env steps.
    max_steps: int = 100_000  # total env steps (summed over rows)
    rollout_steps: int = 64

    # PPO
    batch_size: int = 256  # samples per gradient step (minibatch)
    num_epochs: int = 5  # passes over each rollout
    # gamma 0.99 / lambda 0.95 see far enough ahead (~100 steps) to stop a balanced cart from
    # drifting off the track; with 0.98 / 0.8 some seeds' final policies ended at ~125 steps.
    gamma: float = 0.99
    gae_lambda: float = 0.95
    lr_init: float = 1e-3
    lr_end: float = 0.0  # learning rate falls linearly from lr_init to lr_end over max_steps
    clip_coef: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True  # per minibatch
    normalize_observations: bool = True  # running mean/std, stored in the policy
    # Divide rewards by the running std of the discounted return. On by default: with raw
    # CartPole rewards the value targets reach ~50, the value loss dominates the shared
    # transformer's gradient (clipped to max_grad_norm) and the policy stalls near 100 on
    # some seeds; scaled, all 10 seeds end at 500 (benchmarks/learning/RESULTS.md).
    normalize_rewards: bool = True

    # GPT policy
    d_model: int = 32
    num_layers: int = 1
    num_heads: int = 2
    dropout: float = 0.0
    max_input_states: int = 16  # K: timesteps of context per decision
    log_std_init: float = 0.0  # initial log-std of Gaussian (Box) actions, in [-1, 1] units

    # Compute: small models run fastest on one thread; more threads only fight the env hosts
    # (on 2 busy cores, 2 threads made CartPole training 13x slower than 1).
    torch_threads: int = 1

    # Run directory
    checkpoint_every: int = 50  # updates between checkpoints (one is always written at the end)

    # ---- Off-policy learner (algorithm = "offpolicy": SAC-style, agentgpt_core/train/offpolicy.py).
    # It also reads gamma, lr_init/lr_end, batch_size (windows per gradient step), max_grad_norm,
    # the GPT policy settings and rollout_steps (env steps per row between metrics rows).
    algorithm: str = "ppo"  # "ppo" | "offpolicy"
    buffer_size: int = 100_000  # timesteps kept for replay, all rows together; the oldest are dropped
    replay_on_disk: bool = False  # keep the replay in numpy.memmap files (run dir's replay_buffer/), not RAM
    learning_starts: int = 1_000  # env steps collected before the first gradient update
    replay_ratio: float = 1.0  # gradient updates per env step (raise it when env steps are expensive)
    tau: float = 0.005  # target networks move this fraction towards the online ones per update
    num_critics: int = 2  # Q heads; the bootstrap target takes their minimum
    critic_hidden: int = 256  # width of each Q head's two hidden layers
    alpha_init: float = 0.2  # initial entropy temperature (then tuned automatically)
    target_entropy_scale: float = 0.5  # target entropy: this x log(n) per categorical part, -1 per Box dim
    reward_scale: float = 1.0  # rewards are multiplied by this before learning

    def model_config(self) -> dict[str, Any]:
        """The settings that shape the network (stored in the checkpoint to rebuild it)."""
        return {
            "d_model": self.d_model,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "max_input_states": self.max_input_states,
            "normalize_observations": self.normalize_observations,
            "log_std_init": self.log_std_init,
        }


def _read_settings(path: Path) -> dict[str, Any]:
    data = read_settings_file(path)
    return dict(data.get("hyperparameters", data))


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Cast strings from a command line to the field's type; refuse what does not fit."""
    kind = type(default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    if kind is float and isinstance(value, int | str) and not isinstance(value, bool):
        return float(value)
    if kind is int and (isinstance(value, str) or (isinstance(value, float) and value.is_integer())):
        return int(float(value)) if isinstance(value, str) else int(value)
    raise ValueError(f"hyperparameter {name}={value!r} is not a {kind.__name__}")


def load_hyperparameters(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Hyperparameters:
    """Defaults, then the settings file at ``path``, then ``overrides`` (``None`` values skipped).

    A file may hold the fields at its top level or under a ``hyperparameters`` table.
    Unknown names raise ValueError, so a typo never silently trains with a default.
    """
    defaults = Hyperparameters()
    values = dataclasses.asdict(defaults)
    given = _read_settings(Path(path)) if path is not None else {}
    given.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise ValueError(f"unknown hyperparameters: {', '.join(unknown)}")
    for name, value in given.items():
        values[name] = _coerce(name, value, values[name])
    return Hyperparameters(**values)
