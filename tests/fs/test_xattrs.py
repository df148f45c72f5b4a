"""user.encord.* attributes: metadata by key, descriptions, storage location (core against a fake storage)."""

from __future__ import annotations

import errno
import json
from dataclasses import replace

import pytest

from encordfs.fs import locations, xattrs
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import ROOT_INO
from encordfs.wire.enums import StorageLocationName

from .test_core import make_fs, staging, storage  # noqa: F401  (fixtures)

META = "user.encord.meta."


async def _file(storage, staging, nursery, metadata: dict) -> tuple:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "n.txt", b"hi")
    storage.items[item.uuid] = replace(item, client_metadata=json.dumps(metadata))
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await fs.lookup(ROOT_INO, "n.txt")).ino
    return fs, ino, item.uuid


async def test_each_top_level_key_is_an_attribute_with_its_json(storage, staging, nursery) -> None:
    fs, ino, _ = await _file(storage, staging, nursery, {"split": "train", "cam": {"id": 3}, "": 1})
    names = await fs.listxattr(ino)
    assert {META + "split", META + "cam", "user.encord.client_metadata", "user.encord.storage_location"} <= set(names)
    assert META not in names  # the empty key cannot be a name of its own
    assert await fs.getxattr(ino, META + "split") == b'"train"'
    assert json.loads(await fs.getxattr(ino, META + "cam")) == {"id": 3}
    with pytest.raises(FsError) as missing:
        await fs.getxattr(ino, META + "nope")
    assert missing.value.errno == errno.ENODATA


async def test_setting_a_key_patches_the_newest_metadata_once(storage, staging, nursery) -> None:
    fs, ino, uuid = await _file(storage, staging, nursery, {"keep": True})
    # another client adds a key after our lookup: a key change is made on the server's metadata
    storage.items[uuid] = replace(storage.items[uuid], client_metadata=json.dumps({"keep": True, "other": 1}))
    storage.calls.clear()
    await fs.setxattr(ino, META + "split", b"train")  # what `setfattr -v '"train"'` sends
    assert storage.calls.count("update_item") == 1
    assert storage.items[uuid].metadata == {"keep": True, "other": 1, "split": "train"}
    await fs.setxattr(ino, META + "n", b"5")
    await fs.setxattr(ino, META + "s", b'"5"')
    assert storage.items[uuid].metadata["n"] == 5 and storage.items[uuid].metadata["s"] == "5"
    await fs.removexattr(ino, META + "keep")
    assert "keep" not in storage.items[uuid].metadata
    assert META + "keep" not in await fs.listxattr(ino)


@pytest.mark.parametrize("value", [b'{"a": 1', b"[1,", b'"unterminated', b"\xff"])
async def test_a_value_that_is_broken_json_is_refused(storage, staging, nursery, value) -> None:
    fs, ino, _uuid = await _file(storage, staging, nursery, {"keep": True})
    storage.calls.clear()
    with pytest.raises(FsError) as bad:
        await fs.setxattr(ino, META + "x", value)
    assert bad.value.errno == errno.EINVAL and "update_item" not in storage.calls


async def test_removing_a_missing_key_or_a_read_only_attribute(storage, staging, nursery) -> None:
    fs, ino, _ = await _file(storage, staging, nursery, {"keep": True})
    with pytest.raises(FsError) as missing:
        await fs.removexattr(ino, META + "nope")
    assert missing.value.errno == errno.ENODATA
    for name in ("user.encord.uuid", "user.encord.storage_location", "user.encord.dataset_links"):
        with pytest.raises(FsError) as read_only:
            await fs.removexattr(ino, name)
        assert read_only.value.errno == errno.ENOTSUP, name


async def test_whole_metadata_is_a_replace_and_removing_it_empties_it(storage, staging, nursery) -> None:
    fs, ino, uuid = await _file(storage, staging, nursery, {"keep": True})
    await fs.setxattr(ino, "user.encord.client_metadata", b'{"only": 1}')
    assert storage.items[uuid].metadata == {"only": 1}
    await fs.removexattr(ino, "user.encord.client_metadata")
    assert storage.items[uuid].metadata == {}


async def test_descriptions_are_set_on_folders_and_refused_on_items(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    sub = storage.add_folder("sub", top.uuid)
    storage.add_item(top.uuid, "n.txt", b"hi")
    fs = make_fs(storage, staging, nursery, root=top)
    sub_ino = (await fs.lookup(ROOT_INO, "sub")).ino
    await fs.setxattr(sub_ino, "user.encord.description", b"cars, day")
    assert storage.folders[sub.uuid].description == "cars, day"
    assert await fs.getxattr(sub_ino, "user.encord.description") == b"cars, day"
    await fs.setxattr(sub_ino, META + "owner", b"ana")
    assert storage.folders[sub.uuid].metadata == {"owner": "ana"}
    await fs.removexattr(sub_ino, "user.encord.description")
    assert storage.folders[sub.uuid].description == ""
    file_ino = (await fs.lookup(ROOT_INO, "n.txt")).ino
    with pytest.raises(FsError) as refused:
        await fs.setxattr(file_ino, "user.encord.description", b"x")
    assert refused.value.errno == errno.ENOTSUP


async def test_read_only_mount_refuses_attribute_changes(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_item(top.uuid, "n.txt", b"hi")
    fs = make_fs(storage, staging, nursery, root=top, read_only=True)
    ino = (await fs.lookup(ROOT_INO, "n.txt")).ino
    for change in (fs.setxattr(ino, META + "a", b"1"), fs.removexattr(ino, META + "a")):
        with pytest.raises(FsError) as refused:
            await change
        assert refused.value.errno == errno.EROFS


async def test_storage_location_and_private_data(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    hosted = storage.add_item(top.uuid, "a.txt", b"a")
    private = replace(storage.add_item(top.uuid, "b.txt", b"b"), storage_location=StorageLocationName.S3, url="s3://bkt/b.txt")
    storage.items[private.uuid] = private
    fs = make_fs(storage, staging, nursery, root=top)
    assert await fs.getxattr((await fs.lookup(ROOT_INO, "a.txt")).ino, xattrs.STORAGE_LOCATION) == b"ENCORD"
    assert await fs.getxattr((await fs.lookup(ROOT_INO, "b.txt")).ino, xattrs.STORAGE_LOCATION) == b"S3 s3://bkt/b.txt"
    assert not locations.is_private_data(hosted) and locations.is_private_data(private)
    locations.refuse_private_write(hosted, allow_copy=False)
    locations.refuse_private_write(private, allow_copy=True)
    with pytest.raises(FsError) as refused:
        locations.refuse_private_write(private, allow_copy=False)
    assert refused.value.errno == errno.EROFS


def test_a_huge_metadata_object_lists_only_what_fits_the_kernel_limit(storage) -> None:
    top = storage.add_folder("top")
    keys = {f"key-{n:06d}-" + "x" * 40: n for n in range(3000)}  # ~200 KiB of names
    item = replace(storage.add_item(top.uuid, "n.txt", b"hi"), client_metadata=json.dumps({**keys, "x" * 300: 1}))
    listed = xattrs.names(item)
    assert sum(len(n) + 1 for n in listed) + len(xattrs.DATASET_LINKS) + 1 <= xattrs.XATTR_LIST_MAX
    assert META + "key-000000-" + "x" * 40 in listed and not any("x" * 300 in n for n in listed)
    assert xattrs.value(item, META + "key-002999-" + "x" * 40) == b"2999"  # not listed, still readable
