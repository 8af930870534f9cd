"""How another app adds Home Assistant components to solarmon's devices, without touching the core.

A *provider* is a function ``(device) -> list[ExtraComponent]``, registered once (for
instance from an app's ``ready()``). Each extra component is added to the device's discovery
config with its own state topic under the device's topic root (``<root>/<suffix>``); the
app then sends that topic's state with ``integrations.mqtt.runtime.publish_extra(device_key,
suffix, payload)``, typically from a receiver of its own signal (for example an alert raised
or cleared, published as a ``binary_sensor``). Extra states are retained and republished
after a reconnect like every other state.

A component that knows its state when it is described (``state``) has it published with the
configs, after every reconnect and at each catalog check, so it is right from the start and
comes back right when several processes publish; ``publish_extra`` then only makes changes
show at once. ``availability="bridge"`` makes a component follow solarmon alone, not its
device: an alert that its device is offline must stay visible while the device is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.mqtt.devices import HaDevice


@dataclass(frozen=True)
class ExtraComponent:
    """One component another app adds to a device."""

    component_id: str  # unique within the device, e.g. "alert_low_soc"
    platform: str  # "binary_sensor", "sensor", ...
    unique_suffix: str  # appended to the device identifier to form the unique id
    state_suffix: str  # the state topic is <device root>/<state_suffix>
    config: dict[str, Any] = field(default_factory=dict)  # name, device_class, value_template, ...
    state: str | None = None  # the state now, if the provider knows it (see the module docstring)
    availability: str = "device"  # "device": like the device's sensors; "bridge": solarmon's only


Provider = Callable[[HaDevice], list[ExtraComponent]]
_PROVIDERS: list[Provider] = []


def register_provider(provider: Provider) -> Provider:
    """Add ``provider`` (idempotent); usable as a decorator."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def unregister_provider(provider: Provider) -> None:
    if provider in _PROVIDERS:
        _PROVIDERS.remove(provider)


def extra_components(device: HaDevice) -> list[ExtraComponent]:
    """Every registered provider's components for ``device``."""
    return [component for provider in list(_PROVIDERS) for component in provider(device)]
