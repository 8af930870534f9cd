"""``POST /api/adapters/{id}/test/`` and ``POST /api/adapter-types/{type}/test/``: test a connection.

Both read the device once (identify, then one read) through the same service as the admin's
button and ``read_device`` (``catalog.providers``), under the bus lock and bounded in time.
A saved adapter is tested with its stored config, overridden by ``config`` when one is sent;
a type is tested with the sent config. Staff only: a test talks to devices.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from catalog.ports import port_choices
from catalog.providers import PROVIDERS
from catalog.services import adapter_config_problems


class ConnectionTestRequestSerializer(serializers.Serializer):
    config = serializers.DictField(required=False, default=dict,
                                   help_text="Adapter config (as in config_json); for a saved adapter, "
                                   "keys given here override its stored config")


class ConnectionTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the device answered with a plausible reading")
    adapter_type = serializers.CharField()
    identity = serializers.DictField(help_text="serial_number, model and what else the device told")
    kind = serializers.CharField(help_text="inverter, battery_pack or meter; empty on failure")
    reading = serializers.DictField(help_text="The normalized reading (units and signs as in samples)")
    error = serializers.CharField(help_text="One line naming the device and the cause; empty on success")
    duration_ms = serializers.IntegerField()


class SerialPortSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The path to put in serial_port (by-id where there is one)")
    description = serializers.CharField(help_text="USB vendor and model, or what discovery found there")
    found_by = serializers.CharField(help_text="'this machine' or 'discovery'")


def _config_problem_response(adapter_type: str, config: dict[str, Any]) -> Response | None:
    problems = adapter_config_problems(adapter_type, config)
    if not problems:
        return None
    return Response({"config": {key or "(config)": messages for key, messages in problems.items()}},
                    status=status.HTTP_400_BAD_REQUEST)


def run_test(adapter_type: str, config: dict[str, Any]) -> Response:
    """400 with the config's problems by key, else 200 with what the device answered (ok or not)."""
    invalid = _config_problem_response(adapter_type, config)
    if invalid is not None:
        return invalid
    result = PROVIDERS.test_connection(adapter_type, config)
    return Response(ConnectionTestResultSerializer(asdict(result)).data)


TEST_SCHEMA = extend_schema(
    request=ConnectionTestRequestSerializer, responses={200: ConnectionTestResultSerializer},
    description="Read the device once (identify, then one reading) without storing anything. "
    "400 names the config keys at fault; 200 with ok=false carries the one-line device error.")
# A connection test talks to devices: staff only (DRF's IsAdminUser checks is_staff).
STAFF_ONLY = [IsAdminUser]
PORTS_SCHEMA = extend_schema(responses={200: SerialPortSerializer(many=True)},
                             description="Serial ports to offer for serial_port: this machine's "
                             "(by /dev/serial/by-id name, with USB vendor and model) and those "
                             "discovery has seen.")


def serial_ports_response() -> Response:
    ports = [{"path": p.path, "description": p.label, "found_by": p.source} for p in port_choices()]
    return Response(SerialPortSerializer(ports, many=True).data)
