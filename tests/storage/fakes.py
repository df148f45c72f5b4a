"""A scripted stand-in for the Encord API behind ``httpx.MockTransport``, for client unit tests.

Each route is a callable taking the request and returning a response; a list of callables is
used one per call (the last one repeats), which scripts failures followed by success.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from encordfs.storage.auth import Credentials
from encordfs.storage.client import StorageClient
from encordfs.storage.retry import RetryPolicy
from encordfs.wire.enums import StorageItemType, StorageLocationName, StorageUserRole
from encordfs.wire.models import StorageFolder, StorageItem
from encordfs.wire.signing import verify_request

Handler = Callable[[httpx.Request], httpx.Response]
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, max_total=5.0, job_settle_time=0.3, job_settle_poll=0.01)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
API = "http://api.test/v2/public/"


def reply(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    content = b"" if body is None else json.dumps(body).encode()
    return lambda request: httpx.Response(status, content=content, headers=headers)


def fail(exc_type: type[httpx.HTTPError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("injected", request=request)

    return handler


def folder_wire(name: str = "f", parent: UUID | None = None, uuid: UUID | None = None, created: datetime | None = None) -> dict:
    now = created or datetime.now(UTC)
    return StorageFolder(
        uuid=uuid or uuid4(), parent=parent, name=name, description="", client_metadata=None, owner="me@x",
        created_at=now, last_edited_at=now, user_role=StorageUserRole.ADMIN, synced_dataset_hash=None, path_to_root=(),
    ).to_wire()


def item_wire(uuid: UUID | None = None, parent: UUID | None = None, signed_url: str | None = None, **fields: Any) -> dict:
    now = datetime.now(UTC)
    item = StorageItem(
        uuid=uuid or uuid4(), parent=parent or uuid4(), item_type=fields.pop("item_type", StorageItemType.IMAGE),
        name=fields.pop("name", "a.png"), client_metadata="{}", owner="me@x", created_at=now, last_edited_at=now,
        backed_data_units_count=0, storage_location=StorageLocationName.ENCORD, signed_url=signed_url, **fields,
    )
    return item.to_wire()


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Handler]] = {}
        self.requests: list[httpx.Request] = []

    def route(self, method: str, path: str, *handlers: Handler) -> None:
        """``path`` is relative to /v2/public/ or an absolute URL path (data plane)."""
        full = path if path.startswith("/") else "/v2/public/" + path
        self.routes[(method, full)] = list(handlers)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        full = path if path.startswith("/") else "/v2/public/" + path
        return [r for r in self.requests if r.method == method and r.url.path == full]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.startswith("/v2/public/"):
            verify_request(
                request.method, request.url.raw_path.decode(), request.content, request.headers,
                lambda keyid: KEY.public_key(),
            )
        handlers = self.routes.get((request.method, request.url.path))
        if not handlers:
            return httpx.Response(404, json={"message": f"no route {request.method} {request.url.path}"})
        handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
        return handler(request)

    def client(self, **kwargs: Any) -> StorageClient:
        kwargs.setdefault("retry", FAST_RETRY)
        credentials = kwargs.pop("credentials", Credentials(private_key=KEY))
        return StorageClient(credentials, "http://api.test", transport=httpx.MockTransport(self), **kwargs)
