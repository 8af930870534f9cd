"""Building blocks every app's REST API uses: base viewsets, serializers, parsers, errors.

This package imports no solarmon app, so any app may build on it. See docs/api.md.
"""
