"""Malformed requests get a 4xx with a message (never a 500 or a hang)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture(scope="module")
def folder(signed_api: Any) -> str:
    return signed_api.create_folder(f"bad-{uuid.uuid4().hex[:8]}")


def expect(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert fragment in response.json()["message"]


def test_malformed_json(signed_api: Any) -> None:
    expect(signed_api.call("POST", "storage/folders", content=b"{not json"), 400, "not valid JSON")
    expect(signed_api.call("POST", "storage/folders", content=b"[1, 2]"), 400, "JSON object")
    expect(signed_api.call("POST", "storage/folders", content=b""), 400, "body is required")
    expect(signed_api.call("POST", "storage/folders", content=b"[" * 100_000), 400, "nested too deeply")
    expect(signed_api.call("POST", "storage/folders", content=b'{"name": "\xff"}'), 400, "not valid JSON")


def test_invalid_uuids(signed_api: Any, folder: str) -> None:
    expect(signed_api.call("GET", "storage/folders/not-a-uuid"), 400, "not a valid UUID")
    expect(signed_api.call("GET", "storage/items/1234"), 400, "not a valid UUID")
    expect(signed_api.call("POST", "storage/folders", json={"name": "x", "parent": "nope"}), 400, "parent")
    expect(signed_api.call("POST", "storage/items/get-bulk", json={"itemUuids": ["zzz"], "signUrls": False}), 400, "itemUuids")
    expect(
        signed_api.call("POST", f"storage/folders/{folder}/items/move", json={"itemUuids": [], "newParentUuid": 5}), 400, "newParentUuid"
    )


@pytest.mark.parametrize("size", ["0", "1001", "-3", "ten"])
def test_page_size_out_of_range(signed_api: Any, folder: str, size: str) -> None:
    for path in ("storage/folders", f"storage/folders/{folder}/items", f"storage/folders/{folder}/folders", "storage/search/items"):
        expect(signed_api.call("GET", path, params={"pageSize": size}), 400, "pageSize")


def test_unknown_enum_values(signed_api: Any, folder: str) -> None:
    expect(signed_api.call("GET", f"storage/folders/{folder}/items", params={"itemTypes": "IMAGE"}), 400, "itemTypes")
    expect(signed_api.call("GET", "storage/folders", params={"order": "size"}), 400, "order")
    expect(signed_api.call("GET", "storage/folders", params={"desc": "maybe"}), 400, "desc")
    body = {"itemType": "hologram", "count": 1}
    expect(signed_api.call("POST", f"storage/folders/{folder}/upload-signed-urls", json=body), 400, "itemType")
    body = {"groupHashList": [str(uuid.uuid4())], "userRole": "owner"}
    expect(signed_api.call("POST", f"storage/folders/{folder}/groups", json=body), 400, "userRole")


def test_missing_fields(signed_api: Any, folder: str) -> None:
    expect(signed_api.call("POST", "storage/folders", json={"description": "no name"}), 400, "name")
    expect(signed_api.call("POST", "storage/folders/move", json={}), 400, "folderUuids")
    expect(signed_api.call("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": "image"}), 400, "count")
    expect(signed_api.call("POST", f"storage/folders/{folder}/data-upload-jobs", json={"ignoreErrors": False}), 400, "dataItems")
    expect(signed_api.call("PATCH", "storage/items/patch-bulk", json={}), 400, "itemPatches")


def test_wrong_types_and_values(signed_api: Any, folder: str) -> None:
    expect(signed_api.call("POST", "storage/folders", json={"name": ""}), 400, "name")
    expect(signed_api.call("POST", "storage/folders", json={"name": 7}), 400, "name")
    expect(signed_api.call("POST", "storage/folders", json={"name": "x", "clientMetadata": "{bad"}), 400, "clientMetadata")
    expect(signed_api.call("PATCH", f"storage/folders/{folder}", json={"clientMetadata": [1]}), 400, "clientMetadata")
    for count in (0, 1001, "3", True):
        body = {"itemType": "image", "count": count}
        expect(signed_api.call("POST", f"storage/folders/{folder}/upload-signed-urls", json=body), 400, "count")
    jobs = f"storage/folders/{folder}/data-upload-jobs"
    expect(signed_api.call("POST", jobs, json={"dataItems": {"images": {}}}), 400, "list")
    expect(signed_api.call("POST", jobs, json={"dataItems": {"holograms": []}}), 400, "holograms")
    expect(signed_api.call("GET", f"{jobs}/{uuid.uuid4()}", params={"timeoutSeconds": "-1"}), 400, "timeoutSeconds")
    expect(signed_api.call("GET", "storage/folders", params={"pageToken": "!!"}), 400, "pageToken")


def test_unknown_things_are_403_and_unknown_paths_404(signed_api: Any) -> None:
    expect(signed_api.call("GET", f"storage/folders/{uuid.uuid4()}"), 403, "does not exist")
    expect(signed_api.call("GET", f"storage/items/{uuid.uuid4()}"), 403, "does not exist")
    expect(signed_api.call("GET", "storage/nothing-here"), 404, "no such endpoint")
    expect(signed_api.call("PUT", "storage/folders"), 405, "not allowed")


def test_bad_percent_encoding(signed_api: Any) -> None:
    expect(signed_api.call("GET", "storage/folders?search=%FF%FE"), 400, "UTF-8")


def test_booleans_in_both_spellings(signed_api: Any, folder: str) -> None:
    for spelling in ("True", "true", "False", "false"):
        assert (
            signed_api.call("GET", f"storage/folders/{folder}/items", params={"desc": spelling, "isRecursive": spelling}).status_code == 200
        )


def test_random_wrong_bodies_never_cause_a_server_error(emulator_factory: Any, make_signed_api: Any) -> None:
    """A seeded fuzz of every body-taking endpoint with wrongly typed fields: only 2xx/4xx answers."""
    import random

    running = emulator_factory()
    api = make_signed_api(running)
    folder = api.create_folder("fuzz")
    item = api.upload(folder, b"hello\n", "a.txt")
    endpoints = [
        ("POST", "storage/folders"),
        ("PATCH", f"storage/folders/{folder}"),
        ("PATCH", "storage/folders/patch-bulk"),
        ("POST", "storage/folders/move"),
        ("POST", f"storage/folders/{folder}/groups"),
        ("POST", "storage/items/get-bulk"),
        ("PATCH", "storage/items/patch-bulk"),
        ("PATCH", f"storage/folders/{folder}/items/{item}"),
        ("POST", f"storage/folders/{folder}/items/move"),
        ("POST", f"storage/folders/{folder}/items/delete"),
        ("POST", "storage/items/reencode"),
        ("POST", f"storage/folders/{folder}/upload-signed-urls"),
        ("POST", f"storage/folders/{folder}/data-upload-jobs"),
    ]
    fields = [
        "name",
        "description",
        "parent",
        "clientMetadata",
        "folderUuids",
        "newParentUuid",
        "groupHashList",
        "userRole",
        "itemUuids",
        "signUrls",
        "folderPatches",
        "itemPatches",
        "childUuids",
        "removeUnusedFrames",
        "storageItems",
        "processTitle",
        "itemType",
        "count",
        "dataItems",
        "externalFiles",
        "integrationHash",
        "ignoreErrors",
    ]
    values = [
        None,
        1,
        -1,
        1.5,
        True,
        "x",
        "",
        [],
        [1],
        ["x"],
        [str(uuid.uuid4())],
        {},
        {"a": 1},
        {item: {"name": 3}},
        {folder: []},
        {"text": [{"objectUrl": 5}]},
        {"images": [{}]},
        {"imageGroups": [{"images": "x"}]},
        {"dicomSeries": [{"dicomFiles": [1]}]},
        {"text": [{"objectUrl": "x", "placeholderItemUuid": "nope"}]},
        folder,
        item,
        "image",
        {"text": [{"objectUrl": "x", "clientMetadata": [1]}]},
    ]
    rng = random.Random(7)
    for method, path in endpoints:
        for _ in range(40):
            body = {k: rng.choice(values) for k in rng.sample(fields, rng.randint(1, 4))}
            response = api.call(method, path, json=body)
            assert response.status_code < 500, (method, path, body, response.text)
