"""Hourly and daily rollups and energy accounting."""
