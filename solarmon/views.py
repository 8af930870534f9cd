"""Health check, the dashboard's login, and the dashboard pages: overview, history (+ CSV),
battery, discovery.

Pages are server-rendered; the overview's live parts are drawn and refreshed by
static/solarmon/overview.js from the REST API, so the page never reloads to update.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from aggregation.selectors import today_energy
from aggregation.storage_status import storage_status
from discovery.models import DeviceDiscovery, PortProbe
from integrations.selectors import mqtt_overview
from solarmon.dashboard import history as hist
from solarmon.dashboard.battery import pack_views
from solarmon.dashboard.systems import SystemChoice, choose_system
from solarmon.health import run_checks

REFRESH_DEFAULT_S = 5


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The only page served to anonymous users: is each part of solarmon working?

    200 when every check passes, 503 otherwise; the body names the parts, never why.
    """
    results = run_checks()
    healthy = all(results.values())
    body = {"status": "ok" if healthy else "failing",
            "checks": {name: "ok" if ok else "failing" for name, ok in results.items()},
            "storage": _storage_level()}
    return JsonResponse(body, status=200 if healthy else 503)


class DashboardLoginView(LoginView):
    """The dashboard's own login: owners (any active user) and installers (staff) alike.

    The admin keeps its login, which admits staff only. Repeated failures are locked out by
    django-axes (settings: AXES_*), here and in the admin.
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _storage_level() -> str:
    """ok, low or full: the data disk (details at /api/storage/, for logged-in users)."""
    try:
        return storage_status().level
    except Exception:  # the health check must answer, whatever broke
        return "unknown"


def _page(request: HttpRequest, template: str, choice: SystemChoice, page: str, **context: Any
          ) -> HttpResponse:
    return render(request, template, {"systems": choice.systems, "system": choice.current, "page": page,
                                      **context})


def _refresh_s(request: HttpRequest) -> int:
    """Seconds between refreshes: ``?refresh=N`` (1-60) or the default."""
    try:
        return min(max(int(request.GET.get("refresh", REFRESH_DEFAULT_S)), 1), 60)
    except ValueError:
        return REFRESH_DEFAULT_S


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Live power flow, today's energy and every device of one system; for staff, how MQTT
    publishing fares (connected, messages published and dropped, last error)."""
    choice = choose_system(request)
    today = today_energy(choice.current) if choice.current else None
    mqtt = mqtt_overview() if request.user.is_staff else None
    return _page(request, "dashboard/overview.html", choice, "overview", today=today, mqtt=mqtt,
                 refresh_ms=_refresh_s(request) * 1000)


@login_required
@require_GET
def today_json(request: HttpRequest) -> JsonResponse:
    """Today's energy of the chosen system, live to its last poll, for the overview's refresh."""
    choice = choose_system(request)
    if choice.current is None:
        return JsonResponse({"detail": "no system"}, status=404)
    return JsonResponse(today_energy(choice.current))


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Hourly chart of a day or daily chart of a month, for the system or one of its devices."""
    choice = choose_system(request)
    if choice.current is None:
        return _page(request, "dashboard/history.html", choice, "history")
    query = hist.parse_query(choice.current, request.GET)
    rows = hist.history_rows(query)
    targets, target = hist.targets(choice.current), f"{query.level}:{query.device_id}"
    return _page(request, "dashboard/history.html", choice, "history", query=query, rows=rows,
                 table=hist.table_rows(query, rows), series=query.series, chart=hist.chart_data(query, rows),
                 targets=targets, target=target, target_label=dict(targets).get(target, target),
                 query_here=query.querystring(), query_prev=query.querystring(-1),
                 query_next=query.querystring(1))


@login_required
@require_GET
def history_csv(request: HttpRequest) -> HttpResponse:
    """The rows the history chart shows, as CSV."""
    choice = choose_system(request)
    if choice.current is None:
        return HttpResponse("no system\n", content_type="text/plain", status=404)
    query = hist.parse_query(choice.current, request.GET)
    when = query.day.isoformat() if query.period == "day" else query.month.strftime("%Y-%m")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{query.level}-{query.device_id}-{when}.csv"'
    writer = csv.writer(response)
    writer.writerow(hist.csv_header(query))
    writer.writerows(hist.csv_rows(query, hist.history_rows(query)))
    return response


@login_required
@require_GET
def battery(request: HttpRequest) -> HttpResponse:
    """Packs → battery units → cells, with the cell imbalance highlighted."""
    choice = choose_system(request)
    packs = pack_views(choice.current, timezone.now()) if choice.current else []
    return _page(request, "dashboard/battery.html", choice, "battery", packs=packs)


@login_required
@require_GET
def discovery(request: HttpRequest) -> HttpResponse:
    """Serial ports, the devices found on them, and approve/reject buttons."""
    choice = choose_system(request)
    devices = DeviceDiscovery.objects.select_related("adapter").order_by("status", "device_id")
    return _page(request, "dashboard/discovery.html", choice, "discovery", devices=devices,
                 ports=PortProbe.objects.order_by("port"))
