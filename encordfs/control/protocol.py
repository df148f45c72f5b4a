"""The wire format of the control channel: newline-delimited JSON, one request per connection.

A request is ``{"op": NAME, "args": {...}}``. The answer is zero or more ``{"progress": {...}}``
lines, then exactly one ``{"result": ...}`` or ``{"error": {"message": ..., "errno": ...}}``.
"""

from __future__ import annotations

import errno as errno_codes
import json
from typing import Any

MAX_LINE = 1 << 20  # a request or answer line longer than this is refused
Json = dict[str, Any]


class ControlError(Exception):
    """An operation failed (or could not be asked): ``message`` says what and why, ``errno`` the
    closest errno (the CLI prints the message and exits 1)."""

    def __init__(self, message: str, code: int = errno_codes.EIO) -> None:
        super().__init__(message)
        self.message = message
        self.errno = code

    def to_wire(self) -> Json:
        return {"error": {"message": self.message, "errno": self.errno}}


def encode(message: Json) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Json:
    """One line as a JSON object; ControlError (EPROTO) for anything else."""
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ControlError(f"malformed control message: {exc}", errno_codes.EPROTO) from exc
    if not isinstance(message, dict):
        raise ControlError("malformed control message: not a JSON object", errno_codes.EPROTO)
    return message


def request(op: str, args: Json) -> bytes:
    return encode({"op": op, "args": args})


def progress(payload: Json) -> bytes:
    return encode({"progress": payload})


def result(value: Any) -> bytes:
    return encode({"result": value})
