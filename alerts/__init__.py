"""Alerts: rules, alert states (raised, cleared, acknowledged) and their evaluation."""
