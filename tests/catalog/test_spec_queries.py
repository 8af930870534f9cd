"""The spec §12 example queries run unchanged against the migrated schema."""

from __future__ import annotations

import pytest
from django.db import connection

from catalog import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db

ALL_DEVICES = """
SELECT
    'inverter' as type, inverter_id as id, name, array_id
FROM inverters
WHERE system_id = 'system'
UNION ALL
SELECT
    'battery_pack' as type, pack_id as id, name, battery_array_id
FROM battery_packs
WHERE system_id = 'system'
UNION ALL
SELECT
    'meter' as type, meter_id as id, name, array_id
FROM meters
WHERE system_id = 'system';
"""

PACK_HIERARCHY = """
SELECT
    ba.battery_array_id,
    ba.name as array_name,
    bp.pack_id,
    bp.name as pack_name,
    b.battery_id,
    b.battery_index,
    COUNT(bc.cell_id) as cell_count
FROM battery_arrays ba
JOIN battery_packs bp ON ba.battery_array_id = bp.battery_array_id
JOIN batteries b ON bp.pack_id = b.pack_id
LEFT JOIN battery_cells bc ON b.battery_id = bc.battery_id
WHERE ba.system_id = 'system'
GROUP BY ba.battery_array_id, bp.pack_id, b.battery_id
ORDER BY ba.battery_array_id, bp.pack_id, b.battery_index;
"""

DEFAULT_STRUCTURE = [
    """INSERT INTO systems (system_id, name, description, timezone)
SELECT 'system', 'My Solar System', 'Auto-created default system', 'Asia/Karachi'
WHERE NOT EXISTS (SELECT 1 FROM systems WHERE system_id = 'system');""",
    """INSERT INTO arrays (array_id, system_id, name)
SELECT 'array1', 'system', 'Default Inverter Array'
WHERE NOT EXISTS (SELECT 1 FROM arrays WHERE array_id = 'array1');""",
    """INSERT INTO battery_arrays (battery_array_id, system_id, name)
SELECT 'battery_array1', 'system', 'Default Battery Array'
WHERE NOT EXISTS (SELECT 1 FROM battery_arrays WHERE battery_array_id = 'battery_array1');""",
    """INSERT INTO battery_array_attachments (battery_array_id, inverter_array_id, attached_since)
SELECT 'battery_array1', 'array1', CURRENT_TIMESTAMP
WHERE NOT EXISTS (
    SELECT 1 FROM battery_array_attachments
    WHERE battery_array_id = 'battery_array1' AND inverter_array_id = 'array1' AND detached_at IS NULL
);""",
]


def _rows(sql: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_all_devices_of_a_system() -> None:
    f.small_hierarchy()
    f.inverter("elsewhere", f.array("other_array", f.system("other")))
    rows = _rows(ALL_DEVICES)
    assert sorted(rows) == sorted([
        ("inverter", "powdrive2", "Inverter powdrive2", "array1"),
        ("inverter", "senergy1", "Inverter senergy1", "array1"),
        ("inverter", "powdrive1", "Inverter powdrive1", "array2"),
        ("battery_pack", "jkbms_bank_ble", "Pack jkbms_bank_ble", "battery_array1"),
        ("battery_pack", "battery1", "Pack battery1", "battery_array2"),
        ("meter", "grid_meter_1", "Meter grid_meter_1", None),
    ])


def test_battery_pack_hierarchy_counts_cells_per_battery() -> None:
    f.small_hierarchy()
    rows = _rows(PACK_HIERARCHY)
    assert [(r[0], r[2], r[5], r[6]) for r in rows] == [
        ("battery_array1", "jkbms_bank_ble", 0, 16),
        ("battery_array1", "jkbms_bank_ble", 1, 16),
        ("battery_array2", "battery1", 0, 15),
        ("battery_array2", "battery1", 1, 15),
        ("battery_array2", "battery1", 2, 15),
        ("battery_array2", "battery1", 3, 15),
    ]


def test_default_structure_sql_runs_and_is_idempotent() -> None:
    for _ in range(2):
        for statement in DEFAULT_STRUCTURE:
            _rows_affected(statement)
    assert m.System.objects.get().name == "My Solar System"
    assert m.System.objects.get().created_at is not None
    assert m.InverterArray.objects.get().system_id == "system"
    assert m.BatteryArray.objects.count() == 1
    assert m.BatteryArrayAttachment.objects.get().inverter_array_id == "array1"


def _rows_affected(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
