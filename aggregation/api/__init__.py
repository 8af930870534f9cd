"""REST endpoints of the rollups: hourly and daily rows at every level, read-only."""
