"""Top-level sections that other apps own: settings rows imported and exported with the catalog.

The catalog cannot import the apps above it (``integrations``, ``discovery``), so each of them
registers the section it owns (``mqtt:``, ``discovery:``) when Django starts. A section reads its
mapping into field values, compares them with its stored row, writes them inside the import's
transaction and writes its mapping back on export. A section whose app is not installed is
reported as not imported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from catalog.yamlconfig.fields import Item

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class SectionValues:
    """What one section of a file asks for: field values, and the YAML path of each field."""

    values: dict[str, Any]
    path: str
    field_paths: dict[str, str] = field(default_factory=dict)


class SettingsSection(ABC):
    """One top-level section backed by a settings row of another app."""

    key: str  # the top-level YAML key, e.g. "mqtt"
    table: str  # the table it writes, as the import report names it

    @abstractmethod
    def parse(self, item: Item) -> SectionValues | None:
        """Read the section (reporting problems and warnings on ``item``); ``None`` = nothing to do."""

    @abstractmethod
    def compare(self, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``(create|update|unchanged, the values that differ)`` against the stored row (read only)."""

    @abstractmethod
    def apply(self, values: dict[str, Any]) -> None:
        """Write ``values``; raises Django's ``ValidationError`` keyed by field name."""

    @abstractmethod
    def export(self) -> dict[str, Any] | None:
        """The section as the export writes it, or ``None`` when nothing is stored."""


class SingletonRowSection(SettingsSection):
    """A section stored in a one-row settings model (its default primary key is the row's)."""

    model: type[models.Model]

    def stored(self) -> Any:
        """The stored row, or ``None``."""
        return self.model._default_manager.filter(pk=self.model().pk).first()

    def compare(self, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        row = self.stored()
        if row is None:
            return CREATE, dict(values)
        changed = {name: value for name, value in values.items() if getattr(row, name) != value}
        return (UPDATE if changed else UNCHANGED), changed

    def apply(self, values: dict[str, Any]) -> None:
        row = self.stored() or self.model()
        for name, value in values.items():
            setattr(row, name, value)
        row.full_clean()
        row.save()


SECTIONS: dict[str, SettingsSection] = {}


def register_section(section: SettingsSection) -> None:
    """Called by the owning app's ``ready()``; registering the same key again replaces it."""
    SECTIONS[section.key] = section


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    """A model ``ValidationError`` as field name → messages (``__all__`` for the whole row)."""
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}
