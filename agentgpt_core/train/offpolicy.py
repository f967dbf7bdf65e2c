"""Off-policy, SAC-style learning for the GPT actor-critic with replay of trajectory segments.

For simulators where every env step is expensive (a Unity build in real time, a paid EC2
host, a home PC behind a slow link), each step should be learned from many times.
``train`` keeps every timestep in a replay buffer and makes ``replay_ratio`` gradient updates
per env step, in the spirit of AMAGO (off-policy, long-context transformer learning from
replayed trajectories), with Soft Actor-Critic's losses:

- **Replay of trajectory segments.** Each env row has its own ring buffer of timesteps
  (``TrajectoryReplay``). A training sample is the context window of ``max_input_states``
  (K) tokens ending at a random decision, plus the window one step later for the bootstrap
  target; tokens from before the episode's start (or already overwritten) are masked, exactly
  like the padding ``ContextWindows`` gives the actor. Observations are stored raw and
  normalised when sampled, so replayed and live windows always use the same statistics.
  With ``replay_on_disk`` the per-timestep arrays are ``numpy.memmap`` files in the run
  directory's ``replay_buffer/`` instead of RAM (the page cache keeps what is hot), read by
  the same sampling code.
  When an episode ends, its last observation (``infos["final_obs"]``, SAME_STEP autoreset)
  is stored as a final token, so a truncated episode bootstraps from it; a terminated one
  (or one whose final observation is missing, e.g. a lost host) does not.
- **Networks.** The policy is the ordinary ``GPTActorCritic`` (with tanh-squashed Box
  actions), so the run directory loads with ``load_policy``, ``agentgpt eval`` and
  ``agentgpt plot`` unchanged. Its transformer trunk is shared with ``num_critics`` Q heads
  ``Q(h, a)``, which read the trunk's features ``h`` and the action's token features. The
  critic loss trains the trunk; the actor (and the policy's value head, kept meaningful for
  serving as the soft value) learn on detached features, as in SAC-AE/DrQ: one transformer
  pass per window serves both, which matters on a CPU. A Polyak-averaged copy (``tau``)
  gives the targets, which take the minimum over the Q heads.
- **Every action kind.** Box parts use a reparameterised tanh-Gaussian; categorical parts
  (Discrete, MultiDiscrete, and the parts of Tuple/Dict hybrids) a straight-through
  one-hot sample, with their exact entropy. A single Discrete action uses the exact
  expectation over its n actions instead (discrete SAC), which has no sampling noise.
  The entropy temperature alpha is tuned towards a target entropy (``target_entropy_scale``
  x log n per categorical part, -1 per Box dimension).

Action masks (``info["action_mask"]``, masks.py): the actor samples only allowed actions;
every token stores its step's mask in the replay (and in its snapshot and on-disk files), and
a replayed decision's mask restricts the actor's expectation over discrete actions, its
successor's mask the target's next-state expectation. Alpha's target entropy counts only the
allowed choices of each branch (``scale x log allowed``), so a mask that leaves few choices
does not drive alpha up. An env without masks stores none; nothing changes for it.

Rows without data (``infos["alive"]`` False, e.g. an absent agent or a host-pool slot whose
host left) are filler: they store no token and no transition, earn no gradient updates, and
do not count as env steps. As in PPO, only live rows count toward ``max_steps``,
``learning_starts`` and the learning-rate schedule, and a step where no row is alive is not a
step at all: training pauses (``Pause``) until rows come back. An iteration is
``rollout_steps`` vector steps with live rows, after which a metrics row is written and, every
``checkpoint_every`` iterations, the checkpoint and its replay buffer (``replay-<N>.npz``
beside ``checkpoint.pt``; the checkpoint names it, so a kill at any moment leaves a
matching pair and ``--resume`` continues with the same data).
"""

from __future__ import annotations

import copy
import hashlib
import time
import zipfile
from collections import deque
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import nn
from torch.nn import functional as F

from ..masks import batch_masks, env_label, mask_branches
from ..policy import CHECKPOINT_NAME, ContextWindows, GPTActorCritic, Window
from ..policy.action_heads import CompositeHead, DiscreteHead, MultiDiscreteHead, SquashedBoxHead
from ..policy.artifact import policy_record, read_checkpoint
from ..policy.distributions import CategoricalDistribution, ProductDistribution, TanhGaussianDistribution
from .checkpoint import save_atomically, write_atomically
from .hyperparameters import Hyperparameters
from .ppo import EPISODE_WINDOW, Pause, TrainResult, UpdateReport, _alive_rows, _final_observations, as_mask_tensor
from .run_log import MetricsLog, ProgressBar

ALGORITHM = "offpolicy"
REPLAY_DIRECTORY = "replay_buffer"  # the memmap files of a replay_on_disk buffer, in the run directory
METRIC_FIELDS = [
    "update", "global_step", "wall_seconds", "steps_per_second", "learning_rate",
    "episode_return", "episode_length", "episodes", "gradient_updates", "replay_size",
    "critic_loss", "actor_loss", "value_loss", "q_mean", "entropy", "alpha", "alive_rows",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Replay of trajectory segments
# ---------------------------------------------------------------------------------------------


class TrajectoryReplay:
    """One ring buffer of timesteps per env row; samples (window, next window) pairs.

    A token is what the policy sees at a timestep: the raw flat observation, the previous
    action's features (with the "no previous action" flag) and the symlog previous reward.
    A *decision* token also gets the reward and ``continues`` (0 when the episode ended
    with no bootstrap) of the step taken from it, and becomes sampleable once its successor
    token (the next observation, or the episode's final observation) is stored.
    Positions are absolute per row (``written`` counts every token ever stored); slot =
    position % capacity.

    The per-slot arrays live in RAM, or with ``directory`` in ``numpy.memmap`` files there
    (one ``.npy`` per array), so a buffer larger than RAM is paged from disk; every method
    reads and writes them the same way either way. ``save`` writes one ``.npz`` snapshot in
    both cases (streamed from the files, never the whole buffer in RAM at once).

    Action masks (``action_mask``, bool ``[rows, slots, mask_width]``, True = allowed) are
    allocated when the first one is stored: a buffer that never saw one has no such array,
    snapshot file or checksum part, and every token stored before the first mask allows all.
    """

    DATA = ("observation", "previous_action", "previous_reward", "reward", "continues", "episode_start")
    SLOTS = DATA + ("sampleable",)  # one entry per (row, slot): in RAM or in the memmap files
    ROWS = ("written", "current_start", "starting", "awaiting_successor")  # per-row state, always in RAM

    def __init__(
        self, num_rows: int, buffer_size: int, obs_dim: int, action_feature_dim: int, directory: Path | None = None
    ) -> None:
        self.num_rows, self.capacity = num_rows, max(2, buffer_size // num_rows)
        self.directory = None if directory is None else Path(directory)
        shape = (num_rows, self.capacity)
        self.observation = self._allocate("observation", shape + (obs_dim,), np.float32)
        self.previous_action = self._allocate("previous_action", shape + (action_feature_dim,), np.float32)
        self.previous_reward = self._allocate("previous_reward", shape, np.float32)
        self.reward = self._allocate("reward", shape, np.float32)
        self.continues = self._allocate("continues", shape, np.float32)
        self.episode_start = self._allocate("episode_start", shape, np.int64)  # position of its episode's first token
        self.sampleable = self._allocate("sampleable", shape, bool)
        self.action_mask: np.ndarray | None = None
        self.written = np.zeros(num_rows, np.int64)
        self.current_start = np.zeros(num_rows, np.int64)
        self.starting = np.ones(num_rows, bool)  # the row's next token starts an episode
        self.awaiting_successor = np.zeros(num_rows, bool)  # its newest token is a finished decision

    def _allocate(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        if self.directory is None:
            return np.zeros(shape, dtype)
        self.directory.mkdir(parents=True, exist_ok=True)  # a new (sparse, zero) file, replacing any old one
        return np.lib.format.open_memmap(self.directory / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    def __len__(self) -> int:
        return int(np.minimum(self.written, self.capacity).sum())

    def allocate_masks(self, width: int) -> np.ndarray:
        """The action-mask array (every action allowed), made the first time it is needed."""
        if self.action_mask is None:
            self.action_mask = self._allocate("action_mask", (self.num_rows, self.capacity, width), bool)
            self.action_mask[...] = True
        return self.action_mask

    @property
    def data_names(self) -> tuple[str, ...]:
        return self.DATA + (("action_mask",) if self.action_mask is not None else ())

    def add(
        self, observation, previous_action, previous_reward, rows: np.ndarray, final: bool = False,
        mask: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        """Store a token for each row in the bool mask ``rows``; ``final`` marks the observation
        that ended an episode (no decision is taken from it; the row's next token starts one).
        ``mask`` (bool ``[rows, mask_width]``) is each token's action mask; None allows all."""
        r = np.flatnonzero(rows)
        if len(r) == 0:
            return
        if mask is not None:
            self.allocate_masks(mask.shape[-1])
        begins = r[self.starting[r]] if not final else r[:0]
        self.current_start[begins] = self.written[begins]
        self.starting[begins] = False
        waiting = r[self.awaiting_successor[r]]
        self.sampleable[waiting, (self.written[waiting] - 1) % self.capacity] = True
        self.awaiting_successor[r] = False
        slot = self.written[r] % self.capacity
        self.observation[r, slot] = observation[r]
        self.previous_action[r, slot] = previous_action[r]
        self.previous_reward[r, slot] = previous_reward[r]
        self.reward[r, slot], self.continues[r, slot] = 0.0, 0.0
        self.episode_start[r, slot] = self.current_start[r]
        self.sampleable[r, slot] = False
        if self.action_mask is not None:
            self.action_mask[r, slot] = True if mask is None else mask[r]
        self.written[r] += 1
        if final:
            self.starting[r] = True

    def record_step(self, reward: np.ndarray, continues: np.ndarray, rows: np.ndarray) -> None:
        """The step taken from each row's newest token: its reward and whether it bootstraps."""
        r = np.flatnonzero(rows)
        slot = (self.written[r] - 1) % self.capacity
        self.reward[r, slot], self.continues[r, slot] = reward[r], continues[r]
        self.awaiting_successor[r] = True

    def start_over(self) -> None:
        """After a resume the envs are reset: every row's next token starts an episode."""
        self.starting[:] = True
        self.awaiting_successor[:] = False

    def num_sampleable(self) -> int:
        return int(self.sampleable.sum())

    def decisions(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(rows, slots) of ``batch_size`` decisions drawn uniformly from the sampleable ones.

        Draws uniformly over the stored slots and redraws the few that are not sampleable
        (each row's newest token, episodes' final observations), so a draw costs O(batch)
        instead of a scan of the whole buffer (5 ms per batch at 400k timesteps); a buffer
        that is nearly all unsampleable falls back to the scan."""
        filled = np.minimum(self.written, self.capacity)
        ends = np.cumsum(filled)
        rows, slots, count = [], [], 0
        for _ in range(8):
            flat = rng.integers(ends[-1], size=2 * (batch_size - count))
            row = np.searchsorted(ends, flat, side="right")
            slot = flat - (ends[row] - filled[row])
            keep = np.asarray(self.sampleable[row, slot])
            rows.append(row[keep])
            slots.append(slot[keep])
            count += int(keep.sum())
            if count >= batch_size:
                return np.concatenate(rows)[:batch_size], np.concatenate(slots)[:batch_size]
        row, slot = np.nonzero(self.sampleable)
        pick = rng.integers(len(row), size=batch_size)
        return row[pick], slot[pick]

    def sample(self, batch_size: int, k: int, rng: np.random.Generator, normalize: Callable, masks: bool = False):
        """``batch_size`` random decisions as (window, next window, action features, reward, continues);
        with ``masks`` also each decision's and its successor's action mask (None, None without masks)."""
        rows, slots = self.decisions(batch_size, rng)
        written = self.written[rows]
        end = written - 1 - (written - 1 - slots) % self.capacity  # absolute position of each decision
        positions = end[:, None] + np.arange(-k + 1, 2)  # the K tokens up to the decision, and its successor
        valid = (positions >= self.episode_start[rows, slots][:, None]) & (positions >= (written - self.capacity)[:, None])
        at = (rows[:, None], positions % self.capacity)
        observation = normalize(np.asarray(self.observation[at]).reshape(-1, self.observation.shape[-1]))
        observation = torch.as_tensor(observation.reshape(batch_size, k + 1, -1))
        previous_action = torch.as_tensor(np.asarray(self.previous_action[at]))
        previous_reward = torch.as_tensor(np.asarray(self.previous_reward[at]))
        valid = torch.as_tensor(valid)
        window = Window(observation[:, :-1], previous_action[:, :-1], previous_reward[:, :-1], valid[:, :-1])
        next_window = Window(observation[:, 1:], previous_action[:, 1:], previous_reward[:, 1:], valid[:, 1:])
        action_features = previous_action[:, -1, :-1]  # the successor token carries the decision's action
        reward = torch.as_tensor(np.asarray(self.reward[rows, slots]))
        continues = torch.as_tensor(np.asarray(self.continues[rows, slots]))
        if not masks:
            return window, next_window, action_features, reward, continues
        if self.action_mask is None:
            return window, next_window, action_features, reward, continues, None, None
        mask = torch.as_tensor(np.asarray(self.action_mask[rows, slots]))
        next_mask = torch.as_tensor(np.asarray(self.action_mask[rows, positions[:, -1] % self.capacity]))
        return window, next_window, action_features, reward, continues, mask, next_mask

    def checksum(self, written: np.ndarray | None = None) -> str:
        """SHA-256 of every stored token (oldest first, row by row) up to ``written`` per row."""
        written = self.written if written is None else np.asarray(written)
        digest = hashlib.sha256()
        for row in range(self.num_rows):
            positions = np.arange(max(0, int(self.written[row]) - self.capacity), int(written[row]))
            for name in self.data_names:
                digest.update(np.ascontiguousarray(getattr(self, name)[row, positions % self.capacity]).tobytes())
        return digest.hexdigest()

    def save(self, path: Path) -> Path:
        """Write the buffer to ``path`` (.npz) atomically, like the checkpoint; numpy writes
        memmap arrays in 16 MiB chunks, so an on-disk buffer is never read into RAM whole."""
        arrays = {name: getattr(self, name) for name in self.SLOTS + self.ROWS}
        if self.action_mask is not None:
            arrays["action_mask"] = self.action_mask
        return write_atomically(path, lambda file: np.savez(file, **arrays))

    @classmethod
    def load(cls, path: Path, directory: Path | None = None) -> "TrajectoryReplay":
        """The buffer saved at ``path``, in RAM or (with ``directory``) in memmap files there,
        whichever way it was saved; arrays are streamed into place in chunks."""
        with zipfile.ZipFile(path) as archive:
            shapes = {}
            for name in ("observation", "previous_action"):
                with archive.open(f"{name}.npy") as member:
                    shapes[name] = _npy_header(member, name)[0]
            num_rows, capacity, obs_dim = shapes["observation"]
            replay = cls(num_rows, num_rows * capacity, obs_dim, shapes["previous_action"][-1], directory)
            for name in cls.SLOTS:
                _stream_npy(archive, name, getattr(replay, name))
            if "action_mask.npy" in archive.namelist():
                with archive.open("action_mask.npy") as member:
                    width = _npy_header(member, "action_mask")[0][-1]
                _stream_npy(archive, "action_mask", replay.allocate_masks(width))
            for name in cls.ROWS:
                with archive.open(f"{name}.npy") as member:
                    setattr(replay, name, np.lib.format.read_array(member))
        return replay


def _npy_header(member, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the header of an open ``.npy`` member, leaving it at the data."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"replay array {name}: unsupported .npy version {version}")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(member)
    if fortran_order:
        raise ValueError(f"replay array {name}: Fortran order is not written by TrajectoryReplay.save")
    return shape, dtype


def _stream_npy(archive: zipfile.ZipFile, name: str, target: np.ndarray, chunk: int = 16 * 1024**2) -> None:
    """Copy array ``name`` of a ``.npz`` into ``target`` (RAM or memmap) 16 MiB at a time."""
    with archive.open(f"{name}.npy") as member:
        shape, dtype = _npy_header(member, name)
        if shape != target.shape or dtype != target.dtype:
            raise ValueError(f"replay array {name}: saved {shape} {dtype}, expected {target.shape} {target.dtype}")
        flat, offset = target.reshape(-1).view(np.uint8), 0
        while data := member.read(chunk):
            flat[offset : offset + len(data)] = np.frombuffer(data, np.uint8)
            offset += len(data)
        if offset != flat.size:
            raise ValueError(f"replay array {name}: {offset} of {flat.size} bytes saved")


# ---------------------------------------------------------------------------------------------
# Critics and the policy's soft value
# ---------------------------------------------------------------------------------------------


class QHeads(nn.Module):
    """``num_critics`` independent MLPs ``Q(h, a)`` over the trunk's features and an action's
    token features; ``forward`` returns ``[num_critics, batch]``."""

    def __init__(self, d_model: int, action_dim: int, hidden: int, num_critics: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Linear(d_model + action_dim, hidden), nn.ReLU(),
                nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, 1),
            )  # fmt: skip
            for _ in range(num_critics)
        )

    def forward(self, hidden: torch.Tensor, action_features: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([hidden, action_features], dim=-1)
        return torch.stack([head(inputs).squeeze(-1) for head in self.heads])


def reparameterised_sample(distribution) -> tuple[torch.Tensor, torch.Tensor]:
    """Token features of a sampled action that carry gradients back to the policy, and an
    entropy estimate per row (exact for categorical parts, -log pi(a) for tanh-Gaussians)."""
    if isinstance(distribution, TanhGaussianDistribution):
        action, log_prob = distribution.rsample_with_log_prob()
        return action, -log_prob
    if isinstance(distribution, CategoricalDistribution):
        probs = distribution.log_probs.exp()
        one_hot = F.one_hot(distribution.sample()[..., 0].long(), probs.shape[-1]).float()
        return one_hot + probs - probs.detach(), distribution.entropy()  # straight-through
    if isinstance(distribution, ProductDistribution):
        parts = [reparameterised_sample(part) for part in distribution.parts]
        return torch.cat([features for features, _ in parts], dim=-1), sum(entropy for _, entropy in parts)
    raise TypeError(f"the off-policy learner cannot sample {type(distribution).__name__} (squash Box actions)")


def soft_q(q_heads: QHeads, hidden: torch.Tensor, distribution) -> tuple[torch.Tensor, torch.Tensor]:
    """``E_pi[min_i Q_i(h, a)]`` and the policy's entropy, each ``[batch]``, differentiable in the policy."""
    if isinstance(distribution, CategoricalDistribution):  # one discrete choice: the exact expectation
        probs = distribution.log_probs.exp()
        batch, n = probs.shape
        every_action = torch.eye(n).expand(batch, n, n)
        q = q_heads(hidden.unsqueeze(1).expand(batch, n, hidden.shape[-1]), every_action).min(0).values
        return (probs * q).sum(-1), distribution.entropy()
    features, entropy = reparameterised_sample(distribution)
    return q_heads(hidden, features).min(0).values, entropy


def masked_entropy_shift(branches: list[int], log_sizes: torch.Tensor, mask: torch.Tensor | None, scale: float) -> torch.Tensor | float:
    """Per row, how far a mask lowers the target entropy: ``scale x (log allowed - log n)``
    summed over the categorical ``branches`` (masks.mask_branches; ``log_sizes`` their logs; 0 without a mask)."""
    if mask is None:
        return 0.0
    allowed = torch.stack([part.sum(-1) for part in torch.split(mask, branches, dim=-1)], -1).clamp(min=1)
    return scale * (allowed.float().log() - log_sizes).sum(-1)


def target_entropy(head, scale: float) -> float:
    """The entropy alpha steers towards: ``scale * log n`` per categorical, -1 per Box dimension."""
    if isinstance(head, DiscreteHead):
        return scale * float(np.log(head.n))
    if isinstance(head, MultiDiscreteHead):
        return scale * float(np.sum(np.log(head.nvec)))
    if isinstance(head, SquashedBoxHead):
        return -float(head.raw_dim)
    if isinstance(head, CompositeHead):
        return sum(target_entropy(part, scale) for part in head.parts)
    raise TypeError(f"the off-policy learner cannot act with {type(head).__name__}")


# ---------------------------------------------------------------------------------------------
# The learner
# ---------------------------------------------------------------------------------------------


def train(
    envs: gymnasium.vector.VectorEnv,
    hp: Hyperparameters,
    out_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_update: Callable[[UpdateReport], bool | None] | None = None,
) -> TrainResult:
    """Train a GPT actor-critic on ``envs`` off-policy; write checkpoint, replay and metrics to ``out_dir``."""
    mode = envs.metadata.get("autoreset_mode")
    if mode is not None and mode != AutoresetMode.SAME_STEP:
        raise ValueError(f"train() needs a VectorEnv with SAME_STEP autoreset, got {mode}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_file = out_dir / CHECKPOINT_NAME
    num_rows = envs.num_envs
    hp = replace(hp, num_envs=num_rows, algorithm=ALGORITHM)
    observation_space, action_space = envs.single_observation_space, envs.single_action_space
    env_name = env_label(envs)
    k = hp.max_input_states

    torch.set_num_threads(hp.torch_threads)
    torch.manual_seed(hp.seed)
    rng = np.random.default_rng(hp.seed)
    model_config = {**hp.model_config(), "squash_actions": True}
    policy = GPTActorCritic(observation_space, action_space, **model_config)
    q_heads = QHeads(hp.d_model, policy.action_head.feature_dim, hp.critic_hidden, hp.num_critics)
    online = nn.ModuleDict({"policy": policy, "q": q_heads})
    target = copy.deepcopy(online).requires_grad_(False).eval()
    log_alpha = torch.tensor(float(np.log(hp.alpha_init)), requires_grad=True)
    entropy_target = target_entropy(policy.action_head, hp.target_entropy_scale)
    branches = mask_branches(action_space)  # the mask's columns, branch by branch
    log_sizes = torch.tensor(branches, dtype=torch.float32).log()
    critic_parameters = [*policy.embed_token.parameters(), *policy.trunk.parameters(), *q_heads.parameters()]
    actor_parameters = [*policy.actor.parameters(), *policy.action_head.parameters(), *policy.critic.parameters()]
    critic_optimizer = torch.optim.Adam(critic_parameters, lr=hp.lr_init, foreach=True)
    actor_optimizer = torch.optim.Adam(actor_parameters, lr=hp.lr_init, foreach=True)
    alpha_optimizer = torch.optim.Adam([log_alpha], lr=hp.lr_init)
    online_tensors, target_tensors = list(online.parameters()), list(target.parameters())
    optimizers = (critic_optimizer, actor_optimizer, alpha_optimizer)
    replay_directory = out_dir / REPLAY_DIRECTORY if hp.replay_on_disk else None
    replay = None
    recent_returns, recent_lengths = deque(maxlen=EPISODE_WINDOW), deque(maxlen=EPISODE_WINDOW)
    episodes_done, global_step, update, gradient_updates, updates_owed, wall_before = 0, 0, 0, 0, 0.0, 0.0

    if resume and checkpoint_file.exists():
        record = read_checkpoint(checkpoint_file)
        state = record["trainer_state"]
        if state.get("algorithm") != ALGORITHM:
            raise ValueError(f"{checkpoint_file} was not written by the off-policy learner")
        policy.load_state_dict(record["model_state"])
        q_heads.load_state_dict(state["q_heads"])
        target.load_state_dict(state["target"])
        with torch.no_grad():
            log_alpha.fill_(state["log_alpha"])
        for optimizer, saved in zip(optimizers, state["optimizers"]):
            optimizer.load_state_dict(saved)
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        replay = TrajectoryReplay.load(out_dir / state["replay_file"], replay_directory)
        if replay.checksum() != state["replay_checksum"]:
            raise ValueError(f"{state['replay_file']} does not match {checkpoint_file}")
        replay.start_over()
        recent_returns.extend(state["recent_returns"])
        recent_lengths.extend(state["recent_lengths"])
        episodes_done, global_step, update = state["episodes"], state["global_step"], state["update"]
        gradient_updates, updates_owed = state["gradient_updates"], state["updates_owed"]
        wall_before = state["wall_seconds"]
    if replay is None:
        replay = TrajectoryReplay(num_rows, hp.buffer_size, policy.obs_dim, policy.action_feature_dim, replay_directory)

    steps_per_update = hp.rollout_steps * num_rows
    step_budget = max(1, hp.max_steps // steps_per_update) * steps_per_update  # whole iterations' worth of live steps
    started = time.perf_counter()

    def wall_seconds() -> float:
        return wall_before + time.perf_counter() - started

    def save_checkpoint() -> Path:
        # The replay goes to a new file first, then the checkpoint that names it, then older
        # replay files go: a kill at any moment leaves a checkpoint with its own replay.
        replay_file = f"replay-{update}.npz"
        replay.save(out_dir / replay_file)
        record = policy_record(policy, model_config)
        record["hyperparameters"] = asdict(hp)
        record["trainer_state"] = {
            "algorithm": ALGORITHM,
            "q_heads": q_heads.state_dict(),
            "target": target.state_dict(),
            "log_alpha": log_alpha.item(),
            "optimizers": [optimizer.state_dict() for optimizer in optimizers],
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": rng.bit_generator.state,
            "replay_file": replay_file,
            "replay_size": len(replay),
            "replay_checksum": replay.checksum(),
            "recent_returns": list(recent_returns),
            "recent_lengths": list(recent_lengths),
            "episodes": episodes_done,
            "global_step": global_step,
            "update": update,
            "gradient_updates": gradient_updates,
            "updates_owed": updates_owed,
            "wall_seconds": wall_seconds(),
        }
        saved = save_atomically(record, checkpoint_file)
        for old in out_dir.glob("replay-*.npz"):
            if old.name != replay_file:
                old.unlink(missing_ok=True)
        return saved

    def gradient_update(stats: dict[str, list[float]]) -> None:
        """One SAC update on a batch of replayed windows: critics (and trunk), actor, alpha, targets."""
        window, next_window, action_features, reward, continues, mask, next_mask = replay.sample(
            hp.batch_size, k, rng, policy.obs_normalizer.normalize, masks=True
        )
        alpha = log_alpha.exp().detach()
        with torch.no_grad():
            next_distribution = policy.action_head(policy.actor(policy.features(next_window)), next_mask)
            next_q, next_entropy = soft_q(target["q"], target["policy"].features(next_window), next_distribution)
            target_q = hp.reward_scale * reward + hp.gamma * continues * (next_q + alpha * next_entropy)

        hidden = policy.features(window)
        q = q_heads(hidden, action_features)
        critic_loss = 0.5 * (q - target_q).pow(2).mean(1).sum()
        critic_optimizer.zero_grad()
        critic_loss.backward()
        nn.utils.clip_grad_norm_(critic_parameters, hp.max_grad_norm)
        critic_optimizer.step()

        # The actor learns on the trunk's features without moving them; the value head learns
        # the soft value V(s) = E[Q] + alpha H, so a served policy reports a meaningful value.
        features = hidden.detach()
        q_heads.requires_grad_(False)  # the actor moves its actions, not the critics
        q_pi, entropy = soft_q(q_heads, features, policy.action_head(policy.actor(features), mask))
        soft_value = q_pi + alpha * entropy
        actor_loss = -soft_value.mean()
        value_loss = 0.5 * (policy.critic(features).squeeze(-1) - soft_value.detach()).pow(2).mean()
        actor_optimizer.zero_grad()
        (actor_loss + value_loss).backward()
        nn.utils.clip_grad_norm_(actor_parameters, hp.max_grad_norm)
        actor_optimizer.step()
        q_heads.requires_grad_(True)

        # mean(entropy - (target + shift)), written so that an unmasked run (shift 0) computes
        # exactly what it did before masks existed: same floats, same run for the same seed.
        shift = masked_entropy_shift(branches, log_sizes, mask, hp.target_entropy_scale)
        alpha_loss = log_alpha * (entropy.detach().mean() - entropy_target - (shift.mean() if torch.is_tensor(shift) else shift))
        alpha_optimizer.zero_grad()
        alpha_loss.backward()
        alpha_optimizer.step()

        with torch.no_grad():
            torch._foreach_lerp_(target_tensors, online_tensors, hp.tau)
        stats["critic_loss"].append(critic_loss.item())
        stats["actor_loss"].append(actor_loss.item())
        stats["value_loss"].append(value_loss.item())
        stats["q_mean"].append(q.mean().item())
        stats["entropy"].append(entropy.mean().item())
        stats["alpha"].append(alpha.item())

    log = MetricsLog(out_dir, METRIC_FIELDS)
    bar = ProgressBar(step_budget, global_step, enabled=progress)
    windows = ContextWindows(policy, num_rows)
    # A resumed run resets its envs with a different seed so it does not replay episodes.
    observation, infos = envs.reset(seed=hp.seed + update)
    alive = _alive_rows(infos, num_rows)
    mask = batch_masks(action_space, infos, num_rows, env_name, alive)
    flat = policy.flatten_observations(observation)
    policy.obs_normalizer.update(flat[alive])
    replay.add(flat, windows.pending_action, windows.pending_reward, alive, mask=mask)
    windows.observe(policy.obs_normalizer.normalize(flat), alive)
    episode_return, episode_length = np.zeros(num_rows), np.zeros(num_rows, np.int64)
    stopped_early = False
    pause = Pause()

    try:
        while global_step < step_budget and not stopped_early:
            learning_rate = hp.lr_init + min(global_step / hp.max_steps, 1.0) * (hp.lr_end - hp.lr_init)
            for optimizer in optimizers:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate
            stats = {name: [] for name in ("critic_loss", "actor_loss", "value_loss", "q_mean", "entropy", "alpha")}

            vector_steps, live_rows = 0, 0
            while vector_steps < hp.rollout_steps:
                # ---- Act for all rows in one batch, each row from its own context window.
                policy.eval()
                with torch.no_grad():
                    distribution, _ = policy(windows.window(), as_mask_tensor(mask))
                    raw_action = distribution.sample().numpy()
                observation, reward, terminated, truncated, infos = envs.step(policy.to_env_actions(raw_action))
                reward = np.asarray(reward, np.float64)
                terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
                if not alive.any() and not _alive_rows(infos, num_rows).any():
                    pause.wait()  # filler in, filler out: nothing is stored, counted or learned
                    continue
                pause.end()
                done = (terminated | truncated) & alive
                acted = int(alive.sum())
                global_step += acted  # real transitions only
                vector_steps, live_rows = vector_steps + 1, live_rows + acted

                episode_return[alive] += reward[alive]
                episode_length[alive] += 1
                for row in np.flatnonzero(done):
                    recent_returns.append(float(episode_return[row]))
                    recent_lengths.append(int(episode_length[row]))
                    episodes_done += 1
                episode_return[done], episode_length[done] = 0.0, 0

                # ---- Store the step; a finished episode also stores its final observation, which
                # a truncated episode bootstraps from (a terminated one, or one without it, does not).
                has_final = np.asarray(infos.get("_final_obs", np.zeros(num_rows, bool)), bool) & done
                continues = ~done | (truncated & ~terminated & has_final)
                replay.record_step(reward.astype(np.float32), continues.astype(np.float32), alive)
                windows.record(raw_action, reward, alive)
                if done.any():
                    final_flat = np.zeros_like(flat)
                    if has_final.any():
                        final_flat[has_final] = policy.flatten_observations(
                            _final_observations(observation_space, infos, has_final)
                        )
                    final_mask = batch_masks(action_space, infos.get("final_info") or {}, num_rows, env_name, has_final)
                    replay.add(final_flat, windows.pending_action, windows.pending_reward, done, final=True, mask=final_mask)
                windows.start_episodes(done)
                alive = _alive_rows(infos, num_rows)
                mask = batch_masks(action_space, infos, num_rows, env_name, alive)
                flat = policy.flatten_observations(observation)
                policy.obs_normalizer.update(flat[alive])
                replay.add(flat, windows.pending_action, windows.pending_reward, alive, mask=mask)
                windows.observe(policy.obs_normalizer.normalize(flat), alive)

                # ---- replay_ratio gradient updates per env step (of rows that had data).
                if global_step >= hp.learning_starts and replay.num_sampleable() > 0:
                    updates_owed += hp.replay_ratio * acted
                    policy.train()
                    while updates_owed >= 1.0:
                        gradient_update(stats)
                        gradient_updates += 1
                        updates_owed -= 1.0
            update += 1

            # ---- Log, checkpoint, report.
            elapsed = wall_seconds()
            metrics = {
                "update": update,
                "global_step": global_step,
                "wall_seconds": elapsed,
                "steps_per_second": global_step / max(elapsed, 1e-9),
                "learning_rate": learning_rate,
                "episode_return": float(np.mean(recent_returns)) if recent_returns else float("nan"),
                "episode_length": float(np.mean(recent_lengths)) if recent_lengths else float("nan"),
                "episodes": episodes_done,
                "gradient_updates": gradient_updates,
                "replay_size": len(replay),
                "alive_rows": live_rows / vector_steps,  # rows with real data, per step
                **{name: float(np.mean(series)) if series else float("nan") for name, series in stats.items()},
            }
            log.write(metrics)
            bar.update(global_step, metrics["steps_per_second"], metrics["episode_return"])
            policy.eval()
            if on_update is not None and on_update(UpdateReport(update, global_step, policy, metrics)):
                stopped_early = True
            if stopped_early or update % hp.checkpoint_every == 0 or global_step >= step_budget:
                save_checkpoint()
    finally:
        bar.close()
        log.close()

    if not checkpoint_file.exists():  # resumed a run that had already finished
        save_checkpoint()
    policy.eval()
    return TrainResult(
        checkpoint=checkpoint_file,
        global_step=global_step,
        wall_seconds=wall_seconds(),
        mean_episode_return=float(np.mean(recent_returns)) if recent_returns else float("nan"),
        updates=update,
        stopped_early=stopped_early,
    )
