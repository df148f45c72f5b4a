"""``StorageClient``: the async Encord storage client (httpx on trio) the filesystem uses.

It implements ``encordfs.storage.interface.Storage`` plus the rest of the storage API. The calls
live in mixins by subject (folders, items, data plane, uploads); this class owns the connection
pool and the signed-URL cache they share::

    async with StorageClient(load_credentials(), "http://127.0.0.1:8080") as client:
        folder = await client.create_folder("photos", None)
"""

from __future__ import annotations

from uuid import UUID

import httpx
import trio

from encordfs.storage.auth import Credentials
from encordfs.storage.breaker import CircuitBreaker
from encordfs.storage.data import DataPlane
from encordfs.storage.errors import ServerError
from encordfs.storage.folders import FolderApi
from encordfs.storage.items import ItemApi
from encordfs.storage.retry import RetryPolicy
from encordfs.storage.signed_urls import SignedUrlCache
from encordfs.storage.transport import Transport
from encordfs.storage.uploads import UploadApi

DEFAULT_DOMAIN = "https://api.encord.com"


class StorageClient(FolderApi, ItemApi, DataPlane, UploadApi):
    def __init__(
        self,
        credentials: Credentials,
        domain: str = DEFAULT_DOMAIN,
        *,
        max_connections: int = 32,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        signed_urls: SignedUrlCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``breaker``
        decides when a server that stopped answering is asked again (see ``CircuitBreaker``)."""
        self.domain = domain
        self.credentials = credentials
        self._transport = Transport(
            credentials, domain, max_connections=max_connections, timeout=timeout, retry=retry or RetryPolicy(),
            transport=transport, breaker=breaker,
        )
        self._signed_urls = signed_urls or SignedUrlCache()
        self._url_locks: dict[UUID, trio.Lock] = {}
        self._signing: dict[UUID, trio.Event] = {}

    async def __aenter__(self) -> StorageClient:
        await self._transport.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._transport.__aexit__(*exc_info)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def issue_bearer_token(self) -> str:
        """A bearer token for this (signing) identity (``GET user/bearer-token``); never logged."""
        data = await self._transport.call("GET", "user/bearer-token", operation="issue bearer token")
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise ServerError("issue bearer token: the answer holds no token", operation="issue bearer token")
        token: str = data["token"]
        return token

    def __repr__(self) -> str:
        return f"StorageClient(domain={self.domain!r}, {self.credentials.description})"
