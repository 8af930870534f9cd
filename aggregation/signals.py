"""Signals other apps listen to (imports point down: alerts listens to aggregation).

``rollup_written`` is sent after a day's rollup rows are committed (a full day's rollup, and the
periodic rollup once an hour and whenever it met a glitch), with ``system_id``, ``day`` (the local
date) and ``glitches``: counter readings rejected that day so far per device, a dict of
(device type "inverter"/"meter"/"battery_pack", device id) → count, every device of the day
included (0 when clean). Alerts watch it for devices whose counters misbehave.
"""

from __future__ import annotations

from django.dispatch import Signal

rollup_written = Signal()
