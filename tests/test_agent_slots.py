"""Agent slot rules (docs/protocol.md, "Agent slots"): growth, no reuse within an episode, reuse after."""

from __future__ import annotations

import numpy as np

from agentgpt_core.envs.agent_slots import AgentSlots, wire_id


def test_slots_start_as_possible_agents_and_grow_by_appending():
    slots = AgentSlots(["a", "b"])
    assert slots.take_changes() is None and len(slots) == 2
    assert slots.slot_of("b") == 1 and slots.slot_of(7) == 2 and slots.slot_of("c") == 3
    assert slots.take_changes() == ["a", "b", 7, "c"]
    assert slots.take_changes() is None  # announced once


def test_a_slot_is_never_reused_within_an_episode():
    slots = AgentSlots(["a", "b"])
    slots.begin_episode(["a", "b"])
    # a ends mid-episode: a new id does not take its slot
    assert slots.slot_of("c") == 2


def test_at_an_episode_boundary_free_slots_go_to_new_ids_lowest_first():
    slots = AgentSlots(["a", "b", "c"])
    slots.begin_episode(["c", "x"])  # a and b are not in this episode: slots 0 and 1 are free
    assert slots.ids == ["x", "b", "c"] and slots.get("x") == 0 and slots.get("a") is None
    assert slots.slot_of("y") == 1  # a new id mid-episode takes the next free slot
    assert slots.slot_of("z") == 3  # none free: appended
    assert slots.take_changes() == ["x", "y", "c", "z"]


def test_an_id_keeps_its_slot_across_episodes_while_nobody_took_it():
    slots = AgentSlots(["a", "b"])
    slots.begin_episode(["b"])
    slots.begin_episode(["a", "b"])
    assert (slots.get("a"), slots.get("b")) == (0, 1) and slots.take_changes() is None


def test_wire_ids_are_strings_or_integers():
    assert wire_id(np.int64(3)) == 3 and type(wire_id(np.int64(3))) is int
    assert wire_id("a") == "a" and wire_id(True) == "True" and wire_id(("t", 1)) == "('t', 1)"
