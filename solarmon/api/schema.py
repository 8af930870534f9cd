"""OpenAPI generation: drf-spectacular's AutoSchema, plus the error responses every operation can give."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """An error that concerns the whole request."""

    detail = serializers.CharField(help_text="What went wrong, in words")


_FIELD_ERRORS: dict[str, Any] = {
    "type": "object",
    "description": "Validation errors keyed by field name (`non_field_errors` for the row as a whole, "
    "`detail` for a malformed body), each a list of messages.",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
        ],
    },
}

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a malformed body or query, or values that fail validation",
    "401": "Authentication failed (e.g. an invalid token)",
    "403": "Not logged in, or not allowed (only staff may write)",
    "404": "No such object",
    "409": "Conflicts with the current state (written meanwhile, or still referenced)",
    "413": "Request body too large",
    "415": "Unsupported content type",
}


class ApiAutoSchema(AutoSchema):
    """Documents the error responses of each operation, with their bodies, beside the success ones."""

    def map_parsers(self) -> list[Any]:
        # JSON is the API. Form encodings are accepted only for the browsable API's HTML forms.
        return ["application/json"]

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("409")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        for code in self._error_codes():
            body: Any = _FIELD_ERRORS if code == "400" else ErrorSerializer
            response = OpenApiResponse(response=body, description=_ERROR_DESCRIPTIONS[code])
            responses.setdefault(code, self._get_response_for_code(response, code, direction=direction))
        return responses

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        what = model._meta.verbose_name if model is not None else "object"
        for parameter in parameters:
            if not parameter.get("description"):
                parameter["description"] = f"Id of the {what}"
        return parameters
