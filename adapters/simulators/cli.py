"""Entry point behind ``manage.py simulate TYPE ...``: dispatches to each simulator's ``main``."""

from __future__ import annotations

import importlib

from adapters.errors import ConfigError
from adapters.registry import get_type


def run_simulator(adapter_type: str, argv: list[str]) -> int:
    """Run the simulator of ``adapter_type`` with its own command-line ``argv``.

    Every simulator module exposes ``main(adapter_type: str, argv: list[str]) -> int``.
    """
    spec = get_type(adapter_type)
    if not spec.simulator_path:
        raise ConfigError(f"adapter type {adapter_type!r} has no simulator")
    module = importlib.import_module(spec.simulator_path.partition(":")[0])
    result: int = module.main(adapter_type, argv)
    return result
