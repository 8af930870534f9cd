"""Signs of life of the long-running parts, for /api/health/."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """When one part (``worker``, ``beat``, ``web``) last proved it was working."""

    name = models.CharField(primary_key=True, max_length=64)
    at = models.DateTimeField()

    class Meta:
        db_table = "heartbeats"
        verbose_name = "heartbeat"
        verbose_name_plural = "heartbeats"

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
