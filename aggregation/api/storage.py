"""``/api/storage/``: the data disk's status and what the disk guard did (see diskguard.py)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from aggregation.storage_status import storage_status
from solarmon.api.viewsets import ApiView


class StorageStatusSerializer(serializers.Serializer[Any]):
    level = serializers.ChoiceField(choices=["ok", "low", "full"],
                                    help_text="ok; low: below the free space the disk guard keeps; full")
    alert = serializers.BooleanField(help_text="True when the dashboard shows a storage banner")
    message = serializers.CharField(help_text="What the dashboard's banner says (empty when all is well)")
    path = serializers.CharField(help_text="The data directory (SOLARMON_DATA_DIR)")
    total_bytes = serializers.IntegerField()
    free_bytes = serializers.IntegerField(help_text="Free on the filesystem")
    reusable_bytes = serializers.IntegerField(help_text="Free pages inside the SQLite database")
    available_bytes = serializers.IntegerField(help_text="free_bytes + reusable_bytes")
    threshold_bytes = serializers.IntegerField(help_text="Below this the disk guard prunes raw samples early")
    holds_database = serializers.BooleanField(help_text="Whether the database is on this disk")
    retention_days = serializers.IntegerField(help_text="SOLARMON_RAW_RETENTION_DAYS")
    early_keep_days = serializers.IntegerField(allow_null=True, help_text=(
        "Days of raw samples kept since the guard last pruned early (within a day), else null"))
    pruned_at = serializers.DateTimeField(allow_null=True, help_text="When the guard last pruned early")
    exhausted = serializers.BooleanField(help_text="Still low, and nothing more may be pruned")
    checked_at = serializers.DateTimeField(allow_null=True, help_text="The guard's last check")


class StorageStatusView(ApiView):
    """Free space on the data disk, the disk guard's threshold, and whether it pruned raw samples
    early. The same status as the dashboard's storage banner."""

    serializer_class = StorageStatusSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        return Response(StorageStatusSerializer(storage_status().as_dict()).data)
