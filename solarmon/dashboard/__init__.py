"""Helpers of the dashboard pages: which system is shown, today's energy, history rows, battery detail."""
