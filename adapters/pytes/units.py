"""Console rows → battery units and cells, keeping what each row proves.

A row whose index cannot be read cannot be attributed and is skipped (flagged). A column
whose text is blank or does not look like its header's values is unknown for that row
only (flagged); the rest of the row is kept.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.pytes.columns import (
    ABSENT,
    BAT_COLUMNS,
    BAT_SOC_FALLBACK,
    PWR_COLUMNS,
    PWR_EXTRA,
    Converter,
    percent,
)
from adapters.pytes.parsing import TableRow, is_empty
from adapters.readings import BatteryUnitReading, CellReading


def is_absent(row: TableRow) -> bool:
    """An ``Absent`` unit (its values are all ``-``)."""
    return row.get("Base.St") == ABSENT or ABSENT in row.line.split()


def unit_from_row(row: TableRow, flags: list[str]) -> tuple[BatteryUnitReading, dict[str, Any]]:
    """The unit of one ``pwr`` row (whose index is known), and its non-column values."""
    where = f"`pwr` unit {row.index}"
    fields = convert(row, PWR_COLUMNS, where, flags)
    extra = convert(row, PWR_EXTRA, where, flags)
    extra.update({k: v for k, v in row.values.items() if k not in PWR_COLUMNS and k not in PWR_EXTRA})
    fields.pop("index", None)
    unit = BatteryUnitReading(index=int(row.index or 0), **fields)
    if unit.voltage is not None and unit.current is not None:
        unit.power = round(unit.voltage * unit.current, 2)
    return unit, extra


def cells_from_rows(rows: list[TableRow], unit_index: int, flags: list[str]) -> list[CellReading]:
    """The cells of one ``bat N`` table; an unreadable row leaves its cell unknown."""
    cells: dict[int, CellReading] = {}
    for row in rows:
        if row.index is None:
            flags.append(f"`bat {unit_index}`: row without a readable cell number skipped: {row.line!r}")
            continue
        where = f"`bat {unit_index}` cell {row.index}"
        fields = convert(row, BAT_COLUMNS, where, flags)
        fields.pop("index", None)
        if "soc" not in fields and "SOC" not in row.bad and "SOC" not in row.values:
            fields.update(_soc_from_coulomb(row, where, flags))
        cells[row.index] = CellReading(index=row.index, **fields)
    # Cells are numbered from 0 without gaps: a cell whose row was unreadable is still a cell.
    return [cells.get(i, CellReading(index=i)) for i in range(max(cells, default=-1) + 1)]


def convert(row: TableRow, columns: dict[str, tuple[str, Converter]], where: str,
            flags: list[str]) -> dict[str, Any]:
    """The columns of ``row`` named in ``columns``, converted; ``-`` means no value.

    A bad or unconvertible column is left out and flagged.
    """
    out: dict[str, Any] = {}
    for header, (name, conv) in columns.items():
        if header in row.bad:
            flags.append(f"{where}: column {header!r} {row.bad[header]}: value unknown")
            continue
        raw = row.get(header)
        if is_empty(raw):
            continue
        try:
            out[name] = conv(str(raw))
        except ValueError:
            flags.append(f"{where}: column {header!r} reads {raw!r}: value unknown")
    return out


def _soc_from_coulomb(row: TableRow, where: str, flags: list[str]) -> dict[str, float]:
    """The SOC a Pytes ``Coulomb`` column carries (``34% 34682 mAH``), if any."""
    if BAT_SOC_FALLBACK in row.bad:
        flags.append(f"{where}: column {BAT_SOC_FALLBACK!r} {row.bad[BAT_SOC_FALLBACK]}: value unknown")
        return {}
    coulomb = row.get(BAT_SOC_FALLBACK)
    if is_empty(coulomb) or not re.match(r"^\d{1,3}%", str(coulomb)):
        return {}
    return {"soc": percent(str(coulomb))}
