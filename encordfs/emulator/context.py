"""What every API handler gets: the emulator's state, the verified caller, the parsed query and body.

:func:`api` turns ``async def handler(ctx) -> JSON`` into a Starlette endpoint that reads the raw
body, checks the Ed25519 signature against the raw request target, and answers 200 with JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import Principal, authenticate
from .params import Query, parse_json_object, parse_uuid
from .signed_urls import UrlSigner
from .store import Store
from .views import ItemRenderer


@dataclass
class Settings:
    """Behaviour switches fixed at start-up (see ``encordfs emulator serve --help``)."""

    integrations: dict[str, Path] = field(default_factory=dict)
    job_delay_seconds: float = 0.0
    job_unit_seconds: float = 0.0  # each unit of an upload job takes this long (after the delay)
    reencode_delay_seconds: float = 0.0
    recursive_summaries: bool = False  # folder summaries count everything below, not direct contents
    unique_folder_names: bool = False
    max_poll_seconds: float = 20.0


@dataclass
class Emulator:
    store: Store
    signer: UrlSigner
    settings: Settings


@dataclass
class Ctx:
    request: Request
    emulator: Emulator
    principal: Principal
    query: Query
    body: bytes

    @property
    def store(self) -> Store:
        return self.emulator.store

    def json(self) -> dict[str, Any]:
        return parse_json_object(self.body)

    def path_uuid(self, name: str) -> str:
        return parse_uuid(name, self.request.path_params[name])

    def renderer(self) -> ItemRenderer:
        return ItemRenderer(self.emulator.signer, base_url(self.request))


def base_url(request: Request) -> str:
    """The origin the caller used, so signed URLs point back at the address it can reach."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


def raw_target(request: Request) -> str:
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    return raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


Handler = Callable[[Ctx], Awaitable[Any]]


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        emulator: Emulator = request.app.state.emulator
        body = await request.body()
        principal = authenticate(emulator.store, request.method, raw_target(request), body, request.headers)
        ctx = Ctx(request, emulator, principal, Query(request.scope.get("query_string", b"").decode("latin-1")), body)
        return JSONResponse(await handler(ctx))

    endpoint.__name__ = handler.__name__
    return endpoint
