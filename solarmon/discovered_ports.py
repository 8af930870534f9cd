"""The serial ports discovery has seen, as suggestions for an adapter's serial-port field."""

from __future__ import annotations

from catalog.ports import PortChoice
from discovery.models import DeviceDiscovery, PortProbe


def discovered_ports() -> list[PortChoice]:
    """Ports with a discovered device (named after it) and every other port discovery probed."""
    choices = [PortChoice(d.port, f"{d.device_type} {d.model or ''} {d.serial_number}".replace("  ", " "),
                          "discovery")
               for d in DeviceDiscovery.objects.exclude(port="").order_by("port")]
    choices += [PortChoice(p.port, f"probed: {p.last_result}", "discovery")
                for p in PortProbe.objects.order_by("port")]
    return choices
