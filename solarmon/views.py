"""Health check and the dashboard entry page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The only page served to anonymous users: is the process up and the database reachable?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:  # the health check must answer, whatever broke
        return JsonResponse({"status": "error", "error": str(exc)}, status=503)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Dashboard landing page."""
    return render(request, "dashboard/overview.html", {})
