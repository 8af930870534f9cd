"""Request parsers that bound the body's size and (for JSON) its nesting depth.

DRF reads JSON and form bodies from the raw stream, which skips Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` check; these parsers apply it, so a huge body is a 413.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

from solarmon.api.exceptions import RequestTooLarge

# Real payloads are a few levels deep (a row with a config object); anything far deeper is junk
# that would only cost recursion further on (validation messages, rendering).
MAX_JSON_DEPTH = 32


def _limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) or 2**62


def _check_declared_length(parser_context: Mapping[str, Any] | None) -> None:
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {})
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError("Invalid Content-Length header.") from None
    if length > _limit():
        raise RequestTooLarge()


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
    return deepest


class BoundedJSONParser(parsers.JSONParser):
    """JSON with a size limit, a depth limit and NaN/Infinity refused."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        _check_declared_length(parser_context)
        raw = stream.read(_limit() + 1) if stream is not None else b""
        if len(raw) > _limit():
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=strict_constant if api_settings.STRICT_JSON else None)
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        return data


class BoundedFormParser(parsers.FormParser):
    """URL-encoded forms with a size limit."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        _check_declared_length(parser_context)
        return super().parse(stream, media_type, parser_context)


class BoundedMultiPartParser(parsers.MultiPartParser):
    """Multipart forms (the browsable API's HTML forms) with a size limit."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        _check_declared_length(parser_context)
        return super().parse(stream, media_type, parser_context)


PARSER_CLASSES = [BoundedJSONParser, BoundedFormParser, BoundedMultiPartParser]
