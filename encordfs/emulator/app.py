"""Assembles the emulator: routes, error answers, request log and fault injection around them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import routes_admin, routes_blobs, routes_folders, routes_groups, routes_integrations, routes_items, routes_uploads, routes_user
from .api_errors import ApiError
from .context import Emulator, Settings
from .faults import FaultConfig, FaultMiddleware
from .request_log import RequestLogMiddleware
from .signed_urls import UrlSigner, load_secret
from .store import Store

log = logging.getLogger(__name__)

DEFAULT_SIGNED_URL_TTL = 3600


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # (starlette types every handler for Exception)
    return JSONResponse({"message": exc.message}, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    messages = {404: f"no such endpoint: {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
    return JSONResponse({"message": messages.get(exc.status_code, exc.detail)}, status_code=exc.status_code)


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error in %s %s", request.method, request.url.path)
    return JSONResponse({"message": f"internal emulator error: {type(exc).__name__}"}, status_code=500)


def open_emulator(data_dir: Path, settings: Settings | None = None, signed_url_ttl: int = DEFAULT_SIGNED_URL_TTL) -> Emulator:
    """The emulator's state for ``data_dir`` (created if missing)."""
    store = Store(data_dir)
    removed = store.remove_partial_blobs()
    if removed:
        log.info("removed %d partial upload(s) an earlier run left in %s", removed, store.blob_dir)
    return Emulator(store, UrlSigner(load_secret(data_dir), signed_url_ttl), settings or Settings())


def build_app(emulator: Emulator, faults: FaultConfig | None = None, request_log: Path | None = None) -> Any:
    """The ASGI application: fault injection, then the request log, then the routes."""
    app = Starlette(
        routes=[
            *routes_folders.routes,
            *routes_items.routes,
            *routes_uploads.routes,
            *routes_user.routes,
            *routes_groups.routes,
            *routes_integrations.routes,
            *routes_blobs.routes,
            *routes_admin.routes,
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
    )
    app.state.emulator = emulator
    inner: Any = RequestLogMiddleware(app, request_log) if request_log else app
    fault_layer = FaultMiddleware(inner, faults or FaultConfig())
    app.state.faults = fault_layer
    return fault_layer
