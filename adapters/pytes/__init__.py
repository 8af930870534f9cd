"""Pytes / Pylontech low-voltage battery packs through the console serial port."""
