"""Signals other apps listen to (imports point down: integrations listens to alerts).

``alert_changed`` is sent after the change is committed, with ``alert`` (an ``Alert``) and
``event`` ("raised", "cleared" or "acknowledged", ``alerts.choices.AlertEvent``). Notification
channels and the MQTT publisher (a binary sensor per rule and subject, an event topic) listen to
it. It is sent robustly: a receiver that fails is logged and never stops a poll.
"""

from __future__ import annotations

from django.dispatch import Signal

alert_changed = Signal()
