"""Persistence across restarts, concurrent requests, the request log, job delay/cancel, sample data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx


def test_restart_loses_nothing(emulator_factory: Any, make_signed_api: Any) -> None:
    first = emulator_factory()
    api = make_signed_api(first)
    parent = api.create_folder("kept")
    child = api.create_folder("child", parent=parent)
    item = api.upload(child, b"persistent bytes\n", "p.txt")
    url = api.signed_url(item)
    first.stop()

    second = emulator_factory(data_dir=first.data_dir, register_key=False)
    again = make_signed_api(second, first.key_path)
    folder = again.ok("GET", f"storage/folders/{child}")
    assert (folder["name"], folder["parent"]) == ("child", parent)
    assert [i["uuid"] for i in again.ok("GET", f"storage/folders/{child}/items")["results"]] == [item]
    assert httpx.get(again.signed_url(item)).content == b"persistent bytes\n"
    old_url = url.replace(first.url, second.url)
    assert httpx.get(old_url).content == b"persistent bytes\n"  # the URL secret survives restarts


def test_concurrent_writes_and_reads(signed_api: Any, emulator: Any, make_signed_api: Any) -> None:
    parent = signed_api.create_folder(f"conc-{uuid.uuid4().hex[:8]}")
    apis = [make_signed_api(emulator) for _ in range(8)]

    def work(n: int) -> str:
        api = apis[n % len(apis)]
        folder = api.create_folder(f"f{n:02d}", parent=parent)
        api.upload(folder, f"item {n}\n".encode(), f"{n}.txt")
        return folder

    with ThreadPoolExecutor(max_workers=8) as pool:
        folders = list(pool.map(work, range(24)))
    listed = signed_api.ok("GET", f"storage/folders/{parent}/folders", params={"pageSize": 1000})["results"]
    assert sorted(f["uuid"] for f in listed) == sorted(folders)
    for folder in folders[:5]:
        assert signed_api.ok("GET", f"storage/folders/{folder}/summary")["files"] == 1


def test_request_log(emulator_factory: Any, make_signed_api: Any, tmp_path: Any) -> None:
    log_path = tmp_path / "requests.jsonl"
    running = emulator_factory("--request-log", str(log_path))
    api = make_signed_api(running)
    folder = api.create_folder("logged")
    api.call("GET", f"storage/folders/{folder}/items", params=[("itemTypes", "image"), ("itemTypes", "video"), ("desc", "True")])
    api.signed_url(api.upload(folder, b"hello\n", "h.txt"))
    running.stop()
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    create = entries[0]
    assert (create["method"], create["path"], create["body"], create["status"]) == ("POST", "/v2/public/storage/folders", {"name": "logged"}, 200)
    listing = entries[1]
    assert listing["query"] == "itemTypes=image&itemTypes=video&desc=True"
    assert listing["query_list"] == [["itemTypes", "image"], ["itemTypes", "video"], ["desc", "True"]]
    put = next(e for e in entries if e["method"] == "PUT")
    assert put["path"].startswith("/blobs/") and put["query"] == "" and put["body"] is None


def test_job_delay_and_cancel(emulator_factory: Any, make_signed_api: Any) -> None:
    running = emulator_factory("--job-delay", "30", "--max-poll-seconds", "0.3")
    api = make_signed_api(running)
    folder = api.create_folder("jobs")
    slot = api.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "plainText", "count": 1})["results"][0]
    assert httpx.put(slot["signedUrl"], content=b"text\n").status_code == 200
    entry = {"objectUrl": slot["objectKey"], "placeholderItemUuid": slot["itemUuid"]}
    job = api.ok("POST", f"storage/folders/{folder}/data-upload-jobs", json={"dataItems": {"text": [entry]}, "ignoreErrors": False})
    started = time.monotonic()
    state = api.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 604800})
    assert state["status"] == "PENDING" and state["unitsPendingCount"] == 1
    assert time.monotonic() - started < 5
    assert api.ok("GET", f"storage/folders/{folder}/summary")["uploadJobs"] == 1
    assert api.ok("POST", f"storage/folders/{folder}/data-upload-jobs/{job}/cancel") == {"unitsCancelledCount": 1}
    state = api.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 1})
    assert state["status"] == "CANCELLED" and state["unitsCancelledCount"] == 1
    assert api.ok("GET", f"storage/folders/{folder}/items")["results"] == []
    assert api.ok("POST", f"storage/folders/{folder}/data-upload-jobs/{job}/cancel") == {"unitsCancelledCount": 0}


def test_reencode_delay(emulator_factory: Any, make_signed_api: Any) -> None:
    from encordfs.emulator import mediagen

    running = emulator_factory("--reencode-delay", "1.5")
    api = make_signed_api(running)
    folder = api.create_folder("videos")
    clip = mediagen.mp4(running.data_dir.parent / "c.mp4", seconds=0.5)
    video = api.upload(folder, clip.read_bytes(), "c.mp4", item_type="video")
    process = api.ok("POST", "storage/items/reencode", json={"storageItems": [video], "processTitle": "t", "forceFullReencoding": False})
    assert api.ok("GET", f"storage/items/reencode/{process}") == {"status": "submitted", "result": None}
    time.sleep(1.6)
    assert api.ok("GET", f"storage/items/reencode/{process}")["status"] == "done"


def test_sample_data(emulator_factory: Any, make_signed_api: Any) -> None:
    running = emulator_factory("--sample-data")
    api = make_signed_api(running)
    roots = api.ok("GET", "storage/folders", params={"pageSize": 100})["results"]
    assert sorted(f["name"] for f in roots) == ["Audio", "Documents", "Medical", "Street scenes"]
    every = api.ok("GET", "storage/search/items", params={"pageSize": 1000})["results"]
    types = {i["itemType"] for i in every}
    assert {"image", "video", "audio", "plainText", "pdf", "nifti", "imageGroup", "imageSequence", "dicomSeries"} <= types
    assert len(every) > 250
    street = next(f for f in roots if f["name"] == "Street scenes")
    names = [i["name"] for i in api.ok("GET", f"storage/folders/{street['uuid']}/items", params={"pageSize": 1000})["results"]]
    assert names.count("street-0007.jpg") == 2


def test_serve_prints_the_real_port(tmp_path: Any) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "encordfs.cli", "emulator", "serve", "--data", str(tmp_path / "d"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:") and not line.endswith(":0")
        health = httpx.get(line.split()[-1] + "/_emulator/health").json()
        assert health["ok"] is True and health["service"] == "encordfs-emulator" and health["pid"] == process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)
