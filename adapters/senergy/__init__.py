"""Senergy SE-series hybrid inverters: register map and driver."""
