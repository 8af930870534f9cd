"""The admin's Storage page (/admin/storage/): what ``manage.py storage`` prints, as a page."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from aggregation.storage_report import split_tables, storage_report


@never_cache
def storage_admin(request: HttpRequest) -> TemplateResponse:
    """Sizes and rows per table, growth per day, retention settings, free space, days until full."""
    report = storage_report()
    shown, others = split_tables(report.tables)
    context = {**admin.site.each_context(request), "title": "Storage", "report": report, "tables": shown,
               "other_tables": others, "other_bytes": sum(t.size_bytes or 0 for t in others),
               "other_rows": sum(t.rows for t in others)}
    return TemplateResponse(request, "admin/storage.html", context)
