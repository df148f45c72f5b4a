"""The official SDK drives the emulator's folder API; every check is on returned or re-fetched state."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from encord.exceptions import AuthorisationError, InvalidArgumentsError
from encord.orm.storage import StorageUserRole


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_and_read_folder_properties(sdk_user: Any) -> None:
    name = unique("props")
    folder = sdk_user.create_storage_folder(name, description="about it", client_metadata={"a": 1, "b": [1, 2]})
    assert isinstance(folder.uuid, uuid.UUID)
    assert folder.name == name
    assert folder.description == "about it"
    assert folder.client_metadata == {"a": 1, "b": [1, 2]}
    assert folder.parent_uuid is None and folder.parent is None
    assert folder.path_to_root == []

    child = folder.create_subfolder("child", description="kid")
    grandchild = child.create_subfolder("grandchild")
    assert child.parent_uuid == folder.uuid
    assert child.parent.uuid == folder.uuid and child.parent.name == name
    assert [p.uuid for p in grandchild.path_to_root] == [folder.uuid, child.uuid]
    assert grandchild.path_to_root[1].parent_uuid == folder.uuid

    fetched = sdk_user.get_storage_folder(child.uuid)
    assert (fetched.uuid, fetched.name, fetched.description) == (child.uuid, "child", "kid")


def test_update_and_refetch(sdk_user: Any) -> None:
    folder = sdk_user.create_storage_folder(unique("upd"))
    stale = sdk_user.get_storage_folder(folder.uuid)
    folder.update(name="renamed", description="new text", client_metadata={"x": [1, 2]})
    assert (folder.name, folder.description, folder.client_metadata) == ("renamed", "new text", {"x": [1, 2]})
    assert stale.name != "renamed"
    stale.refetch_data()
    assert (stale.name, stale.description, stale.client_metadata) == ("renamed", "new text", {"x": [1, 2]})


def test_bundled_folder_updates(sdk_user: Any) -> None:
    from encord.http.bundle import Bundle

    first = sdk_user.create_storage_folder(unique("b1"))
    second = sdk_user.create_storage_folder(unique("b2"))
    with Bundle() as bundle:
        first.update(name=first.name + "-x", bundle=bundle)
        second.update(description="bulk", bundle=bundle)
    assert sdk_user.get_storage_folder(first.uuid).name.endswith("-x")
    assert sdk_user.get_storage_folder(second.uuid).description == "bulk"


def test_list_and_find_folders(sdk_user: Any) -> None:
    tag = unique("tree")
    top = sdk_user.create_storage_folder(tag)
    a = top.create_subfolder("alpha")
    b = top.create_subfolder("beta")
    deep = a.create_subfolder(f"{tag}-deep")

    assert [f.name for f in top.list_subfolders()] == ["alpha", "beta"]
    assert [f.name for f in top.list_subfolders(desc=True)] == ["beta", "alpha"]
    assert {f.uuid for f in top.find_subfolders()} == {a.uuid, b.uuid, deep.uuid}
    assert [f.uuid for f in top.find_subfolders(search="deep")] == [deep.uuid]
    assert list(top.find_subfolders(search="deep", dataset_synced=True)) == []

    roots = {f.uuid for f in sdk_user.list_storage_folders(search=tag)}
    assert roots == {top.uuid}
    found = {f.uuid for f in sdk_user.find_storage_folders(search=tag)}
    assert found == {top.uuid, deep.uuid}


def test_folder_pages_cover_everything_once(sdk_user: Any) -> None:
    top = sdk_user.create_storage_folder(unique("pages"))
    names = [f"sub-{n:02d}" for n in range(7)]
    for name in reversed(names):
        top.create_subfolder(name)
    for size in (1, 3, 7, 1000):
        assert [f.name for f in top.list_subfolders(page_size=size)] == names
    from encord.orm.storage import FoldersSortBy

    by_creation = [f.name for f in top.list_subfolders(order=FoldersSortBy.CREATED_AT, page_size=2)]
    assert by_creation == list(reversed(names))


def test_move_folder(sdk_user: Any) -> None:
    a = sdk_user.create_storage_folder(unique("ma"))
    b = sdk_user.create_storage_folder(unique("mb"))
    a.move_to_folder(b)
    assert a.parent_uuid == b.uuid
    assert [f.uuid for f in b.list_subfolders()] == [a.uuid]
    a.move_to_folder(None)
    assert a.parent_uuid is None
    assert sdk_user.get_storage_folder(a.uuid).parent_uuid is None
    child = a.create_subfolder("c")
    with pytest.raises(InvalidArgumentsError, match="into itself"):
        a.move_to_folder(child)


def test_delete_folder(sdk_user: Any) -> None:
    folder = sdk_user.create_storage_folder(unique("del"))
    sub = folder.create_subfolder("sub")
    with pytest.raises(InvalidArgumentsError, match="not empty"):
        folder.delete()
    sub.delete()
    folder.delete()
    with pytest.raises(AuthorisationError):
        sdk_user.get_storage_folder(folder.uuid)


def test_summary_counts(sdk_user: Any) -> None:
    folder = sdk_user.create_storage_folder(unique("sum"))
    folder.create_subfolder("a")
    folder.create_subfolder("b")
    summary = folder.get_summary()
    assert (summary.folders, summary.files, summary.images, summary.total_size) == (2, 0, 0, 0)


def test_groups(sdk_user: Any) -> None:
    folder = sdk_user.create_storage_folder(unique("grp"))
    first, second = sdk_user.create_group(unique("team-a"), "the A team"), sdk_user.create_group(unique("team-b"))
    g1, g2 = first.group_hash, second.group_hash
    assert {g.group_hash for g in sdk_user.list_groups()} >= {g1, g2}
    assert sdk_user.get_group(g1).name == first.name
    assert list(folder.list_groups()) == []
    folder.add_group([g1, g2], StorageUserRole.USER)
    folder.add_group(g2, StorageUserRole.ADMIN)
    groups = {g.group_hash: (g.user_role, g.name) for g in folder.list_groups()}
    assert groups == {g1: (StorageUserRole.USER, first.name), g2: (StorageUserRole.ADMIN, second.name)}
    folder.remove_group(g1)
    assert [g.group_hash for g in folder.list_groups()] == [g2]
    with pytest.raises(InvalidArgumentsError):
        folder.add_group(uuid.uuid4(), StorageUserRole.USER)  # not a group of the organisation


def test_unknown_folder_is_forbidden(sdk_user: Any) -> None:
    with pytest.raises(AuthorisationError):
        sdk_user.get_storage_folder(uuid.uuid4())


def test_bearer_token_from_the_sdk(sdk_user: Any, emulator: Any) -> None:
    from encord.exceptions import AuthenticationError
    from encord.user_client import EncordUserClient

    token = sdk_user.get_bearer_token()
    bearer = EncordUserClient.create_with_bearer_token(token, domain=emulator.url)
    name = unique("bearer")
    created = bearer.create_storage_folder(name)
    assert sdk_user.get_storage_folder(created.uuid).name == name
    stranger = EncordUserClient.create_with_bearer_token("not-a-token", domain=emulator.url)
    with pytest.raises(AuthenticationError, match="unknown bearer token"):
        stranger.get_storage_folder(created.uuid)
