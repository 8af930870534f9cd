"""Importing an installation of the original system: its SQLite database (samples, discovery,
hourly rows)."""
