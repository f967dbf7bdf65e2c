"""The ``unity:`` adapter behind the core's EnvService (the path every transport takes), on the fake player."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from agentgpt_core.envs import EnvService
from agentgpt_core.kinds import EnvStartError
from agentgpt_core.protocol.errors import InvalidArgument
from agentgpt_core.protocol.spaces import space_from_dict
from agentgpt_env_unity.adapter import UnityAdapter
from agentgpt_env_unity.settings import UnitySettings
from unity_helpers import free_port, leftover_processes


def service_for(spec: str) -> tuple[EnvService, UnityAdapter]:
    adapter = UnityAdapter()
    return EnvService([spec], adapters={"unity": adapter}, idle_timeout_s=None), adapter


@pytest.fixture
def seeker(build, tmp_path):
    spec = f"seeker=unity:{build}?behaviour=Seeker&base_port={free_port(2)}&param.agents=3&param.log_actions=1&log_folder={tmp_path}"
    service, adapter = service_for(spec)
    yield service
    service.close()
    adapter.close()
    assert leftover_processes(str(tmp_path)) == []


def wire(value):
    """What a JSON transport makes of a value (arrays become lists)."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist()))


def test_spaces_are_named_sensors_and_mixed_actions(seeker):
    made = seeker.handle("make", {"env_name": "seeker"})
    observation_space = space_from_dict(made["observation_space"])
    assert isinstance(observation_space, spaces.Dict) and set(observation_space) == {"target", "camera"}
    assert observation_space["camera"].shape == (8, 8, 1) and observation_space["target"].shape == (4,)
    action_space = space_from_dict(made["action_space"])
    assert action_space == spaces.Tuple((spaces.Box(-1, 1, (1,), np.float32), spaces.MultiDiscrete([3, 2])))
    agents = made["agents"]
    assert len(agents) == 3 and all(isinstance(a, int) for a in agents) and agents != [0, 1, 2]


def test_a_round_on_the_wire_joins_leaves_ends_and_restarts_in_stable_slots(seeker, tmp_path):
    made = seeker.handle("make", {"env_name": "seeker"})
    first = made["agents"]
    action_space = space_from_dict(made["action_space"])
    answer = wire(seeker.handle("reset", {}))
    history = []
    rng = np.random.default_rng(0)
    sent = []
    for _ in range(26):
        action = []
        for slot, observation in enumerate(answer["observation"]):
            if observation is None:
                action.append(None)
                continue
            mask = answer["info"][slot]["action_mask"]
            assert [len(m) for m in mask] == [3, 2]
            goal = int(np.argmax(observation["target"][:3]))
            assert list(mask[1]) == ([1, 0] if goal == 2 else [1, 1])  # the build forbids option 1 at goal 2
            # Gymnasium's own masked sampling honours it as given (1 = allowed)
            sampled = action_space.sample(mask=(None, tuple(np.asarray(m, dtype=np.int8) for m in mask)))
            assert mask[1][int(sampled[1][1])] == 1
            action.append([[float(np.float32(rng.uniform(-1, 1)))], [int(rng.integers(3)), int(sampled[1][1])]])
        sent.append(action)
        answer = wire(seeker.handle("step", {"action": action}))
        history.append(answer)
    # step 5: a fourth agent joins in a new slot, with a new Unity id
    grown = [a["agents"] for a in history if a.get("agents") and len(a["agents"]) == 4][0]
    assert grown[:3] == first and grown[3] not in first
    # step 11: the first agent leaves: terminal, its final observation, then an empty slot
    leave = [a for a in history if a.get("final_observation") and a["final_observation"][0] is not None
             and a["observation"][0] is None][0]
    assert leave["terminated"][0] is True and leave["truncated"][0] is False
    later = history[history.index(leave) + 1]
    assert later["observation"][0] is None and later["reward"][0] is None
    # every 8 decisions: terminal and a new decision in one answer, same slot, still live
    both = [a for a in history if a.get("final_observation")
            and any(f is not None and o is not None for f, o in zip(a["final_observation"], a["observation"]))]
    assert both
    slot = [s for s, (f, o) in enumerate(zip(both[0]["final_observation"], both[0]["observation"])) if f is not None and o is not None][0]
    assert both[0]["truncated"][slot] is True and both[0]["final_info"][slot]["interrupted"] is True
    assert set(both[0]["final_observation"][slot]) == {"target", "camera"}
    # step 24: every seeker ends; the host resets the build; new ids take the freed slots
    restart = [a for a in history if a.get("new_episode")][0]
    assert restart["agents"][3] == grown[3]  # the joiner's slot is not reused: its id keeps it
    assert all(a not in first for a in restart["agents"][:3])
    assert [o is not None for o in restart["observation"]] == [True, True, True, False]
    # the actions reached the build exactly as sent (float32 and int32 on the wire to Unity)
    log = (tmp_path / "Player-0.log").read_text().splitlines()
    received = [line.split(" ", 2) for line in log if line.startswith("action ")]
    first_step = {int(agent): rest for _, agent, rest in received[:3]}
    for slot, agent in enumerate(first):
        continuous, discrete = sent[0][slot]
        assert first_step[agent] == f"{continuous} {discrete}"


def test_each_behaviour_is_its_own_env_and_walker_skips_steps_without_a_decision(build, tmp_path):
    service, adapter = service_for(f"walker=unity:{build}?behaviour=Walker&base_port={free_port()}")
    try:
        made = service.handle("make", {"env_name": "walker"})
        assert made["agents"] == [5]
        assert space_from_dict(made["action_space"]) == spaces.Box(-1, 1, (2,), np.float32)
        answer = service.handle("reset", {})
        poses = [answer["observation"][0]["pose"][0]]
        for _ in range(7):
            answer = service.handle("step", {"action": [[0.0, 0.0]]})
            poses.append(round(float(answer["observation"][0]["pose"][0]), 3))
        # one decision per answer though the build asks every second step; 5 decisions an episode
        assert poses == [0.0, 0.1, 0.2, 0.3, 0.4, 0.0, 0.1, 0.2]
        assert answer["reward"][0] == pytest.approx(-0.5)  # -(0 - 0.5)^2 per action, as the walker scores it
    finally:
        service.close()
        adapter.close()


def test_without_a_behaviour_the_first_by_name_is_served_and_an_unknown_one_stops_the_host(build, tmp_path, capsys):
    service, adapter = service_for(f"unity:{build}?base_port={free_port()}")
    try:
        assert "serving 'Seeker?team=0' (not 'Walker?team=0')" in capsys.readouterr().err
        made = service.handle("make", {"env_name": service.offers()[0]})  # the spec's own name: PATH?settings
        assert space_from_dict(made["action_space"]).spaces[1] == spaces.MultiDiscrete([3, 2])
    finally:
        service.close()
        adapter.close()
    with pytest.raises(EnvStartError, match=r"'Runner' is not one of the build's behaviours: 'Seeker\?team=0', 'Walker\?team=0'"):
        service_for(f"x=unity:{build}?base_port={free_port()}&behaviour=Runner")
    assert leftover_processes(str(tmp_path)) == []


def test_make_vec_runs_one_build_per_env_on_its_own_port(build, tmp_path):
    base = free_port(3)
    service, adapter = service_for(f"s=unity:{build}?behaviour=Seeker&base_port={base}&log_folder={tmp_path}")
    try:
        made = service.handle("make_vec", {"env_name": "s", "num_envs": 2})
        assert made["num_envs"] == 2
        logs = sorted(p.name for p in tmp_path.glob("Player-*.log"))
        assert logs == ["Player-0.log", "Player-1.log"]
        assert f"port={base + 1}" in (tmp_path / "Player-1.log").read_text()
        service.handle("reset", {})
        answer = service.handle("step", {"action": [[[[0.0], [0, 0]]] * 2] * 2})
        assert len(answer["observation"]) == 2 and answer["reward"][1] is not None
    finally:
        service.close()
        adapter.close()
    assert leftover_processes(str(tmp_path)) == []


def test_caller_kwargs_may_set_engine_settings_but_never_paths_or_ports(seeker, tmp_path):
    seeker.handle("make", {"env_name": "seeker", "kwargs": {"time_scale": 5}})
    seeker.handle("reset", {})
    assert "time_scale=5.0" in (tmp_path / "Player-0.log").read_text()
    for bad in ({"log_folder": "/tmp"}, {"base_port": 1}, {"time_scale": "fast"}):
        with pytest.raises(InvalidArgument):
            seeker.handle("make", {"env_name": "seeker", "kwargs": bad})


@pytest.mark.parametrize("target, message", [
    ("behaviour=A&graphics=maybe", "graphics must be true or false"),
    ("worker_id=-1", "worker_id must be an integer of at least 0"),
    ("width=80", "width and height go together"),
    ("speed=3", "unknown unity setting 'speed'"),
])
def test_bad_settings_are_one_clear_value_error(target, message):
    with pytest.raises(ValueError, match=message):
        UnitySettings.parse(f"./Build?{target}")


def test_settings_parse_engine_and_environment_parameters():
    settings = UnitySettings.parse("./Build?behavior=Seeker&time_scale=20&quality_level=0&param.difficulty=2.5&graphics=1")
    assert settings.behaviour == "Seeker" and settings.graphics
    assert settings.engine == {"time_scale": 20.0, "quality_level": 0} and settings.parameters == {"difficulty": 2.5}
    assert UnitySettings.parse("editor").is_editor


# -- start-up failures: one line, nothing left behind, the port free again --------------------


def _start_fails(spec: str, tmp_path: Path, match: str) -> None:
    adapter = UnityAdapter()
    with pytest.raises(EnvStartError, match=match) as caught:
        adapter.prepare(spec)
    assert "\n" not in str(caught.value)
    assert leftover_processes(str(tmp_path)) == []


def test_a_missing_build(tmp_path):
    _start_fails(f"{tmp_path}/NoSuchBuild", tmp_path, r"not found: no such file")


def test_a_build_that_is_not_executable(build, tmp_path):
    build.chmod(build.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    _start_fails(str(build), tmp_path, r"is not executable: chmod \+x")


def test_a_build_that_exits_at_once(tmp_path):
    crash = tmp_path / "Crash.x86_64"
    crash.write_text("#!/bin/sh\nexit 3\n")
    crash.chmod(0o755)
    port = free_port()
    _start_fails(f"{tmp_path}/Crash?base_port={port}", tmp_path, r"exited with code 3 before it connected")
    _start_fails(f"{tmp_path}/Crash?base_port={port}", tmp_path, r"exited with code 3")  # the port was let go


def test_a_build_that_never_connects(tmp_path):
    silent = tmp_path / "Silent"
    silent.write_text("#!/bin/sh\nexec sleep 600\n")
    silent.chmod(0o755)
    _start_fails(f"{silent}?base_port={free_port()}&timeout=2", tmp_path, r"did not connect within 2 s on port")


def test_a_port_in_use(build, tmp_path):
    import socket

    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        _start_fails(f"{build}?base_port={port}", tmp_path, rf"port {port} \(base port \+ worker id 0\) is in use")


def test_the_editor_is_attached_when_play_is_pressed(build, tmp_path):
    port = free_port()
    service_box: dict = {}
    starting = threading.Thread(target=lambda: service_box.update(
        pair=service_for(f"ed=unity:editor?behaviour=Seeker&base_port={port}&timeout=30")))
    starting.start()
    # "pressing Play": the Editor's player connects to the port Python listens on (5004 by default)
    play = subprocess.Popen([str(build), "--mlagents-port", str(port)])
    starting.join(timeout=40)
    service, adapter = service_box["pair"]
    try:
        made = service.handle("make", {"env_name": "ed"})
        assert len(made["agents"]) == 2
        assert service.handle("reset", {})["observation"][0] is not None
    finally:
        service.close()
        adapter.close()
    assert play.wait(timeout=20) == 0
