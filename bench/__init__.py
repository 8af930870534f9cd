"""Benchmarks, run as scripts (``.venv/bin/python bench/<name>.py``).

A package, so that a script's module name (``bench.alerts``) never clashes with an app's.
"""
