"""The driver contract every adapter type implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar

from adapters.readings import DeviceIdentity, Reading


class Driver(ABC):
    """One device behind one adapter config.

    A driver never touches the database. ``identify()`` is read-only and bounded in
    time (discovery calls it on unknown ports). ``read()`` returns a typed reading or
    raises an :class:`adapters.errors.AdapterError`. Connections are kept between
    calls and reopened after an error; ``close()`` releases them.
    """

    adapter_type: ClassVar[str]

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    @abstractmethod
    def identify(self) -> DeviceIdentity:
        """Return the device's serial number and model, reading only."""

    @abstractmethod
    def read(self) -> Reading:
        """Read the device once and return a normalized reading."""

    def close(self) -> None:  # noqa: B027 - drivers without a connection need nothing
        """Release the connection, if any."""

    def __enter__(self) -> Driver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
