"""Retries, error mapping and signing of the client against a scripted fake API (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
import trio

from encordfs.storage import errors
from encordfs.storage.auth import Credentials
from encordfs.storage.breaker import CircuitBreaker
from encordfs.storage.client import StorageClient
from encordfs.storage.retry import RetryPolicy, parse_retry_after

from .fakes import FakeApi, fail, folder_wire, reply


async def test_signed_get_verifies_and_sends_sdk_style_query():
    api = FakeApi()
    parent = uuid4()
    api.route("GET", f"storage/folders/{parent}/folders", reply(body={"results": [folder_wire("b", parent)], "nextPageToken": None}))
    async with api.client() as client:
        names = [f.name async for f in client.iter_folders(parent, search="a b/ü")]
    assert names == ["b"]
    (request,) = api.requests
    assert request.url.query == b"search=a+b%2F%C3%BC&isRecursive=False&order=name&desc=False&pageSize=1000"


async def test_bearer_token_sends_authorization_and_no_signature():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=folder_wire())

    async with StorageClient(Credentials(bearer_token="tok"), "http://api.test", transport=httpx.MockTransport(handler)) as client:
        await client.get_folder(uuid4())
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert "signature" not in seen[0].headers


async def test_pages_follow_tokens_and_stop_early():
    api = FakeApi()
    folder = uuid4()
    first = {"results": [folder_wire("a"), folder_wire("b")], "nextPageToken": "t1"}
    second = {"results": [folder_wire("c")], "nextPageToken": None}
    api.route("GET", f"storage/folders/{folder}/folders", reply(body=first), reply(body=second))
    async with api.client() as client:
        assert [f.name async for f in client.iter_folders(folder, page_size=2)] == ["a", "b", "c"]
        assert api.requests[1].url.params["pageToken"] == "t1"
        api.route("GET", f"storage/folders/{folder}/folders", reply(body=first), reply(body=second))
        async for _ in client.iter_folders(folder, page_size=2):
            break
    assert len(api.requests) == 3  # leaving the loop fetched no second page


async def test_429_honours_retry_after_then_succeeds():
    api = FakeApi()
    folder = uuid4()
    api.route("GET", f"storage/folders/{folder}", reply(429, {"message": "slow down"}, {"Retry-After": "0.05"}), reply(body=folder_wire(uuid=folder)))
    async with api.client() as client:
        start = trio.current_time()
        assert (await client.get_folder(folder)).uuid == folder
        assert trio.current_time() - start >= 0.05
    assert len(api.requests) == 2


async def test_too_long_retry_after_fails_fast_with_rate_limited():
    api = FakeApi()
    api.route("GET", "storage/folders", reply(429, {"message": "later"}, {"Retry-After": "3600"}))
    async with api.client() as client:
        with pytest.raises(errors.RateLimited) as raised:
            async for _ in client.iter_folders(None):
                pass
    assert raised.value.retry_after == 3600
    assert len(api.requests) == 1


async def test_5xx_is_retried_for_gets_and_patches_then_reported():
    api = FakeApi()
    folder = uuid4()
    api.route("GET", f"storage/folders/{folder}", reply(503), reply(502), reply(body=folder_wire(uuid=folder)))
    api.route("PATCH", f"storage/folders/{folder}", reply(500, {"message": "boom"}))
    async with api.client() as client:
        await client.get_folder(folder)
        with pytest.raises(errors.ServerError) as raised:
            await client.update_folder(folder, name="x")
    assert len(api.calls("GET", f"storage/folders/{folder}")) == 3
    assert len(api.calls("PATCH", f"storage/folders/{folder}")) == 4  # max_attempts
    message = str(raised.value)
    assert "update folder" in message and f"/v2/public/storage/folders/{folder}" in message
    assert "HTTP 500" in message and "boom" in message


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, errors.InvalidArgument), (401, errors.Unauthenticated), (403, errors.Forbidden), (404, errors.NotFound),
     (409, errors.Conflict), (413, errors.PayloadTooLarge), (422, errors.ServerError)],
)
async def test_status_maps_to_specific_error_without_retry(status, error):
    api = FakeApi()
    item = uuid4()
    api.route("GET", f"storage/items/{item}", reply(status, {"detail": "why"}))
    async with api.client() as client:
        with pytest.raises(error) as raised:
            await client.get_item(item, sign_url=True)
    assert raised.value.status == status
    assert "why" in str(raised.value) and "get item" in str(raised.value)
    assert "signUrl" not in str(raised.value)  # paths only, never queries
    assert len(api.requests) == 1


async def test_transport_failures_map_to_timeout_and_transport_errors():
    api = FakeApi()
    folder = uuid4()
    api.route("GET", f"storage/folders/{folder}", fail(httpx.ReadTimeout))
    api.route("DELETE", f"storage/folders/{folder}", fail(httpx.ConnectError))
    async with api.client() as client:
        with pytest.raises(errors.StorageTimeout):
            await client.get_folder(folder)
    async with api.client() as client:
        with pytest.raises(errors.TransportError):
            await client.delete_folder(folder)
    assert len(api.calls("GET", f"storage/folders/{folder}")) == 4


async def test_a_server_that_stopped_answering_is_answered_fast_until_a_probe_gets_through(caplog):
    api = FakeApi()
    folder = uuid4()
    api.route("GET", f"storage/folders/{folder}", fail(httpx.ConnectError))
    async with api.client(breaker=CircuitBreaker(probe_every=0.2)) as client:
        with pytest.raises(errors.TransportError):
            await client.get_folder(folder)
        assert len(api.requests) == 4  # detected once, after its retries
        started = trio.current_time()
        for _ in range(3):
            with pytest.raises(errors.TransportError, match=r"get folder http://api\.test: not sent, the server has not answered since"):
                await client.get_folder(folder)
        assert trio.current_time() - started < 0.05 and len(api.requests) == 4
        await trio.sleep(0.25)
        with pytest.raises(errors.TransportError, match="connection failed"):
            await client.get_folder(folder)  # the probe: one attempt, no retries
        assert len(api.requests) == 5
        api.route("GET", f"storage/folders/{folder}", reply(body=folder_wire("back", None, uuid=folder)))
        with pytest.raises(errors.TransportError, match="not sent"):
            await client.get_folder(folder)
        await trio.sleep(0.25)
        assert (await client.get_folder(folder)).name == "back"
        assert (await client.get_folder(folder)).name == "back"  # up again: no waiting
    assert "http://api.test is not answering" in caplog.text and "http://api.test answers again" in caplog.text


async def test_create_folder_after_ambiguous_failure_adopts_the_created_folder():
    api = FakeApi()
    parent = uuid4()
    created = folder_wire("new", parent)
    api.route("POST", "storage/folders", reply(503))
    api.route("GET", f"storage/folders/{parent}/folders", reply(body={"results": [created], "nextPageToken": None}))
    async with api.client() as client:
        folder = await client.create_folder("new", parent)
    assert str(folder.uuid) == created["uuid"]
    assert len(api.calls("POST", "storage/folders")) == 1


async def test_create_folder_retries_when_the_folder_is_not_there_and_ignores_old_namesakes():
    api = FakeApi()
    old = folder_wire("new", None, created=datetime.now(UTC) - timedelta(days=1))
    fresh = folder_wire("new", None)
    api.route("POST", "storage/folders", fail(httpx.RemoteProtocolError), reply(body=fresh))
    api.route("GET", "storage/folders", reply(body={"results": [old], "nextPageToken": None}))
    async with api.client() as client:
        folder = await client.create_folder("new", None, client_metadata={"a": 1})
    assert str(folder.uuid) == fresh["uuid"]
    posts = api.calls("POST", "storage/folders")
    assert len(posts) == 2
    assert posts[0].content == b'{"name": "new", "clientMetadata": "{\\"a\\": 1}"}'


async def test_create_folder_is_retried_directly_when_never_sent():
    api = FakeApi()
    api.route("POST", "storage/folders", fail(httpx.ConnectError), reply(body=folder_wire("x")))
    async with api.client() as client:
        assert (await client.create_folder("x", None)).name == "x"
    assert len(api.calls("GET", "storage/folders")) == 0


async def test_reencode_is_never_repeated_after_an_ambiguous_failure():
    api = FakeApi()
    api.route("POST", "storage/items/reencode", reply(503))
    async with api.client() as client:
        with pytest.raises(errors.ServerError):
            await client.reencode_videos([uuid4()], "p")
    assert len(api.requests) == 1


def test_backoff_is_capped_full_jitter_and_respects_retry_after():
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    rng = random.Random(1)
    delays = [policy.backoff(attempt, rng=rng) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays) and max(delays) > 2.0
    assert policy.backoff(0, retry_after=7.0) == 7.0


def test_retry_after_parses_seconds_and_http_dates():
    now = datetime(2025, 5, 1, 13, 53, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Thu, 01 May 2025 13:53:59 GMT", now=now) == 59
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_urls_quoted_in_server_messages_lose_their_queries():
    api = FakeApi()
    item = uuid4()
    api.route("GET", f"storage/items/{item}", reply(400, {"message": "bad link http://b.test/k?sig=SECRET&x=1 here"}))
    async with api.client() as client:
        with pytest.raises(errors.InvalidArgument) as raised:
            await client.get_item(item)
    assert "SECRET" not in str(raised.value) and "http://b.test/k?<redacted> here" in str(raised.value)
