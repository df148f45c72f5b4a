"""Parsing of query strings and JSON bodies; every bad value becomes a :class:`BadRequest` with a message."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from uuid import UUID

from .api_errors import BadRequest

E = TypeVar("E", bound=Enum)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class Query:
    """A query string as a multi-map (repeated keys are lists, as the SDK sends them)."""

    def __init__(self, raw: str) -> None:
        try:
            self.pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError as exc:
            raise BadRequest("query string is not valid UTF-8") from exc

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[-1] if values else None

    def bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self.get(name)
        return default if value is None else parse_bool(name, value)

    def int(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, got {value!r}") from None

    def enum(self, name: str, enum: type[E], default: E) -> E:
        value = self.get(name)
        return default if value is None else parse_enum(name, value, enum)

    def page_size(self) -> builtins.int:  # (``int`` is the method above here)
        size = self.int("pageSize", DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"pageSize must be between 1 and {MAX_PAGE_SIZE}, got {size}")
        return size


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"{name} must be true or false, got {value!r}")


def parse_uuid(name: str, value: Any) -> str:
    """The canonical lower-case form of a UUID, or a 400 naming the field."""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a UUID string, got {value!r}")
    try:
        return str(UUID(value))
    except ValueError:
        raise BadRequest(f"{name} is not a valid UUID: {value!r}") from None


def parse_enum(name: str, value: Any, enum: type[E]) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise BadRequest(f"{name} must be one of {allowed}; got {value!r}") from None


def parse_json_object(body: bytes) -> dict[str, Any]:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def parse_json(body: bytes) -> Any:
    if not body:
        raise BadRequest("request body is required")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None


def required(data: Mapping[str, Any], name: str) -> Any:
    if name not in data or data[name] is None:
        raise BadRequest(f"missing required field {name!r}")
    return data[name]


def string(data: Mapping[str, Any], name: str, *, allow_empty: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if not allow_empty and not value.strip():
        raise BadRequest(f"{name} must not be empty")
    return value


def uuid_list(data: Mapping[str, Any], name: str) -> list[str]:
    values = required(data, name)
    if not isinstance(values, list):
        raise BadRequest(f"{name} must be a list of UUIDs")
    return [parse_uuid(name, v) for v in values]


def metadata_object(data: Mapping[str, Any], name: str) -> str | None:
    """``clientMetadata`` sent as an object (PATCH, uploads): stored as its JSON text."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be a JSON object")
    return json.dumps(value)


def metadata_string(data: Mapping[str, Any], name: str) -> str | None:
    """``clientMetadata`` sent as JSON text (folder create); objects are accepted too."""
    value = data.get(name)
    if value is None or isinstance(value, dict):
        return metadata_object(data, name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a JSON string")
    try:
        parsed = json.loads(value)
    except ValueError:
        raise BadRequest(f"{name} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"{name} must encode a JSON object")
    return json.dumps(parsed)


def in_order(values: Sequence[str]) -> list[str]:
    """Drop repeats, keeping the first occurrence."""
    return list(dict.fromkeys(values))
