"""The fake player's action mask reaches the trainer's rows and PPO honours it.

The Seeker build forbids branch 1's option 1 while an agent's goal is 2 (fake_player.py);
the goal is in the observation, so the audit below counts forbidden actions from what the
build showed, independently of the masks."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from agentgpt_core.envs import EnvService
from agentgpt_core.masks import MASK_INFO_KEY, batch_masks
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.remote import RemoteVectorEnv
from agentgpt_core.train import load_hyperparameters, train
from agentgpt_env_unity.adapter import UnityAdapter
from unity_helpers import free_port, leftover_processes

TINY = {
    "num_envs": 1, "rollout_steps": 16, "batch_size": 32, "num_epochs": 2, "d_model": 16,
    "num_layers": 1, "num_heads": 2, "max_input_states": 4, "checkpoint_every": 1, "max_steps": 240,
}  # fmt: skip


class Audit(gymnasium.vector.VectorWrapper):
    """Counts, per step, live rows whose goal is 2 and how many of them took branch 1's option 1."""

    def __init__(self, env, drop_masks: bool = False):
        super().__init__(env)
        self.drop_masks, self.masked_turns, self.forbidden, self.masks_seen = drop_masks, 0, 0, 0

    def _look(self, observation, infos):
        self.goal = observation["target"][:, :3].argmax(1)
        self.alive = np.asarray(infos["alive"], bool)
        if infos.get(MASK_INFO_KEY) is not None:
            masks = batch_masks(self.env.single_action_space, infos, self.num_envs, "seeker", self.alive)
            self.masks_seen += int(self.alive.sum())
            assert (masks[self.alive, 4] == (self.goal[self.alive] != 2)).all()  # column 4: branch 1, option 1
        if self.drop_masks:
            infos = {k: v for k, v in infos.items() if not k.endswith(MASK_INFO_KEY)}
        return infos

    def reset(self, **kwargs):
        observation, infos = self.env.reset(**kwargs)
        return observation, self._look(observation, infos)

    def step(self, actions):
        at_goal_2 = self.alive & (self.goal == 2)
        self.masked_turns += int(at_goal_2.sum())
        self.forbidden += int((at_goal_2 & (np.asarray(actions[1])[:, 1] == 1)).sum())
        observation, *rest, infos = self.env.step(actions)
        return observation, *rest, self._look(observation, infos)


@pytest.mark.timeout(200)
@pytest.mark.parametrize("drop_masks", [False, True], ids=["masked", "masks_dropped"])
def test_ppo_on_the_fake_player_never_takes_its_masked_option(build, tmp_path, drop_masks):
    adapter = UnityAdapter()
    spec = f"seeker=unity:{build}?behaviour=Seeker&base_port={free_port(2)}&param.agents=3&log_folder={tmp_path}"
    service = EnvService([spec], adapters={"unity": adapter}, idle_timeout_s=None)
    try:
        with get_plugin_manager().get("transports", "memory").server(service) as server:
            with RemoteVectorEnv(server.url, "seeker", 1, agent_rows=4) as remote:
                envs = Audit(remote, drop_masks)
                train(envs, load_hyperparameters(None, TINY), tmp_path / "run", progress=False)
    finally:
        service.close()
        adapter.close()
    assert envs.masked_turns > 20 and envs.masks_seen > 100
    if drop_masks:
        assert envs.forbidden > 3  # the same run without the masks takes the forbidden option
    else:
        assert envs.forbidden == 0
    assert leftover_processes(str(tmp_path)) == []
