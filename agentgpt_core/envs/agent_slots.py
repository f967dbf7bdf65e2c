"""Agent slots: the fixed place of each agent id in the wire's per-agent lists.

A multi-agent env speaks in agent ids (PettingZoo dicts, Unity agent ids); the wire
speaks in lists, so a simulator in any language and a trainer's batch rows can rely
on positions. The rules (docs/protocol.md, "Agent slots"):

- slots start as the env's ``possible_agents`` (in that order) and only grow: an id
  never seen before takes a free slot, or a new slot appended at the end;
- a slot serves at most one agent id per episode: a slot whose agent ended stays
  empty (``None``) until the episode ends, so a row never changes hands mid-episode;
- at an episode boundary (reset or autoreset), every slot whose agent is not in the
  new episode becomes free; the lowest free slot goes to the next new id;
- an id keeps its slot across episodes for as long as no other id took it.

Ids may be strings or integers, mixed; anything else travels as its ``str``.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable

import numpy as np


def wire_id(agent: Hashable) -> str | int:
    """The id as the wire carries it: a string or an integer (numpy integers become ints)."""
    if isinstance(agent, (bool, np.bool_)):
        return str(agent)
    if isinstance(agent, (int, np.integer)):
        return int(agent)
    return agent if isinstance(agent, str) else str(agent)


class AgentSlots:
    """Agent id <-> slot index, growing by the rules above."""

    def __init__(self, initial: Iterable[Hashable] = (), *, max_slots: int = 4096):
        self.max_slots = max_slots
        self.ids: list[Hashable | None] = []  # slot -> the id that holds it (None: never held)
        self._slot: dict[Hashable, int] = {}
        self._free: set[int] = set()  # slots a new id may take in this episode
        self.changed = False  # set when a slot was added or changed hands; cleared by take_changes()
        for agent in initial:
            self.slot_of(agent)
        self.changed = False

    def __len__(self) -> int:
        return len(self.ids)

    def slot_of(self, agent: Hashable) -> int:
        """The slot of ``agent``, giving it one (free, else appended) if it has none."""
        slot = self._slot.get(agent)
        if slot is not None:
            self._free.discard(slot)
            return slot
        if self._free:
            slot = min(self._free)
            self._free.discard(slot)
            self._slot.pop(self.ids[slot], None)
            self.ids[slot] = agent
        else:
            if len(self.ids) >= self.max_slots:
                raise RuntimeError(f"the env has more than {self.max_slots} agent slots; agent {agent!r} has none")
            slot = len(self.ids)
            self.ids.append(agent)
        self._slot[agent] = slot
        self.changed = True
        return slot

    def get(self, agent: Hashable) -> int | None:
        """The slot of a known id, or None (never assigns)."""
        return self._slot.get(agent)

    def begin_episode(self, agents: Iterable[Hashable]) -> None:
        """A new episode with ``agents``: their known slots stay theirs, every other slot is free."""
        agents = list(agents)
        present = {self._slot[a] for a in agents if a in self._slot}
        self._free = set(range(len(self.ids))) - present
        for agent in agents:
            self.slot_of(agent)

    def in_slots(self, values: dict[Hashable, Any]) -> list[Any]:
        """A dict keyed by agent id as a list in slot order, ``None`` for slots without a value."""
        out: list[Any] = [None] * len(self.ids)
        for agent, value in values.items():
            out[self.slot_of(agent)] = value
        return out

    def wire_ids(self) -> list[str | int | None]:
        return [None if agent is None else wire_id(agent) for agent in self.ids]

    def take_changes(self) -> list[str | int | None] | None:
        """The slot list if it changed since the last call (to announce it), else None."""
        if not self.changed:
            return None
        self.changed = False
        return self.wire_ids()
