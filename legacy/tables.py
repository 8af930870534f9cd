"""How each of the original's sample tables becomes solarmon's: one SQL SELECT per table.

The conversion runs in SQLite over the original's file (attached as ``legacy``), joined to small
temporary tables that place each of its device ids in solarmon's catalog (``temp.legacy_*``,
built by :mod:`legacy.placement`). Columns are named explicitly on both sides, so columns other
work adds to solarmon's tables are left to their defaults. What changes on the way:

* ``ts``: the original's local time with its offset (``2026-01-20 12:30:35.039905+05:00``, each
  row read with its own offset) becomes UTC in solarmon's text form.
* Powdrive (Deye) inverters stored the raw battery current register (+ = discharging) and the
  temperature + 100; both are corrected. Battery power, which the original never stored, is
  V × I with the corrected sign (+ = charging).
* ``inverter_mode``: Powdrive rows hold the running state as text; it becomes the register value.
* ``array_samples``: a power sum of 0 was stored as NULL; the inverters' summed battery currents
  mixed sign conventions in older versions, so the array current is left out.
* ``meter_samples``: the original's daily counters (``grid_import_wh``/``grid_export_wh``) jump to
  the lifetime value at every start and are not carried over; the lifetime import counter
  ``energy_kwh`` becomes the import counter in Wh. There is no export counter: export is
  integrated from power by the rollups.
* Cells and units keep the original's 1-based battery number (``power``); cells become 0-based.
* The joins are outer joins: a row the maps cannot place gets no ids and fails solarmon's NOT NULL
  columns, an error rather than a row silently left out (the scan makes sure it never happens).
* Values outside physical ranges (SOC outside 0-100 %, a cell outside 1-5 V, negative PV or
  load) are not stored (NULL) and counted in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legacy.source import Shape

# The original's F1 timestamp → UTC, solarmon's text form on SQLite ('YYYY-MM-DD HH:MM:SS[.ffffff]'):
# SQLite's parser reads the offset, its output has whole seconds, and the row's own microseconds
# are appended. The parser rounds a fraction to milliseconds, so from .9995 on it would carry into
# the next second: those rows (a thousandth of them) drop the fraction before parsing. The
# whole-string parse costs a third of one made of substrings, on every row of the copy.
UTC_TS = ("(CASE WHEN substr(s.ts, 20, 4) = '.999' "
          "THEN datetime(substr(s.ts, 1, 19) || substr(s.ts, -6)) ELSE datetime(s.ts) END "
          "|| substr(s.ts, 20, length(s.ts) - 25))")
# A timestamp the original did not write (F1 is 25 characters, 32 with microseconds) or that is
# no time at all: found before anything is written. SQLite's own parser decides, as in UTC_TS
# (unixepoch: the same parser, without formatting a text).
TS_BAD = ("(s.ts IS NULL OR unixepoch(s.ts) IS NULL "
          "OR CASE length(s.ts) WHEN 25 THEN 0 WHEN 32 THEN substr(s.ts, 20, 1) <> '.' ELSE 1 END)")
# The Powdrive running-state words the original stored as text → the register's values.
MODE_WORDS = {"standby": 0, "selfcheck": 1, "self-check": 1, "self check": 1, "normal": 2, "alarm": 3,
              "fault": 4}
STATUS_LENGTH = 32


@dataclass(frozen=True)
class TableSpec:
    """One sample table: the legacy device column, the joins that place it, and per target
    column its SQL expression; ``cleared`` counts values left out as implausible."""

    name: str
    device: str
    joins: str
    columns: dict[str, str]
    cleared: dict[str, str] = field(default_factory=dict)


def _col(shape: Shape, table: str, column: str) -> str:
    return f"s.{column}" if shape.has(table, column) else "NULL"


def _within(expr: str, low: float, high: float) -> str:
    return f"CASE WHEN {expr} BETWEEN {low} AND {high} THEN {expr} END"


def _outside(expr: str, low: float, high: float) -> str:
    return f"({expr} IS NOT NULL AND {expr} NOT BETWEEN {low} AND {high})"


def _whole(expr: str) -> str:
    return f"CAST(ROUND({expr}) AS INTEGER)"


def _status(expr: str) -> str:
    return f"substr({expr}, 1, {STATUS_LENGTH})" if expr != "NULL" else "NULL"


def _mode(expr: str) -> str:
    words = " ".join(f"WHEN '{word}' THEN {value}" for word, value in MODE_WORDS.items())
    return (f"CASE typeof({expr}) WHEN 'integer' THEN {expr} WHEN 'real' THEN CAST({expr} AS INTEGER) "
            f"WHEN 'text' THEN CASE lower(trim({expr})) {words} END END")


def specs(shape: Shape) -> dict[str, TableSpec]:
    """The conversion of every sample table the file has, in import order."""
    builders = {"energy_samples": _energy, "array_samples": _array, "meter_samples": _meter,
                "battery_bank_samples": _bank, "battery_unit_samples": _unit,
                "battery_cell_samples": _cell}
    return {table: builders[table](shape) for table in shape.sample_tables}


def _energy(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "energy_samples", column)

    soc, voltage, current = c("soc"), c("batt_voltage_v"), c("batt_current_a")
    battery_soc = f"COALESCE({c('battery_soc')}, {soc})"
    return TableSpec(
        "energy_samples", "inverter_id", "LEFT JOIN temp.legacy_inverters m ON m.legacy_id = s.inverter_id",
        {"ts": UTC_TS, "inverter_id": "m.inverter_id", "array_id": "m.array_id", "system_id": "m.system_id",
         "pv_power_w": f"CASE WHEN {c('pv_power_w')} >= 0 THEN {_whole(c('pv_power_w'))} END",
         "load_power_w": f"CASE WHEN {c('load_power_w')} >= 0 THEN {_whole(c('load_power_w'))} END",
         "grid_power_w": _whole(c("grid_power_w")),
         "batt_voltage_v": voltage,
         "batt_current_a": f"{current} * m.current_sign",
         "soc": _within(soc, 0, 100),
         "battery_soc": _within(battery_soc, 0, 100),
         "battery_voltage_v": f"COALESCE({c('battery_voltage_v')}, {voltage})",
         "battery_current_a": f"COALESCE({c('battery_current_a')}, {current}) * m.current_sign",
         "inverter_mode": _mode(c("inverter_mode")),
         "inverter_temp_c": f"{c('inverter_temp_c')} - m.temp_offset",
         "batt_power_w": _whole(f"{voltage} * {current} * m.current_sign")},
        {"soc": _outside(soc, 0, 100), "pv_power_w": f"({c('pv_power_w')} < 0)",
         "load_power_w": f"({c('load_power_w')} < 0)"})


def _array(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "array_samples", column)

    return TableSpec(
        "array_samples", "array_id", "LEFT JOIN temp.legacy_arrays m ON m.legacy_id = s.array_id",
        {"ts": UTC_TS, "array_id": "m.array_id", "system_id": "m.system_id",
         # The original stored a sum of 0 as NULL.
         **{name: _whole(f"COALESCE({c(name)}, 0)") for name in ("pv_power_w", "load_power_w", "grid_power_w",
                                                                 "batt_power_w")},
         "batt_soc_pct": _within(c("batt_soc_pct"), 0, 100), "batt_voltage_v": c("batt_voltage_v")},
        {"batt_soc_pct": _outside(c("batt_soc_pct"), 0, 100)})


def _meter(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "meter_samples", column)

    plain = ("grid_voltage_v", "grid_current_a", "grid_frequency_hz", "power_factor", "voltage_phase_a",
             "voltage_phase_b", "voltage_phase_c", "current_phase_a", "current_phase_b", "current_phase_c")
    return TableSpec(
        "meter_samples", "meter_id", "LEFT JOIN temp.legacy_meters m ON m.legacy_id = s.meter_id",
        {"ts": UTC_TS, "meter_id": "m.meter_id", "system_id": "m.system_id", "array_id": "m.array_id",
         "grid_power_w": _whole(c("grid_power_w")),
         "energy_kwh": c("energy_kwh"),
         # The lifetime forward register is the import counter (Wh); see the module docstring.
         "grid_import_wh": _whole(f"{c('energy_kwh')} * 1000"),
         **{name: c(name) for name in plain},
         **{name: _whole(c(name)) for name in ("power_phase_a", "power_phase_b", "power_phase_c")}})


def _bank(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "battery_bank_samples", column)

    return TableSpec(
        "battery_bank_samples", "bank_id", "LEFT JOIN temp.legacy_packs m ON m.legacy_id = s.bank_id",
        {"ts": UTC_TS, "pack_id": "m.pack_id", "battery_array_id": "m.battery_array_id",
         "system_id": "m.system_id", "voltage": c("voltage"), "current": c("current"),
         "temperature": c("temperature"), "soc": _within(c("soc"), 0, 100),
         "batteries_count": c("batteries_count"), "cells_per_battery": c("cells_per_battery"),
         # Pack power (+ = charging), which the original did not store: V · I.
         "power_w": f"ROUND({c('voltage')} * {c('current')}, 1)"},
        {"soc": _outside(c("soc"), 0, 100)})


def _unit(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "battery_unit_samples", column)

    statuses = ("basic_st", "volt_st", "current_st", "temp_st", "soh_st", "coul_st", "heater_st")
    return TableSpec(
        "battery_unit_samples", "bank_id",
        "LEFT JOIN temp.legacy_packs p ON p.legacy_id = s.bank_id "
        "LEFT JOIN temp.legacy_units m ON m.legacy_id = s.bank_id AND m.power = s.power",
        {"ts": UTC_TS, "battery_id": "m.battery_id", "pack_id": "p.pack_id",
         "battery_array_id": "p.battery_array_id", "system_id": "p.system_id", "power": "s.power",
         "voltage": c("voltage"), "current": c("current"), "temperature": c("temperature"),
         "soc": _within(c("soc"), 0, 100),
         **{name: _status(c(name)) for name in statuses},
         **{name: c(name) for name in ("bat_events", "power_events", "sys_events")},
         "power_w": f"ROUND({c('voltage')} * {c('current')}, 2)"},
        {"soc": _outside(c("soc"), 0, 100)})


def _cell(shape: Shape) -> TableSpec:
    def c(column: str) -> str:
        return _col(shape, "battery_cell_samples", column)

    return TableSpec(
        "battery_cell_samples", "bank_id",
        "LEFT JOIN temp.legacy_packs p ON p.legacy_id = s.bank_id "
        "LEFT JOIN temp.legacy_cells m ON m.legacy_id = s.bank_id AND m.power = s.power AND m.cell = s.cell",
        {"ts": UTC_TS, "cell_id": "m.cell_id", "battery_id": "m.battery_id", "pack_id": "p.pack_id",
         "battery_array_id": "p.battery_array_id", "system_id": "p.system_id", "power": "s.power",
         "cell": "s.cell - 1", "voltage": _within(c("voltage"), 1, 5), "temperature": c("temperature"),
         "soc": _within(c("soc"), 0, 100), "volt_st": _status(c("volt_st")),
         "temp_st": _status(c("temp_st"))},
        {"voltage": _outside(c("voltage"), 1, 5), "soc": _outside(c("soc"), 0, 100)})


def select_sql(spec: TableSpec) -> str:
    """The conversion of one rowid range (parameters: first rowid excluded, last included)."""
    return (f"SELECT {', '.join(spec.columns.values())} FROM legacy.{spec.name} s {spec.joins} "
            "WHERE s.rowid > ? AND s.rowid <= ?")


def _copy_text(expr: str) -> str:
    r"""A value in PostgreSQL's COPY text format: ``\N`` for NULL; backslash, tab and newline escaped."""
    text = f"CAST({expr} AS TEXT)"
    escaped = rf"replace(replace(replace({text}, '\', '\\'), char(9), '\t'), char(10), '\n')"
    return rf"COALESCE({escaped}, '\N')"


def copy_sql(spec: TableSpec) -> str:
    """The conversion of one rowid range as one block of COPY text: (rows, text)."""
    fields = [_copy_text(f"{expr} || '+00:00'" if name == "ts" else expr)
              for name, expr in spec.columns.items()]
    line = " || char(9) || ".join(fields)
    return (f"SELECT count(*), group_concat({line} || char(10), '') FROM legacy.{spec.name} s {spec.joins} "
            "WHERE s.rowid > ? AND s.rowid <= ?")
