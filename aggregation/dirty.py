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
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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
    """The full check, in one round trip: the device's watermark and its nearest tier rows on
    either side of ``ts`` within the widest reach of a device without a watermark (two gap
    limits); a watermark whose gap is longer than the limit is checked again on its own reach."""
    spec = TIER_OF.get(device_type)  # type: ignore[call-overload]
    slot, wide = timedelta(seconds=tiers.SLOT_S), timedelta(seconds=2 * MAX_GAP_LIMIT_S)
    instant = connection.ops.adapt_datetimefield_value
    near: list[Any] = [] if spec is None else [
        device_id, instant(ts - wide - slot), instant(ts), device_id, instant(ts), instant(ts + wide)]
    with connection.cursor() as cursor:
        cursor.execute(_late_sql(spec and spec.model, spec.device if spec else ""),
                       [*near, device_type, device_id])
        closed, gap, before, after = cursor.fetchone()
    reach = timedelta(seconds=2 * (gap if gap else MAX_GAP_LIMIT_S))
    closed = _instant(closed)
    if closed is not None and ts - reach < closed:
        return True
    if spec is None:
        return False
    if reach > wide:
        return bool(spec.model._default_manager.filter(
            **{spec.device: device_id, "ts__gte": ts - reach - slot, "ts__lte": ts + reach}).exists())
    before, after = _instant(before), _instant(after)
    return (before is not None and before >= ts - reach - slot) or (after is not None and after <= ts + reach)


@lru_cache(maxsize=8)
def _late_sql(tier: type[models.Model] | None, device: str) -> str:
    """``SELECT`` the watermark's ``closed_until`` and ``max_gap_s``, the latest tier slot in
    [low, ts] and the earliest in (ts, high]; a device without a watermark still gets its row."""
    quote = connection.ops.quote_name
    near = ["NULL", "NULL"]
    if tier is not None:
        column = next(f.column for f in tier._meta.concrete_fields if f.attname == device)
        rows = f"FROM {quote(tier._meta.db_table)} WHERE {quote(column)} = %s AND ts"
        near = [f"(SELECT MAX(ts) {rows} >= %s AND ts <= %s)", f"(SELECT MIN(ts) {rows} > %s AND ts <= %s)"]
    return (f"SELECT w.closed_until, w.max_gap_s, {near[0]}, {near[1]} FROM (SELECT 1) AS one LEFT JOIN "
            f"(SELECT closed_until, max_gap_s FROM {quote(RollupWatermark._meta.db_table)} "
            f"WHERE device_type = %s AND device_id = %s) AS w ON TRUE")


def _instant(value: Any) -> datetime | None:
    """A timestamp read with plain SQL as an aware datetime (SQLite returns its text)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or timezone.is_aware(value) else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    return None if parsed is None else (parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC))


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
