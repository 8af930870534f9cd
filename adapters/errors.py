"""The one error family every driver raises.

Style rule 5: a transport failure, a device's own error reply and an implausible value
are different things and are handled differently by the poller, so each has its own
class. ``permanent`` tells the poller whether retrying can ever help.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base class for every failure a driver reports.

    ``permanent`` is True when retrying cannot help (bad config, wrong device);
    False for failures that may clear on their own (timeout, dropped link).
    """

    permanent: bool = False

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class ConfigError(AdapterError):
    """The adapter config cannot work: unknown type, missing port, bad transport."""

    permanent = True


class TransportError(AdapterError):
    """The link failed: timeout, refused connection, closed socket, CRC error, garbage."""


class DeviceError(AdapterError):
    """The device answered with an error reply (for example a Modbus exception code)."""


class ImplausibleReading(AdapterError):
    """The device answered, but the values cannot be physically true."""


class WrongDevice(AdapterError):
    """Something answered, but it is not the device the config expects."""

    permanent = True
