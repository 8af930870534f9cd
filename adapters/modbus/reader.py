"""Reads a register map through a link, following (and learning) a read plan.

The first poll uses the planner's coalesced blocks. When the device refuses a block
with "illegal data address" or "illegal data value" (some firmware rejects a read that
spans an unmapped hole), the block is split and retried until every needed register
is read. The plan that worked is remembered per map on this reader, so later polls
go straight to it. A required register refused on its own is a :class:`DeviceError`;
an ``optional`` one is left out from then on.
"""

from __future__ import annotations

from collections import deque

from adapters.modbus.planner import MAX_REGISTERS, Block, plan_blocks, split_block
from adapters.modbus.registers import RegisterMap, Value
from adapters.modbus.transport import ModbusExceptionReply, ModbusLink

SPLITTABLE_CODES = frozenset({2, 3})  # illegal data address / value: the range is the problem


class MapReader:
    """Reads register maps with the fewest requests the device accepts."""

    def __init__(self, link: ModbusLink, *, max_block: int = MAX_REGISTERS, gap_bridge: int = 8) -> None:
        self.link = link
        self.max_block = max_block
        self.gap_bridge = gap_bridge
        self.plans: dict[str, list[Block]] = {}
        self._absent: dict[str, set[int]] = {}

    def read(self, regmap: RegisterMap) -> dict[str, Value]:
        """Every field of ``regmap`` the device holds, decoded."""
        return regmap.decode(self.read_words(regmap))

    def read_words(self, regmap: RegisterMap) -> dict[int, int]:
        """Raw register words (by address) for every register ``regmap`` needs."""
        absent = self._absent.get(regmap.name, set())
        needed = set(regmap.addresses()) - absent
        required = set(regmap.addresses(optional=False))
        plan = self.plans.get(regmap.name) or plan_blocks(
            needed, max_block=self.max_block, gap_bridge=self.gap_bridge)
        queue = deque(plan)
        done: list[Block] = []
        words: dict[int, int] = {}
        refused: set[int] = set()
        while queue:
            block = queue.popleft()
            try:
                values = self.link.read_holding(block.start, block.count, regmap.format_range)
            except ModbusExceptionReply as exc:
                if exc.code not in SPLITTABLE_CODES:
                    raise
                parts = split_block(block, needed)
                if not parts:
                    if block.start in required:
                        raise
                    refused.add(block.start)
                queue.extendleft(reversed(parts))
                continue
            done.append(block)
            words.update(zip(range(block.start, block.start + block.count), values, strict=True))
        # Only a poll that succeeded teaches the plan; a failed one keeps the old plan.
        self.plans[regmap.name] = done
        if refused:
            self._absent[regmap.name] = absent | refused
        return words

    def forget(self) -> None:
        """Drop every learned plan (for example after the device was replaced)."""
        self.plans.clear()
        self._absent.clear()
