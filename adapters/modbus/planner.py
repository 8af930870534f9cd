"""The read planner: a register map's addresses → the fewest FC03 requests.

At 9600 baud every Modbus transaction costs tens of milliseconds of framing, silence
and device latency before its payload, while one more register costs about 2 ms. So
the planner bridges small holes (``gap_bridge`` registers) and packs up to
``max_block`` registers (the protocol allows 125) into each request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_REGISTERS = 125  # the largest FC03 read the Modbus spec allows


@dataclass(frozen=True, order=True)
class Block:
    """One read request: ``count`` registers from ``start``."""

    start: int
    count: int

    @property
    def end(self) -> int:
        """The last address in the block (inclusive)."""
        return self.start + self.count - 1

    def covers(self, address: int) -> bool:
        """Whether ``address`` lies inside the block."""
        return self.start <= address <= self.end


def plan_blocks(addresses: Iterable[int], *, max_block: int = MAX_REGISTERS, gap_bridge: int = 0
                ) -> list[Block]:
    """Coalesce ``addresses`` into blocks of at most ``max_block`` registers.

    Two needed registers share a block when at most ``gap_bridge`` unneeded registers lie
    between them and the block stays within ``max_block``.
    """
    max_block = max(1, min(max_block, MAX_REGISTERS))
    blocks: list[Block] = []
    start = last = -1
    for address in sorted(set(addresses)):
        if start >= 0 and address - last - 1 <= gap_bridge and address - start < max_block:
            last = address
            continue
        if start >= 0:
            blocks.append(Block(start, last - start + 1))
        start = last = address
    if start >= 0:
        blocks.append(Block(start, last - start + 1))
    return blocks


def split_block(block: Block, needed: Iterable[int]) -> list[Block]:
    """Smaller blocks covering the ``needed`` addresses of a block the device rejected.

    First drop the bridged holes (the device may refuse an unmapped register in one);
    a block without holes is halved. A single register cannot be split: returns ``[]``.
    """
    inside = sorted(a for a in set(needed) if block.covers(a))
    if not inside:
        return []
    tight = plan_blocks(inside, max_block=block.count, gap_bridge=0)
    if len(tight) > 1 or tight[0] != block:
        return tight
    if block.count == 1:
        return []
    half = block.count // 2
    return [Block(block.start, half), Block(block.start + half, block.count - half)]
