"""MQTT publishing with Home Assistant discovery (README "Home Assistant / MQTT").

- ``config``: the effective settings (stored row, environment overrides).
- ``devices``: the installation as Home Assistant devices (one per solarmon device).
- ``sensors``: what each kind of device publishes, as tables.
- ``naming``: topics and unique ids (solarmon's scheme, or the original system's).
- ``states`` / ``energy``: the JSON state of each device; energy that never decreases.
- ``discovery``: device-based discovery configs.
- ``publisher``: the per-process publisher thread; ``link``: the broker connection.
- ``extensions``: how another app adds components and state topics.
"""
