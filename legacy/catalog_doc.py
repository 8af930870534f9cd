"""The original's catalog tables (after its hierarchy migration) as a config document in its own
dialect, so they are imported exactly as its config.yaml would be (warnings included).

The original assigns every device to its first system (``system``) and leaves the system of
its config file (often ``home``) without devices; the system that owns the devices is the one
imported. Its adapters' ``config_json`` is the YAML adapter block it was made from.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from legacy.source import LegacyError, Shape, explain

DeviceDoc = dict[str, Any]


def catalog_document(conn: sqlite3.Connection, shape: Shape, path: Path, system_id: str | None
                     ) -> dict[str, Any] | None:
    """The catalog tables as a config document, or ``None`` when the file has none filled.

    ``system_id`` renames the system (``--system``); by default it keeps the original's id.
    """
    if shape.name != "post-migration":
        return None
    try:
        return _document(conn, shape, path, system_id)
    except sqlite3.Error as exc:
        raise explain(path, exc, "reading its catalog tables") from exc


def _rows(conn: sqlite3.Connection, shape: Shape, table: str, where: str = "", params: tuple[Any, ...] = ()
          ) -> list[dict[str, Any]]:
    if not shape.has(table):
        return []
    cursor = conn.execute(f"SELECT rowid AS _rowid, * FROM legacy.{table} {where}", params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _document(conn: sqlite3.Connection, shape: Shape, path: Path, system_id: str | None) -> dict[str, Any]:
    owners = sorted({row["system_id"] for table in ("inverters", "battery_packs", "meters")
                     for row in _rows(conn, shape, table) if row.get("system_id")})
    if not owners:
        return {}
    if len(owners) > 1:
        raise LegacyError(f"{path}: its devices belong to {len(owners)} systems ({', '.join(owners)}); "
                          "solarmon imports one system per file")
    owner = owners[0]
    system = next(iter(_rows(conn, shape, "systems", "WHERE system_id = ?", (owner,))), {})
    adapters = {row["adapter_id"]: _adapter(path, row) for row in _rows(conn, shape, "adapters")}
    mine = ("WHERE system_id = ? OR system_id IS NULL", (owner,))
    doc: dict[str, Any] = {"home": {"id": system_id or owner, "name": system.get("name"),
                                    "description": system.get("description"),
                                    "timezone": system.get("timezone")}}
    doc["arrays"] = [{"id": a["array_id"], "name": a["name"]} for a in _rows(conn, shape, "arrays", *mine)]
    doc["inverters"] = [_inverter(row, adapters) for row in _rows(conn, shape, "inverters", *mine)]
    doc["battery_bank_arrays"] = [{"id": b["battery_array_id"], "name": b["name"]}
                                  for b in _rows(conn, shape, "battery_arrays", *mine)]
    links = _rows(conn, shape, "battery_pack_adapters", "ORDER BY pack_id, priority")
    doc["battery_banks"] = [_pack(row, links, adapters) for row in _rows(conn, shape, "battery_packs", *mine)]
    doc["battery_bank_array_attachments"] = [
        {"battery_bank_array_id": a["battery_array_id"], "inverter_array_id": a["inverter_array_id"],
         "attached_since": a["attached_since"], "detached_at": a["detached_at"]}
        for a in _rows(conn, shape, "battery_array_attachments")]
    doc["meters"] = [_meter(row, adapters) for row in _rows(conn, shape, "meters", *mine)]
    return {key: value for key, value in doc.items() if value}


def _adapter(path: Path, row: dict[str, Any]) -> dict[str, Any]:
    try:
        config = json.loads(row["config_json"] or "{}")
    except ValueError as exc:
        raise LegacyError(f"{path}: table adapters, row {row['_rowid']} ({row['adapter_id']}): config_json "
                          f"is not JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise LegacyError(f"{path}: table adapters, row {row['_rowid']} ({row['adapter_id']}): config_json "
                          "is not a JSON object")
    return {**config, "type": row.get("adapter_type") or config.get("type")}


def _inverter(row: dict[str, Any], adapters: dict[str, dict[str, Any]]) -> DeviceDoc:
    doc: DeviceDoc = {"id": row["inverter_id"], "name": row["name"], "array_id": row["array_id"]}
    for key in ("model", "serial_number", "vendor", "phase_type"):
        if row.get(key):
            doc[key] = row[key]
    if row.get("adapter_id") in adapters:
        doc["adapter"] = adapters[row["adapter_id"]]
    return doc


def _pack(row: dict[str, Any], links: list[dict[str, Any]], adapters: dict[str, dict[str, Any]]
          ) -> DeviceDoc:
    doc: DeviceDoc = {"id": row["pack_id"], "name": row["name"]}
    for key in ("battery_array_id", "chemistry", "nominal_kwh", "max_charge_kw", "max_discharge_kw"):
        if row.get(key) is not None:
            doc[key] = row[key]
    mine = [link for link in links if link["pack_id"] == row["pack_id"] and link["adapter_id"] in adapters]
    if mine:
        doc["adapters"] = [{"adapter": adapters[link["adapter_id"]], "priority": link["priority"],
                            "enabled": bool(link["enabled"] if link["enabled"] is not None else True)}
                           for link in mine]
    return doc


def _meter(row: dict[str, Any], adapters: dict[str, dict[str, Any]]) -> DeviceDoc:
    doc: DeviceDoc = {"id": row["meter_id"], "name": row["name"], "array_id": row.get("array_id") or "home"}
    for key in ("model", "type"):
        if row.get(key):
            doc[key] = row[key]
    if row.get("adapter_id") in adapters:
        doc["adapter"] = adapters[row["adapter_id"]]
    return doc
