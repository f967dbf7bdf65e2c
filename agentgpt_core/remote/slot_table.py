"""Slot allocation: which host holds each row of a pooled vector env.

The rules (docs/ws-and-gateway.md, "Slots"): ``num_envs`` is fixed; a host that joins
takes up to its capacity of free slots, first the slots it held before (a host that
reconnects under the same id gets its place back), then slots nobody has held, then
slots other hosts left. A slot nobody holds is still a row: its data is filler.
The table knows nothing of hosts' connections, only their ids.
"""

from __future__ import annotations


class SlotTable:
    """The holder (a host id, or None) of each of ``num_envs`` slots, and who held it last."""

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self._holder: list[str | None] = [None] * num_envs
        self._previous: list[str | None] = [None] * num_envs

    def claim(self, host_id: str, capacity: int) -> list[int]:
        """Give ``host_id`` up to ``capacity`` free slots, by the rules above; return them in row order."""
        free = self.free()
        free.sort(key=lambda slot: (self._previous[slot] != host_id, self._previous[slot] is not None, slot))
        slots = sorted(free[:capacity])
        for slot in slots:
            self._holder[slot] = host_id
        return slots

    def release(self, slots: list[int]) -> None:
        """Free slots a host claimed but never used (its join was refused)."""
        for slot in slots:
            self._holder[slot] = None

    def vacate(self, host_id: str, slots: list[int]) -> None:
        """Free the slots of a host that left, remembering them as its own should it come back."""
        for slot in slots:
            self._holder[slot], self._previous[slot] = None, host_id

    def free(self) -> list[int]:
        return [slot for slot, holder in enumerate(self._holder) if holder is None]
