"""Register maps as data: one :class:`Reg` per quantity, decoded and encoded by table.

A value is ``(raw - offset) * scale * sign``. ``sign`` converts a device's own sign
convention into the contract's (for example Deye reports battery + = discharging, so
its battery entries carry ``sign=-1``). Encoding, used by the simulators, is the exact
inverse, so a simulator and a driver share one description of the device.

32-bit values follow the map's word order (``low_first`` for Deye, ``high_first`` for
Senergy and IAMMeter) unless the entry names a separate ``high_word`` register: Deye
splits some 32-bit powers into a low word (625) and a far-away high word (690).
Strings hold two ASCII characters per register, high byte first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

RegType = Literal["u16", "s16", "u32", "s32", "str", "hi8"]
WordOrder = Literal["low_first", "high_first"]
Value = float | str

_WIDTH = {"u16": 1, "s16": 1, "hi8": 1, "u32": 2, "s32": 2}


@dataclass(frozen=True)
class Reg:
    """One quantity in a register map."""

    field: str
    address: int
    type: RegType = "u16"
    scale: float = 1.0
    offset: int = 0
    sign: int = 1
    unit: str = ""
    length: int = 1  # registers; only for "str"
    high_word: int | None = None  # address of the high word when it is not adjacent
    kind: Literal["holding"] = "holding"
    optional: bool = False  # a device may lack it: an exception reply leaves it out

    def addresses(self, order: WordOrder) -> tuple[int, ...]:
        """The registers this value occupies, low word first for 32-bit values."""
        if self.type == "str":
            return tuple(range(self.address, self.address + self.length))
        if _WIDTH[self.type] == 1:
            return (self.address,)
        if self.high_word is not None:
            return (self.address, self.high_word)
        pair = (self.address, self.address + 1)
        return pair if order == "low_first" else (pair[1], pair[0])

    def decode(self, words: Mapping[int, int], order: WordOrder) -> Value:
        """The value of this entry from raw register words (keyed by address)."""
        return self.decode_words([words[a] for a in self.addresses(order)])

    def decode_words(self, found: list[int]) -> Value:
        """The value of this entry from its own registers' words, in :meth:`addresses` order."""
        if self.type == "str":
            return decode_string(found)
        raw = _raw_from_words(found, self.type)
        return round((raw - self.offset) * self.scale * self.sign, 6) + 0.0  # no -0.0

    def encode(self, value: Value, order: WordOrder) -> dict[int, int]:
        """Register words (keyed by address) that decode back to ``value``."""
        if self.type == "str":
            return dict(zip(self.addresses(order), encode_string(str(value), self.length), strict=True))
        raw = round(float(value) / (self.scale * self.sign)) + self.offset
        return dict(zip(self.addresses(order), _words_from_raw(raw, self.type), strict=True))


@dataclass(frozen=True)
class RegisterMap:
    """A device's register map: entries plus the device's 32-bit word order."""

    name: str
    word_order: WordOrder
    entries: tuple[Reg, ...]
    hex_addresses: bool = False  # how error messages show addresses (as the vendor documents do)

    def addresses(self, *, optional: bool = True) -> list[int]:
        """Every register address the map needs, sorted."""
        return list(self._addresses[0 if optional else 1])

    @cached_property
    def _placed(self) -> tuple[tuple[Reg, tuple[int, ...]], ...]:
        """Each entry with the registers it occupies in this map's word order: worked out once,
        since every poll decodes every entry (the map is frozen)."""
        return tuple((e, e.addresses(self.word_order)) for e in self.entries)

    @cached_property
    def _addresses(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Every address, sorted; the addresses of the entries that are not optional."""
        return (tuple(sorted({a for _, placed in self._placed for a in placed})),
                tuple(sorted({a for e, placed in self._placed if not e.optional for a in placed})))

    def decode(self, words: Mapping[int, int]) -> dict[str, Value]:
        """Every field whose registers are all present in ``words``."""
        values: dict[str, Value] = {}
        for entry, placed in self._placed:
            try:
                found = [words[a] for a in placed]
            except KeyError:
                continue  # a register the device does not have (an optional entry)
            values[entry.field] = entry.decode_words(found)
        return values

    def encode(self, values: Mapping[str, Value]) -> dict[int, int]:
        """Register words for every field present in ``values``."""
        words: dict[int, int] = {}
        for entry in self.entries:
            if entry.field in values:
                words.update(entry.encode(values[entry.field], self.word_order))
        return words

    def fields(self) -> list[str]:
        """The field names, in map order."""
        return [e.field for e in self.entries]

    def with_factor(self, fields: Iterable[str], factor: float) -> RegisterMap:
        """A copy whose named fields have their scale multiplied by ``factor``."""
        names = set(fields)
        entries = tuple(replace(e, scale=e.scale * factor) if e.field in names else e
                        for e in self.entries)
        return replace(self, entries=entries)

    def with_sign(self, fields: Iterable[str], sign: int) -> RegisterMap:
        """A copy whose named fields have their sign set to ``sign``."""
        names = set(fields)
        entries = tuple(replace(e, sign=sign) if e.field in names else e for e in self.entries)
        return replace(self, entries=entries)

    def format_range(self, start: int, count: int) -> str:
        """``500..624`` or ``0x1A10..0x1A17``: a register range as the vendor writes it."""
        end = start + count - 1
        return f"0x{start:04X}..0x{end:04X}" if self.hex_addresses else f"{start}..{end}"


def _raw_from_words(words: list[int], kind: RegType) -> int:
    if kind == "hi8":
        return words[0] >> 8
    raw = 0
    for word in reversed(words):  # words come low word first
        raw = (raw << 16) | (word & 0xFFFF)
    bits = 16 * len(words)
    if kind in ("s16", "s32") and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw


def _words_from_raw(raw: int, kind: RegType) -> list[int]:
    if kind == "hi8":
        return [(raw & 0xFF) << 8]
    width = _WIDTH[kind]
    limit = 1 << (16 * width)
    signed = kind in ("s16", "s32")
    low, high = (-(limit >> 1), (limit >> 1) - 1) if signed else (0, limit - 1)
    raw = min(high, max(low, raw))  # saturate like a device register would
    raw %= limit
    return [(raw >> (16 * i)) & 0xFFFF for i in range(width)]


def decode_string(words: list[int]) -> str:
    """Two characters per register, high byte first; trailing NULs and spaces dropped."""
    data = b"".join(w.to_bytes(2, "big") for w in words)
    return data.decode("latin-1").rstrip("\x00 ")


def encode_string(text: str, length: int) -> list[int]:
    """Registers holding ``text`` (NUL-padded to ``length`` registers)."""
    data = text.encode("latin-1")[: 2 * length].ljust(2 * length, b"\x00")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def is_printable_serial(text: str) -> bool:
    """True when ``text`` looks like a serial number: printable ASCII, no gaps, not empty."""
    return bool(text) and all(33 <= ord(ch) < 127 for ch in text)
