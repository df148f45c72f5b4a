"""The signed-URL data plane: uploads, Range/HEAD semantics, expiry and forgery."""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from encordfs.emulator.signed_urls import BlobOp, UrlSigner

SIZE = 3 * 1024 * 1024 + 17


@pytest.fixture(scope="module")
def stored(signed_api: Any) -> tuple[str, bytes, str]:
    """(item uuid, its bytes, a signed GET URL) for a multi-MiB text item."""
    data = (b"0123456789abcdef\n" * (SIZE // 17 + 1))[:SIZE]
    folder = signed_api.create_folder(f"blobs-{uuid.uuid4().hex[:8]}")
    item = signed_api.upload(folder, data, "big.txt")
    return item, data, signed_api.signed_url(item)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_whole_body_and_head(stored: tuple[str, bytes, str]) -> None:
    _, data, url = stored
    full = httpx.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes" and int(full.headers["content-length"]) == SIZE
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == SIZE


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        (f"bytes={SIZE - 5}-", SIZE - 5, SIZE - 1),
        ("bytes=-7", SIZE - 7, SIZE - 1),
        (f"bytes=100-{SIZE * 2}", 100, SIZE - 1),
        ("bytes=1048570-2097160", 1048570, 2097160),
    ],
)
def test_ranges(stored: tuple[str, bytes, str], header: str, start: int, end: int) -> None:
    _, data, url = stored
    response = httpx.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    head = httpx.head(url, headers={"Range": header})
    assert head.status_code == 206 and int(head.headers["content-length"]) == end - start + 1


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_is_416(stored: tuple[str, bytes, str], header: str) -> None:
    response = httpx.get(stored[2], headers={"Range": header})
    assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3"])
def test_unsupported_range_forms_get_the_whole_body(stored: tuple[str, bytes, str], header: str) -> None:
    response = httpx.get(stored[2], headers={"Range": header})
    assert response.status_code == 200 and len(response.content) == SIZE


def test_forged_and_misused_urls_are_403(stored: tuple[str, bytes, str]) -> None:
    item, _, url = stored
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    forged = [
        with_query(url, sig=("A" if sig[0] != "A" else "B") + sig[1:]),
        with_query(url, expires=str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 1000)),
        with_query(url, op="put"),
        url.replace(item, str(uuid.uuid4())),
        url.split("?")[0],
    ]
    for bad in forged:
        response = httpx.get(bad)
        assert response.status_code == 403, bad
        assert response.json()["message"].startswith("signed URL refused")
    assert httpx.put(url, content=b"overwrite").status_code == 403


def test_expired_url_is_403(emulator: Any, stored: tuple[str, bytes, str]) -> None:
    item, _, url = stored
    secret = (emulator.data_dir / "signing-secret").read_bytes()
    base = url.split("/blobs/")[0]
    expired = UrlSigner(secret, ttl_seconds=-5).url(base, item, BlobOp.GET)
    response = httpx.get(expired)
    assert response.status_code == 403 and "expired" in response.json()["message"]
    assert httpx.get(UrlSigner(secret, ttl_seconds=60).url(base, item, BlobOp.GET)).status_code == 200


def test_short_ttl_flag(emulator_factory: Any, make_signed_api: Any) -> None:
    import time

    running = emulator_factory("--signed-url-ttl", "2")
    api = make_signed_api(running)
    item = api.upload(api.create_folder("ttl"), b"short-lived", "a.txt")
    url = api.signed_url(item)
    assert httpx.get(url).content == b"short-lived"
    time.sleep(3.1)
    assert httpx.get(url).status_code == 403


def test_upload_slot_accepts_one_registration(signed_api: Any) -> None:
    folder = signed_api.create_folder(f"slot-{uuid.uuid4().hex[:8]}")
    slot = signed_api.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "plainText", "count": 1})["results"][0]
    headers = {"Content-Type": "application/dicom", "Cache-Control": "max-age=86400", "x-extra": "1"}
    assert httpx.put(slot["signedUrl"], content=os.urandom(1000), headers=headers).status_code == 200
    assert httpx.put(slot["signedUrl"], content=b"second write wins", headers=headers).status_code == 200
    entry = {"objectUrl": slot["objectKey"], "title": "t.txt", "placeholderItemUuid": slot["itemUuid"]}
    job = signed_api.ok("POST", f"storage/folders/{folder}/data-upload-jobs", json={"dataItems": {"text": [entry]}, "ignoreErrors": False})
    state = signed_api.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 5})
    assert state["status"] == "DONE" and state["itemsWithNames"][0]["itemUuid"] == slot["itemUuid"]
    assert httpx.get(signed_api.signed_url(slot["itemUuid"])).content == b"second write wins"
    assert httpx.put(slot["signedUrl"], content=b"too late").status_code == 403
