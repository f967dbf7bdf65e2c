"""A stand-in for a Unity ML-Agents player build: what AgentGPT expects from a build.

Run it as a "build": ``UnityEnvironment(file_name="tests/fake_player")`` starts it with the
arguments ML-Agents gives a player (``--mlagents-port N``, ``-nographics -batchmode`` without
graphics, ``-logFile PATH`` with a log folder, and any extra arguments). Like the C# side of
ML-Agents, it is the gRPC *client*: it calls the one RPC ``UnityToExternalProto.Exchange``
on the port the Python side listens on, with the protobuf messages that mlagents-envs ships:

1. it sends the initialisation output (API version 1.5.0, each behaviour's ``BrainParameters``
   with its ``ActionSpec``) with a first ``rl_output``, and gets the initialisation input
   (the seed) back;
2. it sends the next ``rl_output`` and gets the first command (RESET);
3. from then on each answer is the last command's result: RESET starts a new round, STEP
   applies the actions (one per agent that asked for a decision, in the order it sent them)
   and advances the game; a status other than 200 (Python's close) or a broken connection
   ends the player.

The game (small, but with every case a real build produces):

- ``Seeker?team=0``: each seeker sees a vector sensor ``target`` (one-hot of a goal 0..2,
  then a float ``x`` in [-1, 1]) and an 8x8x1 PNG-compressed camera ``camera`` (row 2*goal
  lit). Mixed actions: one continuous value and two discrete branches of sizes 3 and 2.
  Reward per decision: 1 for branch 0 equal to the goal, minus 0.5 * |continuous - x|
  (so a policy can learn it). Branch 1's option 1 is masked when the goal is 2.
  A round: ``agents`` seekers (environment parameter, default 2) spawn on RESET with fresh
  ids (Unity's ints: 17, 20, 23, ...); at round step 5 one more seeker joins; at step 11
  the first seeker leaves (terminal, no new decision); every 8 decisions a seeker's episode
  ends and it asks for a decision in the same step (terminal *and* decision); at step 24 all
  seekers end (``max_step_reached``) and the round waits for RESET (or starts itself at the
  next STEP, as a build does).
- ``Walker?team=0``: one agent (id 5), vector sensor ``pose`` (3 floats), two continuous
  actions, a decision every second academy step (decision period 2), episodes of 5 decisions.

Environment parameters: ``agents`` (seekers per round) and ``log_actions`` (1: log every
seeker action received, for tests). Side channels: the engine configuration (time scale, quality level, ...) and environment
parameters it receives are written to the ``-logFile`` (one ``key=value`` line each), as a
Unity player logs them, so tests can read what arrived.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
import uuid

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # a player logs to its own file, not the host's terminal
import grpc
import numpy as np
from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_envs.communicator_objects.brain_parameters_pb2 import ActionSpecProto, BrainParametersProto
from mlagents_envs.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto
from mlagents_envs.communicator_objects.command_pb2 import RESET, STEP
from mlagents_envs.communicator_objects.observation_pb2 import NONE, PNG, ObservationProto
from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_envs.communicator_objects.unity_rl_initialization_output_pb2 import UnityRLInitializationOutputProto
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub

ENGINE_CHANNEL = uuid.UUID("e951342c-4f7e-11ea-b238-784f4387d1f7")
PARAMETERS_CHANNEL = uuid.UUID("534c891e-810f-11ea-a9d0-822485860400")
ENGINE_KEYS = {0: "screen_resolution", 1: "quality_level", 2: "time_scale", 3: "target_frame_rate", 4: "capture_frame_rate"}
SEEKER, WALKER = "Seeker?team=0", "Walker?team=0"
JOIN_STEP, LEAVE_STEP, ROUND_STEPS, SEEKER_EPISODE = 5, 11, 24, 8
WALKER_EPISODE, WALKER_PERIOD = 5, 2


class Agent:
    """One ML-Agents agent: its id, its episode and what it reports at the next exchange."""

    def __init__(self, agent_id: int, rng: np.random.Generator):
        self.id, self.rng = agent_id, rng
        self.decisions = 0
        self.reward = 0.0
        self.goal, self.x = 0, 0.0
        self.new_goal()

    def new_goal(self) -> None:
        self.goal, self.x = int(self.rng.integers(3)), float(self.rng.uniform(-1, 1))


class Game:
    """The two behaviours above, stepped one academy step per STEP command."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.parameters: dict[str, float] = {}
        self.next_id = 17
        self.walker = Agent(5, self.rng)
        self.reset()

    def fresh_id(self) -> int:
        agent_id, self.next_id = self.next_id, self.next_id + 3
        return agent_id

    def reset(self) -> None:
        count = int(self.parameters.get("agents", 2))
        self.round_step = 0
        self.seekers = [Agent(self.fresh_id(), self.rng) for _ in range(count)]
        self.asking = list(self.seekers)  # agents that ask for a decision in the next output
        self.ended: list[tuple[Agent, bool]] = []  # (agent, max_step_reached) to report as terminal
        self.walker.decisions, self.walker.reward = 0, 0.0
        self.walker_asks, self.walker_ended = True, False
        self.academy_step = 0

    def step(self, seeker_actions: list, walker_actions: list, log) -> None:
        if self.parameters.get("log_actions"):  # for tests: what arrived, exactly as the build reads it
            for agent, action in zip(self.asking, seeker_actions):
                log(f"action {agent.id} {list(action.continuous_actions)} {list(action.discrete_actions)}")
        if not self.seekers and self.round_step >= ROUND_STEPS:  # a build starts its next round itself
            self.reset()
            return
        for agent, action in zip(self.asking, seeker_actions):
            continuous = action.continuous_actions[0] if action.continuous_actions else 0.0
            goal_hit = bool(action.discrete_actions) and int(action.discrete_actions[0]) == agent.goal
            agent.reward += float(goal_hit) - 0.5 * abs(float(np.clip(continuous, -1, 1)) - agent.x)
            agent.decisions += 1
            agent.new_goal()
        if self.walker_asks and walker_actions:
            move = np.asarray(walker_actions[0].continuous_actions, dtype=np.float32)
            self.walker.reward += float(-np.square(move - 0.5).sum())
            self.walker.decisions += 1
        self.academy_step += 1
        self.round_step += 1
        self.ended = []
        if self.round_step == JOIN_STEP:
            self.seekers.append(Agent(self.fresh_id(), self.rng))
        if self.round_step == LEAVE_STEP and self.seekers:
            self.ended.append((self.seekers.pop(0), False))
        if self.round_step == ROUND_STEPS:
            self.ended += [(agent, True) for agent in self.seekers]
            self.seekers = []
        for agent in list(self.seekers):
            if agent.decisions >= SEEKER_EPISODE:  # terminal, and the same id asks again at once
                self.ended.append((agent, True))
                agent.decisions = 0
        self.asking = list(self.seekers)
        self.walker_asks = self.academy_step % WALKER_PERIOD == 0
        self.walker_ended = self.walker_asks and self.walker.decisions >= WALKER_EPISODE

    # -- what the game sends ----------------------------------------------------------

    def output(self, message: UnityMessageProto) -> None:
        rl = message.unity_output.rl_output
        seekers = rl.agentInfos[SEEKER].value
        for agent, max_step in self.ended:
            seekers.append(self.seeker_info(agent, done=True, max_step=max_step))
            agent.reward = 0.0
        for agent in self.asking:
            seekers.append(self.seeker_info(agent, done=False, max_step=False))
            agent.reward = 0.0
        walkers = rl.agentInfos[WALKER].value
        if self.walker_ended:
            walkers.append(self.walker_info(done=True))
            self.walker.decisions = 0
        if self.walker_asks:
            walkers.append(self.walker_info(done=False))
        if not self.walker_asks and not self.walker_ended:
            del rl.agentInfos[WALKER]

    def seeker_info(self, agent: Agent, *, done: bool, max_step: bool) -> AgentInfoProto:
        info = AgentInfoProto(id=agent.id, reward=agent.reward, done=done, max_step_reached=max_step)
        vector = info.observations.add(name="target", shape=[4], compression_type=NONE)
        vector.float_data.data.extend([float(agent.goal == g) for g in range(3)] + [agent.x])
        image = np.zeros((8, 8), dtype=np.uint8)
        image[2 * agent.goal] = 255
        camera = info.observations.add(name="camera", shape=[8, 8, 1], compression_type=PNG)
        camera.compressed_data = png(image)
        # ML-Agents' mask: True = this action is NOT allowed; one flag per option of every branch.
        info.action_mask.extend([False, False, False, False, agent.goal == 2])
        return info

    def walker_info(self, *, done: bool) -> AgentInfoProto:
        info = AgentInfoProto(id=self.walker.id, reward=self.walker.reward, done=done, max_step_reached=False)
        self.walker.reward = 0.0
        pose = info.observations.add(name="pose", shape=[3], compression_type=NONE)
        pose.float_data.data.extend([0.1 * self.walker.decisions, 0.0, 1.0])
        return info


def png(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()  # a Unity camera texture is RGB even for a grey sensor; Python averages the channels
    Image.fromarray(np.repeat(image[:, :, None], 3, axis=2), mode="RGB").save(out, format="PNG")
    return out.getvalue()


def brain_parameters() -> list[BrainParametersProto]:
    return [
        BrainParametersProto(brain_name=SEEKER, is_training=True,
                             action_spec=ActionSpecProto(num_continuous_actions=1, num_discrete_actions=2,
                                                         discrete_branch_sizes=[3, 2])),
        BrainParametersProto(brain_name=WALKER, is_training=True,
                             action_spec=ActionSpecProto(num_continuous_actions=2, num_discrete_actions=0)),
    ]


def read_side_channels(data: bytes, game: Game, log) -> None:
    """The side-channel framing of mlagents_envs.side_channel_manager: uuid, int32 length, payload."""
    offset = 0
    while offset + 20 <= len(data):
        channel = uuid.UUID(bytes_le=bytes(data[offset:offset + 16]))
        (length,) = struct.unpack_from("<i", data, offset + 16)
        payload = bytes(data[offset + 20:offset + 20 + length])
        offset += 20 + length
        if channel == ENGINE_CHANNEL:
            (kind,) = struct.unpack_from("<i", payload, 0)
            if kind == 0:
                value = "x".join(str(v) for v in struct.unpack_from("<ii", payload, 4))
            elif kind == 2:
                value = str(round(struct.unpack_from("<f", payload, 4)[0], 4))
            else:
                value = str(struct.unpack_from("<i", payload, 4)[0])
            log(f"{ENGINE_KEYS.get(kind, kind)}={value}")
        elif channel == PARAMETERS_CHANNEL:
            (size,) = struct.unpack_from("<i", payload, 0)
            key = payload[4:4 + size].decode("ascii")
            (kind,) = struct.unpack_from("<i", payload, 4 + size)
            if kind == 0:  # a float parameter (samplers are not simulated)
                (value,) = struct.unpack_from("<f", payload, 8 + size)
                game.parameters[key] = value
                log(f"parameter {key}={round(value, 4)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fake_player")
    parser.add_argument("--mlagents-port", type=int, default=5004)  # no argument: the Editor's port
    parser.add_argument("-logFile", "-logfile", dest="log_file", default=None)
    parser.add_argument("-nographics", action="store_true")
    parser.add_argument("-batchmode", action="store_true")
    args, _unknown = parser.parse_known_args(argv)  # a player ignores arguments it does not know
    log_file = open(args.log_file, "a", buffering=1) if args.log_file else None

    def log(line: str) -> None:
        if log_file is not None:
            log_file.write(line + "\n")

    log(f"fake_player port={args.mlagents_port} nographics={args.nographics} batchmode={args.batchmode}")
    channel = grpc.insecure_channel(f"localhost:{args.mlagents_port}")
    exchange = UnityToExternalProtoStub(channel).Exchange

    def send(message: UnityMessageProto, first: bool = False) -> UnityMessageProto | None:
        message.header.status = 200
        try:
            return exchange(message, wait_for_ready=True, timeout=30 if first else None)
        except grpc.RpcError:  # Python closed the server or went away: a player quits
            return None

    game = Game(seed=0)
    hello = UnityMessageProto()
    hello.unity_output.rl_initialization_output.CopyFrom(UnityRLInitializationOutputProto(
        name="FakePlayer", communication_version="1.5.0", package_version="2.0.0",
        brain_parameters=brain_parameters(),
        capabilities=UnityRLCapabilitiesProto(baseRLCapabilities=True, concatenatedPngObservations=True,
                                              compressedChannelMapping=True, hybridActions=True,
                                              trainingAnalytics=True, variableLengthObservation=True,
                                              multiAgentGroups=True)))
    game.output(hello)
    answer = send(hello, first=True)
    if answer is None:
        log("no trainer answered")
        return 1
    game = Game(seed=answer.unity_input.rl_initialization_input.seed)
    log(f"seed={answer.unity_input.rl_initialization_input.seed}")
    message = UnityMessageProto()
    game.output(message)
    answer = send(message)
    while answer is not None and answer.header.status == 200:
        rl_input = answer.unity_input.rl_input
        read_side_channels(rl_input.side_channel, game, log)
        if rl_input.command == RESET:
            game.reset()
        elif rl_input.command == STEP:
            game.step(list(rl_input.agent_actions[SEEKER].value), list(rl_input.agent_actions[WALKER].value), log)
        message = UnityMessageProto()
        game.output(message)
        answer = send(message)
    log("closed")
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
