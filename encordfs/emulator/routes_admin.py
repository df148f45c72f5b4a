"""Test-and-demo controls outside the Encord API, under ``/_emulator`` (unauthenticated; loopback only).

* ``GET|POST /_emulator/faults``: read or change fault knobs (POST merges the JSON object given;
  ``{"reset": true}`` first returns every knob to off).
* ``POST /_emulator/items/{uuid}/datasets`` ``{"count": N}``: pretend the item backs N dataset data
  units (``backedDataUnitsCount``; such items cannot be deleted).
* ``GET /_emulator/health``: ``{"ok": true, "service": "encordfs-emulator", "version", "pid",
  "data_dir"}``, so a script can tell this emulator (and which one) from any other web server.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from encordfs import __version__

from .api_errors import BadRequest, Forbidden
from .context import Emulator
from .faults import FaultConfig, FaultConfigError, FaultMiddleware
from .params import parse_json_object, parse_uuid, required

SERVICE = "encordfs-emulator"


async def health(request: Request) -> JSONResponse:
    emulator: Emulator = request.app.state.emulator
    return JSONResponse(
        {"ok": True, "service": SERVICE, "version": __version__, "pid": os.getpid(), "data_dir": str(emulator.store.data_dir.resolve())}
    )


async def faults(request: Request) -> JSONResponse:
    middleware: FaultMiddleware = request.app.state.faults
    if request.method == "POST":
        knobs: dict[str, Any] = parse_json_object(await request.body())
        base = FaultConfig() if knobs.pop("reset", False) else middleware.config
        try:
            middleware.configure(FaultConfig.from_mapping(knobs, base))
        except FaultConfigError as exc:
            raise BadRequest(str(exc)) from None
    return JSONResponse(middleware.config.as_dict())


async def link_datasets(request: Request) -> JSONResponse:
    emulator: Emulator = request.app.state.emulator
    uuid = parse_uuid("item", request.path_params["item"])
    count = required(parse_json_object(await request.body()), "count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise BadRequest("count must be a non-negative integer")
    with emulator.store.tx() as db:
        if not db.execute("UPDATE items SET backed_data_units_count=? WHERE uuid=?", (count, uuid)).rowcount:
            raise Forbidden(f"item {uuid} does not exist")
    return JSONResponse({"uuid": uuid, "backedDataUnitsCount": count})


routes = [
    Route("/_emulator/health", health, methods=["GET"]),
    Route("/_emulator/faults", faults, methods=["GET", "POST"]),
    Route("/_emulator/items/{item}/datasets", link_datasets, methods=["POST"]),
]
