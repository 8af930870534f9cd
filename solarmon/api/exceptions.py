"""The API's exception handler: every failure a client can cause becomes a 4xx, never a 500.

DRF already turns its own exceptions (validation, parse, auth, 404) into responses. This
handler adds the Django and database exceptions that reach a view when input passes the
serializer but the model or the database refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The request clashes with the current state (a unique row written meanwhile, a protected row)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    """The body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "too_large"


def django_validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as DRF's ``{field: [messages]}``, non-field errors under DRF's key."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    detail: dict[str, list[str]] = {}
    for field, errors in exc.message_dict.items():
        key = api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field
        detail.setdefault(key, []).extend(errors)
    return detail


def _translate(exc: Exception) -> Exception:
    """Map the non-DRF exceptions a client can trigger to the DRF exception with the right status."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_validation_detail(exc))
    if isinstance(exc, IntegrityError):
        # Two writers raced past validation; the database constraint had the last word.
        return Conflict(f"Conflicting write: {exc}")
    if isinstance(exc, ProtectedError | RestrictedError):
        return Conflict(f"Other rows still refer to this one: {exc.args[0]}")
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, RecursionError):
        return exceptions.ParseError("Request body is nested too deeply.")
    if isinstance(exc, DataError | OverflowError):
        # A value passed the field checks but does not fit the database column.
        return exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [f"Value out of range: {exc}"]})
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """``REST_FRAMEWORK["EXCEPTION_HANDLER"]``: DRF's handler, after translating client-caused errors."""
    translated = _translate(exc)
    if translated is not exc:
        log.info("%s answered as %s: %s", type(exc).__name__, type(translated).__name__, exc)
    response = drf_exception_handler(translated, context)
    if response is not None and isinstance(response.data, list):
        # A validator without a field raised a bare list; every error body is an object.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response
