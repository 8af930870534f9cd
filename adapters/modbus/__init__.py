"""Shared Modbus pieces: register-map data and codec, the read planner, the transports."""
