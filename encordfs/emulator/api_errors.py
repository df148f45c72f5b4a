"""Errors a route raises to answer with a 4xx/5xx in the shape the SDK reads (``{"message": ...}``)."""

from __future__ import annotations


class ApiError(Exception):
    """Answer ``status`` with ``{"message": message}``; ``headers`` are added to the response."""

    status = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorised(ApiError):
    """401: the SDK raises ``AuthenticationError``."""

    status = 401


class Forbidden(ApiError):
    """403: not allowed, and also what the hosted service answers for unknown UUIDs."""

    status = 403


class NotFound(ApiError):
    """404: only for paths the API does not have at all."""

    status = 404


class Conflict(ApiError):
    """409: the SDK raises ``ResourceExistsError``."""

    status = 409
