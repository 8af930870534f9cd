"""Who sent a frame: only the acknowledgement right behind it can tell.

On the JK-PB bus a ``55 AA EB 90`` frame carries no address. Its sender follows it with
the 8-byte FC16 acknowledgement ``<addr> 10 <register> 00 01 <crc>``, and the master
(address 0) does the same after its own frames. So a frame is attributed to an address
only when the very next message is a valid acknowledgement whose register asks for that
frame type. Timing proves nothing: the master's own frames, and frames nobody asked for,
pass right after requests to addresses that never answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.jkbms.frames import TRIGGER_FRAME_TYPE
from adapters.jkbms_tcpip.bus import BusToken

MASTER_ADDRESS = 0


@dataclass(frozen=True)
class AttributedFrame:
    """A frame and the address (and trigger register) its acknowledgement proves."""

    address: int
    register: int
    frame: bytes

    @property
    def frame_type(self) -> int:
        return self.frame[4]


class FrameAttributor:
    """Feed it bus tokens in order; it returns each frame whose sender is proven."""

    def __init__(self) -> None:
        self.unattributed = 0  # frames with no matching acknowledgement right behind them
        self._pending: BusToken | None = None

    def reset(self) -> None:
        """Forget a frame still waiting for its acknowledgement (the stream was cut)."""
        self._pending = None

    def feed(self, token: BusToken) -> AttributedFrame | None:
        """The frame ``token`` proves the sender of, if any."""
        if token.kind == "frame":
            if self._pending is not None:
                self.unattributed += 1
            self._pending = token
            return None
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        if token.kind == "ack" and TRIGGER_FRAME_TYPE.get(token.register) == pending.data[4]:
            return AttributedFrame(token.address, token.register, pending.data)
        self.unattributed += 1
        return None
