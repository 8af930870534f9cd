"""solarmon: a self-hosted monitor for solar and battery installations."""

from solarmon.celery import app as celery_app

__all__ = ("celery_app",)
