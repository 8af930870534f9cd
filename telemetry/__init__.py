"""Sample tables, polling, device status, ingest and live-state selectors."""
