"""How many requests reads cost, through a real mount and the emulator's request log."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from encordfs.emulator import mediagen


class RequestLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def settled_lines(self) -> list[str]:
        """Complete log lines once the log stops growing (the server writes after answering)."""
        size = -1
        while size != self.path.stat().st_size:
            size = self.path.stat().st_size
            time.sleep(0.1)
        return self.path.read_text().split("\n")[:-1]

    def during(self, action: Callable[[], Any]) -> list[dict]:
        before = len(self.settled_lines())
        action()
        return [json.loads(line) for line in self.settled_lines()[before:]]


def read_all(path: Path) -> bytes:
    with path.open("rb", buffering=0) as handle:
        return handle.read()


def test_a_cold_small_file_costs_its_lookup_and_one_get(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    folder = make_sdk_client(server).create_storage_folder("small")
    notes = [mediagen.text(tmp_path / f"n{i}.txt", (f"note {i}",)) for i in range(3)]
    for i, note in enumerate(notes):
        folder.upload_text(note, title=f"n{i}.txt")
    mnt = mount_fs(server, folder.uuid).path

    data: list[bytes] = []
    requests = log.during(lambda: data.append(read_all(mnt / "n1.txt")))

    assert data == [notes[1].read_bytes()]
    item_calls = [r for r in requests if "/storage/items/" in r["path"]]
    assert item_calls == [], "the lookup's search brought the signed URL along"
    searches = [r for r in requests if r["path"].endswith("/items")]
    assert searches and all(("signUrls", "True") in map(tuple, r["query_list"]) for r in searches), searches
    assert len([r for r in requests if r["path"].startswith("/blobs/")]) == 1, requests
