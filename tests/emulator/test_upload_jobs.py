"""Upload-job edge cases: slots register once, placeholders cannot be reused, errors are per unit."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from encordfs.emulator import mediagen


def slot(api: Any, folder: str, data: bytes) -> dict[str, Any]:
    reserved = api.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "plainText", "count": 1})
    entry = reserved["results"][0]
    assert httpx.put(entry["signedUrl"], content=data).status_code == 200
    return entry


def run_job(api: Any, folder: str, body: dict[str, Any]) -> dict[str, Any]:
    job = api.ok("POST", f"storage/folders/{folder}/data-upload-jobs", json=body)
    return api.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 5})


def text_entry(reserved: dict[str, Any], title: str) -> dict[str, Any]:
    return {"objectUrl": reserved["objectKey"], "title": title, "placeholderItemUuid": reserved["itemUuid"]}


def test_a_slot_registers_once(signed_api: Any) -> None:
    folder = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    reserved = slot(signed_api, folder, b"once\n")
    body = {"dataItems": {"text": [text_entry(reserved, "a.txt")]}, "ignoreErrors": False}
    assert run_job(signed_api, folder, body)["status"] == "DONE"
    again = run_job(signed_api, folder, body)
    assert again["status"] == "ERROR" and "already registered" in again["errors"][0]
    twice = slot(signed_api, folder, b"twice\n")
    state = run_job(signed_api, folder, {"dataItems": {"text": [text_entry(twice, "b.txt"), text_entry(twice, "c.txt")]}, "ignoreErrors": True})
    assert state["status"] == "DONE" and state["unitsDoneCount"] == 1 and state["unitsErrorCount"] == 1
    assert "already used" in state["unitErrors"][0]["error"]
    names = [i["name"] for i in signed_api.ok("GET", f"storage/folders/{folder}/items")["results"]]
    assert names == ["a.txt", "b.txt"]


def test_slot_of_another_folder_or_type_is_refused(signed_api: Any) -> None:
    folder = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    other = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    reserved = slot(signed_api, folder, b"text\n")
    state = run_job(signed_api, other, {"dataItems": {"text": [text_entry(reserved, "x.txt")]}})
    assert state["status"] == "ERROR" and "another folder" in state["errors"][0]
    state = run_job(signed_api, folder, {"dataItems": {"pdf": [text_entry(reserved, "x.pdf")]}})
    assert state["status"] == "ERROR" and "reserved for plainText" in state["errors"][0]
    empty = signed_api.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "plainText", "count": 1})["results"][0]
    state = run_job(signed_api, folder, {"dataItems": {"text": [text_entry(empty, "y.txt")]}})
    assert state["status"] == "ERROR" and "nothing was uploaded" in state["errors"][0]


def test_failed_group_frame_fails_the_whole_group(signed_api: Any) -> None:
    folder = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    frames = signed_api.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "image", "count": 2})["results"]
    with tempfile.TemporaryDirectory() as scratch:
        good = mediagen.png(Path(scratch) / "f.png").read_bytes()
    assert httpx.put(frames[0]["signedUrl"], content=good).status_code == 200
    assert httpx.put(frames[1]["signedUrl"], content=b"not an image").status_code == 200
    images = [{"url": f["objectKey"], "title": f"f{n}.png", "placeholderItemUuid": f["itemUuid"]} for n, f in enumerate(frames)]
    state = run_job(signed_api, folder, {"dataItems": {"imageGroups": [{"images": images, "title": "g", "createVideo": False}]}, "ignoreErrors": True})
    assert state["unitsErrorCount"] == 1 and state["itemsWithNames"] == [] and "f1.png" in state["errors"][0]
    assert signed_api.ok("GET", f"storage/folders/{folder}/items")["results"] == []


def test_private_placeholder_cannot_reuse_an_item_uuid(signed_api: Any, emulator: Any) -> None:
    folder = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    existing = signed_api.upload(folder, b"mine\n", "mine.txt")
    (emulator.bucket_dir / "reuse.txt").write_bytes(b"theirs\n")
    entry = {"objectUrl": "reuse.txt", "placeholderItemUuid": existing}
    state = run_job(signed_api, folder, {"dataItems": {"text": [entry]}, "integrationHash": emulator.integration_hash})
    assert state["status"] == "ERROR" and "already used" in state["errors"][0]
    assert httpx.get(signed_api.signed_url(existing)).content == b"mine\n"


def test_private_data_reports_the_cloud_its_url_names(signed_api: Any, emulator: Any) -> None:
    folder = signed_api.create_folder(f"jobs-{uuid.uuid4().hex[:8]}")
    (emulator.bucket_dir / "cams").mkdir(exist_ok=True)
    (emulator.bucket_dir / "cams" / "where.txt").write_bytes(b"theirs\n")
    urls = {
        "s3://bkt/cams/where.txt": "s3",
        "gs://bkt/cams/where.txt": "gcp",
        "https://acct.blob.core.windows.net/cams/where.txt": "azure",
        "cams/where.txt": "s3Compatible",
    }
    entries = [{"objectUrl": url, "title": f"w{n}.txt"} for n, url in enumerate(urls)]
    state = run_job(signed_api, folder, {"dataItems": {"text": entries}, "integrationHash": emulator.integration_hash})
    assert state["status"] == "DONE", state
    items = signed_api.ok("GET", f"storage/folders/{folder}/items")["results"]
    assert {i["url"]: i["storageLocation"] for i in items} == urls
