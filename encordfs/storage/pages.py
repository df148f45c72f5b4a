"""Page-by-page listings as async iterators: the next page is fetched only when the caller wants
more, so leaving the loop early costs nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from encordfs.storage.errors import ServerError
from encordfs.storage.queries import Params
from encordfs.storage.transport import Transport
from encordfs.wire.models import Json

T = TypeVar("T")


class PagedQuery(Protocol):
    def params(self, page_token: str | None = None) -> Params: ...


def results_of(page: object, operation: str) -> list[Json]:
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        raise ServerError(f"{operation}: the answer is not a page of results", operation=operation)
    results: list[Json] = page["results"]
    return results


async def iter_pages(
    transport: Transport, path: str, query: PagedQuery, parse: Callable[[Json], T], *, operation: str
) -> AsyncIterator[T]:
    token: str | None = None
    seen_tokens: set[str] = set()
    while True:
        page = await transport.call("GET", path, operation=operation, params=query.params(token))
        for entry in results_of(page, operation):
            yield parse(entry)
        token = page.get("nextPageToken", page.get("next_page_token"))
        if token is None:
            return
        if token in seen_tokens:  # a server bug must not become an endless loop
            raise ServerError(f"{operation} {path}: the server repeated page token", operation=operation)
        seen_tokens.add(token)
