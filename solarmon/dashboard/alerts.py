"""The alerts page: what is wrong now (with acknowledge buttons), then what was wrong before."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alerts.selectors import alert_history, current_alerts
from solarmon.dashboard.systems import choose_system

HISTORY_PAGE = 50


@login_required
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    """Active alerts first (critical, then newest), then the history, 50 a page."""
    choice = choose_system(request)
    history = Paginator(alert_history(), HISTORY_PAGE).get_page(request.GET.get("page"))
    return render(request, "dashboard/alerts.html", {
        "systems": choice.systems, "system": choice.current, "page": "alerts", "active": current_alerts(),
        "history": history})
