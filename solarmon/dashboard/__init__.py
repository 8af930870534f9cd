"""Helpers of the dashboard pages: which system is shown, history rows, battery detail."""
