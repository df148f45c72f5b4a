"""Keyset page tokens: pages stay consistent while the listing changes, and tokens are order-bound."""

from __future__ import annotations

import uuid
from typing import Any


def test_pages_survive_inserts_and_deletes(signed_api: Any) -> None:
    parent = signed_api.create_folder(f"paging-{uuid.uuid4().hex[:8]}")
    made = {name: signed_api.create_folder(name, parent=parent) for name in ("b1", "b2", "b3", "b4", "b5")}
    path = f"storage/folders/{parent}/folders"
    first = signed_api.ok("GET", path, params={"pageSize": 2})
    assert [f["name"] for f in first["results"]] == ["b1", "b2"]
    signed_api.create_folder("a0", parent=parent)  # sorts before the cursor
    assert signed_api.ok("DELETE", f"storage/folders/{made['b3']}") is None
    second = signed_api.ok("GET", path, params={"pageSize": 2, "pageToken": first["nextPageToken"]})
    assert [f["name"] for f in second["results"]] == ["b4", "b5"]
    assert second["nextPageToken"] is None


def test_descending_and_created_order_pages(signed_api: Any) -> None:
    parent = signed_api.create_folder(f"paging-{uuid.uuid4().hex[:8]}")
    for name in ("x", "x", "y", "w", "x"):  # duplicate names tie-break by creation
        signed_api.create_folder(name, parent=parent)
    path = f"storage/folders/{parent}/folders"
    for params, expected in (
        ({"desc": "True"}, ["y", "x", "x", "x", "w"]),
        ({"order": "createdAt"}, ["x", "x", "y", "w", "x"]),
        ({"order": "createdAt", "desc": "true"}, ["x", "w", "y", "x", "x"]),
    ):
        names, token, uuids = [], None, []
        while True:
            page = signed_api.ok("GET", path, params={**params, "pageSize": 1, **({"pageToken": token} if token else {})})
            names += [f["name"] for f in page["results"]]
            uuids += [f["uuid"] for f in page["results"]]
            token = page["nextPageToken"]
            if token is None:
                break
        assert names == expected and len(set(uuids)) == 5


def test_token_is_bound_to_its_order(signed_api: Any) -> None:
    parent = signed_api.create_folder(f"paging-{uuid.uuid4().hex[:8]}")
    for name in ("a", "b"):
        signed_api.create_folder(name, parent=parent)
    token = signed_api.ok("GET", f"storage/folders/{parent}/folders", params={"pageSize": 1})["nextPageToken"]
    response = signed_api.call("GET", f"storage/folders/{parent}/folders", params={"order": "createdAt", "pageToken": token})
    assert response.status_code == 400 and "does not belong" in response.json()["message"]
