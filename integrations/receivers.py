"""Signal receivers: telemetry's poll events go to this process's MQTT publisher.

Each receiver only hands a tuple to a bounded queue (``runtime.submit``): it never blocks,
never touches the network and never raises into the poll that sent the signal.
"""

from __future__ import annotations

from typing import Any

from integrations.mqtt import runtime
from telemetry.models import DeviceStatus


def on_samples_written(sender: Any, device_type: str, device_id: str, system_id: str, ts: Any,
                       **kwargs: Any) -> None:
    runtime.submit("samples", device_type, device_id, system_id, ts)


def on_status_saved(sender: type[DeviceStatus], instance: DeviceStatus, **kwargs: Any) -> None:
    runtime.submit("status", instance.device_type, instance.device_id)
