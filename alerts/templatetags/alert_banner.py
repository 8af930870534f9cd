"""``{% alert_banner %}``: the strip under the top bar that names the active alerts."""

from __future__ import annotations

from typing import Any

from django import template

from alerts.selectors import active_alerts

register = template.Library()


@register.inclusion_tag("dashboard/alert_banner.html", takes_context=True)
def alert_banner(context: template.Context) -> dict[str, Any]:
    """Nothing for anonymous users or on the alerts page itself; else the active alerts."""
    user = context.get("user")
    if user is None or not user.is_authenticated or context.get("page") == "alerts":
        return {"active": None}
    active = active_alerts()
    return {"active": active, "more": active.count - len(active.first)}
