"""Which system a dashboard page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import timezone

from catalog import models as catalog


@dataclass(frozen=True)
class SystemChoice:
    """The systems to pick from and the one shown (None when there is no system yet)."""

    systems: list[catalog.System]
    current: catalog.System | None


def choose_system(request: HttpRequest) -> SystemChoice:
    """The system named by ``?system=``, else the first one; an unknown id falls back to the first."""
    systems = list(catalog.System.objects.order_by("system_id"))
    wanted = request.GET.get("system", "")
    current = next((s for s in systems if s.pk == wanted), systems[0] if systems else None)
    return SystemChoice(systems, current)


def local_today(system: catalog.System, now: datetime | None = None) -> date:
    """Today's date in the system's own timezone (rollup dates are local)."""
    return (now or timezone.now()).astimezone(ZoneInfo(system.timezone)).date()
