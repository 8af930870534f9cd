"""Late samples: samples that land in slots the rollups have already closed.

A sample is *late* when its booking reaches a closed slot: it is less than two gaps (how far one
sample changes the booking of its neighbours) after its device's watermark, or near a tier row
that already exists (a day rolled up in full). Live polls land after the watermark and cost two
small indexed lookups. A late sample marks its (system, local date) dirty with the range of late
samples seen; the periodic rollup rolls up the slots around that range again and clears the mark.

The check runs after every poll, so a live sample costs no query most of the time. A sample less
than the rollup's settle time old (``SOLARMON_ROLLUP_SETTLE_S``, less a margin for clocks that
disagree) can never be behind a watermark: the periodic rollup closes slots only up to its own
``now`` less that time and two gaps (``aggregation.periodic.lag``), which is also as far as its tier
rows reach. Only a backfill (``manage.py rollup --from/--to``) can have written tier rows for an
open slot, so for live samples the full check runs once per device every ``LIVE_RECHECK_S``; a
backfill that covers the open slot is seen by the next check.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from aggregation import tiers
from aggregation.buckets import local_date
from aggregation.models import DirtyDay, RollupWatermark
from aggregation.sources import MAX_GAP_LIMIT_S
from catalog.models import System
from telemetry.choices import DeviceKind

TIER_OF = {DeviceKind.INVERTER: tiers.ENERGY_TIERS["inv"], DeviceKind.METER: tiers.ENERGY_TIERS["meter"],
           DeviceKind.BATTERY_PACK: tiers.ENERGY_TIERS["pack"]}


LIVE_RECHECK_S = 60.0
CLOCK_MARGIN_S = 5.0  # hosts whose clocks disagree by less than this agree on what is live
_LIVE_CHECKED: dict[tuple[str, str], float] = {}  # device → monotonic time of its last full check


def is_late(device_type: str, device_id: str, ts: datetime, now: datetime | None = None) -> bool:
    """Whether a sample of this device at ``ts`` changes slots that are already rolled up."""
    now = now or timezone.now()
    live = (now - ts).total_seconds() < settings.SOLARMON_ROLLUP_SETTLE_S - CLOCK_MARGIN_S
    key = (device_type, device_id)
    if live and time.monotonic() - _LIVE_CHECKED.get(key, -math.inf) < LIVE_RECHECK_S:
        return False
    late = _is_late(device_type, device_id, ts)
    if live and not late:
        _LIVE_CHECKED[key] = time.monotonic()
    return late


def forget_live_checks() -> None:
    """Run the full check again for every device (tests that roll the database back)."""
    _LIVE_CHECKED.clear()


def _is_late(device_type: str, device_id: str, ts: datetime) -> bool:
    mark = (RollupWatermark.objects.filter(device_type=device_type, device_id=device_id)
            .values_list("closed_until", "max_gap_s").first())
    reach = timedelta(seconds=2 * (mark[1] if mark and mark[1] else MAX_GAP_LIMIT_S))
    if mark is not None and ts - reach < mark[0]:
        return True
    spec = TIER_OF.get(device_type)  # type: ignore[call-overload]
    if spec is None:
        return False
    return spec.model._default_manager.filter(**{spec.device: device_id, "ts__gte": ts - reach - timedelta(
        seconds=tiers.SLOT_S), "ts__lte": ts + reach}).exists()


def mark_dirty(system_id: str, ts: datetime, *, whole_day: bool = False) -> None:
    """Mark the local day holding ``ts`` for rolling up again around ``ts`` (or entirely)."""
    tz = System.objects.filter(pk=system_id).values_list("timezone", flat=True).first()
    if tz is None:
        return
    day = local_date(ts, ZoneInfo(tz))
    now = timezone.now()
    marks = DirtyDay.objects.filter(system_id=system_id, date=day)
    if whole_day:
        updated = marks.update(first_ts=None, last_ts=None, marked_at=now)
    else:
        # A mark for the whole day (no range) stays one.
        updated = marks.filter(first_ts__isnull=False).update(
            first_ts=Least(F("first_ts"), ts), last_ts=Greatest(F("last_ts"), ts), marked_at=now)
        updated += marks.filter(first_ts__isnull=True).update(marked_at=now)
    if not updated:
        DirtyDay.objects.bulk_create([DirtyDay(system_id=system_id, date=day, marked_at=now,
                                               first_ts=None if whole_day else ts,
                                               last_ts=None if whole_day else ts)],
                                     ignore_conflicts=True)
