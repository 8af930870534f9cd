"""Help texts of catalog fields whose model field has none, shared by the API schema and the admin."""

from __future__ import annotations

# By API field name (``system_id``); the admin looks up its field ``system`` as ``system_id`` too.
FIELD_HELP = {
    "name": "Display name",
    "description": "Free text",
    "system_id": "The system (installation) this row belongs to",
    "array_id": "The inverter array",
    "battery_array_id": "The battery array",
    "pack_id": "The battery pack",
    "battery_id": "The battery unit",
    "adapter_id": "The adapter that reads this device; empty = not read yet",
    "adapter_type": "Adapter type (see /api/adapter-types/)",
    "inverter_array_id": "The inverter array the battery array feeds",
    "model": "Device model, as reported or typed in",
    "serial_number": "Device serial number; identifies the device across port renames",
    "vendor": "Manufacturer",
    "manufacturer": "Manufacturer",
    "phase_type": "Grid connection: single or three phase, or detect",
    "type": "What the meter measures: grid exchange, consumption or production",
    "enabled": "Disabled adapters are not polled",
    "device_category": "inverter, battery or meter",
    "device_type": "What kind of device the adapter reads (set when a device links the adapter)",
    "nominal_kwh": "Usable capacity in kWh",
    "max_charge_kw": "Charge power limit in kW",
    "max_discharge_kw": "Discharge power limit in kW",
    "nominal_voltage": "Nominal cell voltage in V",
    "attached_since": "When the attachment started (UTC, ISO 8601)",
    "supported_transports": "Transports this type can use (rtu, tcp, rtu_over_tcp, serial, ble)",
    "default_config": "Config values used where an adapter's config_json leaves them out",
    "version": "Version of this type's config schema",
    "created_at": "When the row was created (UTC)",
    "updated_at": "When the row was last changed (UTC)",
    "id": "Row number",
}

# Help texts for the admin's fields that neither the model nor the API list above describes.
ADMIN_HELP = {
    "battery_index": "Position of this battery unit in the pack, from 0",
    "cell_index": "Position of this cell in its battery unit, from 0",
    "detached_at": "Empty = still attached",
    "inverter_array": "The inverter array this battery array feeds",
    "battery_array": "The battery array this row belongs to",
    "rated_power_w": "Nameplate power in W; bounds plausible energy jumps",
    "chemistry": "Cell chemistry: LFP, NMC, ...",
    "attachment_target": "'system' or the array id; filled from the array",
    "priority": "Lower number = tried first when a pack has several adapters",
    "poll_interval_s": "Seconds between polls; empty = the adapter type's default",
    "config_json": "The adapter's settings as JSON, checked against the adapter type's schema",
}


def help_for(field_name: str) -> str:
    """The help text for an admin field: ADMIN_HELP, then FIELD_HELP by field or column name."""
    return (ADMIN_HELP.get(field_name) or FIELD_HELP.get(field_name)
            or FIELD_HELP.get(f"{field_name}_id", ""))
