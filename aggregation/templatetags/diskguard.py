"""``{% storage_status as storage %}``: the data disk's status, for the dashboard and admin banners."""

from __future__ import annotations

import logging

from django import template

from aggregation.storage_status import StorageStatus
from aggregation.storage_status import storage_status as current_status

register = template.Library()
log = logging.getLogger(__name__)


@register.simple_tag
def storage_status() -> StorageStatus | None:
    """The status now, or None if it cannot be read (a banner never breaks the page)."""
    try:
        return current_status()
    except Exception:
        log.exception("storage status unavailable")
        return None
