"""The filesystem core against an in-memory storage: names, listings, caches, reads, writes, renames."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
import trio

from encordfs.fs.core import Filesystem
from encordfs.fs.directories import AHEAD, BATCH
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import ROOT_INO
from encordfs.fs.options import MountOptions
from encordfs.fs.staging import Staging
from encordfs.wire.enums import StorageItemType

from .fake_storage import FakeStorage


def _png() -> bytes:
    """A small PNG that decodes (close() refuses an image that does not)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 100, 50)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def storage() -> FakeStorage:
    return FakeStorage()


@pytest.fixture
def staging(tmp_path: Path):
    with Staging(tmp_path / "cache") as area:
        yield area


def make_fs(storage: FakeStorage, staging: Staging, nursery: trio.Nursery, root=None, **options) -> Filesystem:
    opts = MountOptions(mountpoint=Path("/nonexistent"), uid=1000, gid=1000, **options)
    fs = Filesystem(storage, staging, opts, root)
    fs.start(nursery)
    return fs


async def ls(fs: Filesystem, ino: int) -> dict[str, int]:
    fh = await fs.opendir(ino)
    out, index = {}, 0
    while (found := await fs.readdir(fh, index)) is not None:
        entry, attrs = found
        out[entry.name] = attrs.ino
        index += 1
    await fs.releasedir(fh)
    return out


async def cat(fs: Filesystem, ino: int) -> bytes:
    fh, _ = await fs.open(ino, os.O_RDONLY)
    data = await fs.read(fh, 0, 1 << 30)
    await fs.release(fh)
    return data


async def write_file(fs: Filesystem, parent: int, name: str, data: bytes) -> int:
    fh, attrs = await fs.create(parent, name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    await fs.write(fh, 0, data)
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()  # close() returned once journaled; the upload follows
    return attrs.ino


async def test_storage_root_lists_top_level_folders_with_unique_names(storage, staging, nursery) -> None:
    storage.add_folder("a")
    storage.add_folder("a")
    storage.add_folder("b/c")
    fs = make_fs(storage, staging, nursery)
    names = await ls(fs, ROOT_INO)
    assert len(names) == 3 and "a" in names and "b%2Fc" in names
    attrs = await fs.getattr(names["a"])
    assert stat.S_ISDIR(attrs.mode) and attrs.uid == 1000


async def test_lookup_uses_a_search_not_a_full_listing(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(50):
        storage.add_item(top.uuid, f"f{i:03}.txt", b"x")
    fs = make_fs(storage, staging, nursery, root=top)
    attrs = await fs.lookup(ROOT_INO, "f007.txt")
    assert attrs.size == 1
    assert "iter_items:f007.txt" in storage.calls and "iter_items:None" not in storage.calls
    with pytest.raises(FsError) as missing:
        await fs.lookup(ROOT_INO, "nope.txt")
    assert missing.value.errno == errno.ENOENT
    calls = len(storage.calls)
    with pytest.raises(FsError):
        await fs.lookup(ROOT_INO, "nope.txt")
    assert len(storage.calls) == calls, "a negative lookup is cached"


async def test_duplicate_titles_and_suffixed_lookup(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    first = storage.add_item(top.uuid, "dup.txt", b"one")
    second = storage.add_item(top.uuid, "dup.txt", b"two")
    storage.add_folder("dup.txt", top.uuid)
    fs = make_fs(storage, staging, nursery, root=top)
    listed = await ls(fs, ROOT_INO)
    assert set(listed) == {"dup.txt", f"dup%~{first.uuid.hex[:8]}.txt", f"dup%~{second.uuid.hex[:8]}.txt"}
    fresh = make_fs(storage, staging, nursery, root=top)  # no listing cached: lookups must agree with ls
    for name in listed:
        await fresh.lookup(ROOT_INO, name)
    ino = (await fresh.lookup(ROOT_INO, f"dup%~{second.uuid.hex[:8]}.txt")).ino
    assert await cat(fresh, ino) == b"two"


async def test_listing_primes_attributes_and_inodes_are_stable(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_item(top.uuid, "a.txt", b"abc")
    fs = make_fs(storage, staging, nursery, root=top)
    first = await ls(fs, ROOT_INO)
    calls = len(storage.calls)
    assert (await fs.getattr(first["a.txt"])).size == 3
    assert len(storage.calls) == calls, "ls -l needs no request per entry"
    assert (await fs.lookup(ROOT_INO, "a.txt")).ino == first["a.txt"]


async def test_changes_elsewhere_appear_after_the_ttl(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top, dir_ttl=0.2, attr_ttl=0.2, negative_ttl=0.2)
    assert await ls(fs, ROOT_INO) == {}
    storage.add_item(top.uuid, "late.txt", b"x")
    assert await ls(fs, ROOT_INO) == {}
    await trio.sleep(0.3)
    assert list(await ls(fs, ROOT_INO)) == ["late.txt"]


async def test_read_with_read_ahead_and_random_reads(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    data = os.urandom(3 * (1 << 20) + 123)
    item = storage.add_item(top.uuid, "big.mp4", data, StorageItemType.VIDEO)
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await fs.lookup(ROOT_INO, "big.mp4")).ino
    fh, keep_cache = await fs.open(ino, os.O_RDONLY)
    assert keep_cache
    got = b"".join([await fs.read(fh, off, 128 * 1024) for off in range(0, len(data), 128 * 1024)])
    assert got == data
    assert await fs.read(fh, 1_500_000, 10) == data[1_500_000:1_500_010]
    assert await fs.read(fh, len(data) - 5, 100) == data[-5:]
    await fs.release(fh)
    assert item.uuid in storage.content


async def test_group_is_a_read_only_directory_of_frames(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_group(top.uuid, "grp", {"f1.png": PNG, "f2.png": PNG + b"2"})
    fs = make_fs(storage, staging, nursery, root=top)
    group = (await fs.lookup(ROOT_INO, "grp")).ino
    assert stat.S_ISDIR((await fs.getattr(group)).mode)
    frames = await ls(fs, group)
    assert set(frames) == {"f1.png", "f2.png"}
    assert await cat(fs, frames["f2.png"]) == PNG + b"2"
    with pytest.raises(FsError) as refused:
        await fs.unlink(group, "f1.png")
    assert refused.value.errno == errno.EROFS


async def test_create_write_close_uploads_and_shows_at_once(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    await ls(fs, ROOT_INO)  # a cached listing must learn about the new file
    ino = await write_file(fs, ROOT_INO, "new.png", PNG)
    assert storage.titles(top.uuid) == ["new.png"]
    listed = await ls(fs, ROOT_INO)
    assert listed == {"new.png": ino}
    assert (await fs.getattr(ino)).size == len(PNG)
    assert await cat(fs, ino) == PNG
    assert staging.pending() == []


async def test_unstorable_names_are_refused_at_create_and_content_at_close(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    with pytest.raises(FsError) as refused:
        await fs.create(ROOT_INO, "archive.zip", os.O_WRONLY)
    assert refused.value.errno == errno.ENOTSUP
    fh, _ = await fs.create(ROOT_INO, "blob", os.O_WRONLY)
    await fs.write(fh, 0, b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(FsError) as at_close:
        await fs.flush(fh)
    assert at_close.value.errno == errno.ENOTSUP
    await fs.release(fh)
    assert storage.titles(top.uuid) == [] and await ls(fs, ROOT_INO) == {}


async def test_a_failed_upload_stays_pending_listed_and_readable_until_a_retry(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    storage.fail_uploads = True
    ino = await write_file(fs, ROOT_INO, "keep.txt", b"precious")  # close() succeeds: journaled
    [record] = staging.pending()
    assert record.title == "keep.txt" and record.attempts == 1 and storage.titles(top.uuid) == []
    assert await ls(fs, ROOT_INO) == {"keep.txt": ino} and await cat(fs, ino) == b"precious"
    storage.fail_uploads = False
    await fs.retry_uploads()
    await fs.uploader.wait_idle()
    assert storage.titles(top.uuid) == ["keep.txt"] and staging.pending() == []
    assert await cat(fs, ino) == b"precious"


async def test_the_upload_content_type_comes_from_the_name_and_content(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    await write_file(fs, ROOT_INO, "README", b"plain words\n")
    await write_file(fs, ROOT_INO, "d.json", b"{}")
    assert storage.content_types == {"README": "text/plain", "d.json": "application/json"}


async def test_overwrite_replaces_only_unlinked_items(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    old = storage.add_item(top.uuid, "a.txt", b"old")
    linked = storage.add_item(top.uuid, "b.txt", b"linked")
    storage.links[linked.uuid] = 1
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await fs.lookup(ROOT_INO, "a.txt")).ino
    fh, _ = await fs.open(ino, os.O_WRONLY | os.O_TRUNC)
    await fs.write(fh, 0, b"new")
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert old.uuid not in storage.items and storage.titles(top.uuid) == ["a.txt", "b.txt"]
    assert (await fs.lookup(ROOT_INO, "a.txt")).ino == ino
    assert await cat(fs, ino) == b"new"
    b_ino = (await fs.lookup(ROOT_INO, "b.txt")).ino
    with pytest.raises(FsError) as refused:
        await fs.open(b_ino, os.O_WRONLY | os.O_TRUNC)
    assert refused.value.errno == errno.EPERM
    with pytest.raises(FsError) as refused:
        await fs.unlink(ROOT_INO, "b.txt")
    assert refused.value.errno == errno.EPERM


async def test_rename_and_move_are_server_side_and_keep_uuids(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    dst = storage.add_folder("dst", top.uuid)
    item = storage.add_item(top.uuid, "a.txt", b"a")
    sub = storage.add_folder("sub", top.uuid)
    storage.add_item(dst.uuid, "c.txt", b"c")
    fs = make_fs(storage, staging, nursery, root=top)
    dst_ino = (await fs.lookup(ROOT_INO, "dst")).ino
    ino = (await fs.lookup(ROOT_INO, "a.txt")).ino
    await fs.rename(ROOT_INO, "a.txt", dst_ino, "b.txt", noreplace=False, exchange=False)
    assert storage.items[item.uuid].parent == dst.uuid and storage.items[item.uuid].name == "b.txt"
    assert (await fs.lookup(dst_ino, "b.txt")).ino == ino
    with pytest.raises(FsError):
        await fs.lookup(ROOT_INO, "a.txt")
    await fs.rename(ROOT_INO, "sub", dst_ino, "sub2", noreplace=False, exchange=False)
    assert storage.folders[sub.uuid].parent == dst.uuid and storage.folders[sub.uuid].name == "sub2"
    assert "upload_file" not in storage.calls and "delete_items" not in storage.calls
    with pytest.raises(FsError) as exists:
        await fs.rename(dst_ino, "b.txt", dst_ino, "c.txt", noreplace=True, exchange=False)
    assert exists.value.errno == errno.EEXIST
    await fs.rename(dst_ino, "b.txt", dst_ino, "c.txt", noreplace=False, exchange=False)
    assert storage.titles(dst.uuid) == ["c.txt"] and item.uuid in storage.items


async def test_mkdir_rmdir(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    d = (await fs.mkdir(ROOT_INO, "new")).ino
    await write_file(fs, d, "x.txt", b"x")
    with pytest.raises(FsError) as full:
        await fs.rmdir(ROOT_INO, "new")
    assert full.value.errno == errno.ENOTEMPTY
    await fs.unlink(d, "x.txt")
    await fs.rmdir(ROOT_INO, "new")
    assert [f.name for f in storage.folders.values()] == ["top"]


async def test_read_only_mount_refuses_changes(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top, read_only=True)
    for call in (fs.mkdir(ROOT_INO, "x"), fs.create(ROOT_INO, "y.txt", os.O_WRONLY)):
        with pytest.raises(FsError) as refused:
            await call
        assert refused.value.errno == errno.EROFS


async def test_xattrs_and_client_metadata(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "p.png", PNG, StorageItemType.IMAGE, width=4, height=3, mime_type="image/png")
    storage.links[item.uuid] = 2
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await fs.lookup(ROOT_INO, "p.png")).ino
    names = await fs.listxattr(ino)
    assert {"user.encord.uuid", "user.encord.width", "user.encord.height", "user.encord.dataset_links"} <= set(names)
    assert await fs.getxattr(ino, "user.encord.width") == b"4"
    assert await fs.getxattr(ino, "user.encord.dataset_links") == b"2"
    await fs.setxattr(ino, "user.encord.client_metadata", b'{"k": 1}')
    assert storage.items[item.uuid].metadata == {"k": 1}
    with pytest.raises(FsError) as bad:
        await fs.setxattr(ino, "user.encord.client_metadata", b"[1]")
    assert bad.value.errno == errno.EINVAL


async def test_truncate_of_a_file_being_written(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, attrs = await fs.create(ROOT_INO, "t.txt", os.O_WRONLY)
    await fs.write(fh, 0, b"hello world")
    assert (await fs.setattr(attrs.ino, 5, fh)).size == 5
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert storage.content[next(iter(storage.items))] == b"hello"


async def test_readdir_streams_before_the_folder_is_fully_listed(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(3000):
        storage.add_item(top.uuid, f"{i:05}.txt", b"x")
    fetched = []
    original = storage.iter_items

    async def counting(folder, **kwargs):
        async for item in original(folder, **kwargs):
            fetched.append(item)
            yield item

    storage.iter_items = counting
    fs = make_fs(storage, staging, nursery, root=top)
    fh = await fs.opendir(ROOT_INO)
    first, _ = await fs.readdir(fh, 0)
    assert first.name == "00000.txt" and len(fetched) <= (AHEAD + 2) * BATCH < 3000  # read ahead a bounded way
    tenth, _ = await fs.readdir(fh, 9)
    storage.add_item(top.uuid, "00000a.txt", b"new")  # a concurrent change does not shift offsets
    assert (await fs.readdir(fh, 9))[0] == tenth and (await fs.readdir(fh, 10))[0].name == "00010.txt"
    await fs.releasedir(fh)


async def test_touch_of_a_media_name_is_a_placeholder_until_written(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, attrs = await fs.create(ROOT_INO, "later.png", os.O_WRONLY)
    await fs.flush(fh)
    await fs.release(fh)
    assert storage.titles(top.uuid) == [] and "later.png" in await ls(fs, ROOT_INO)
    fh, _ = await fs.open(attrs.ino, os.O_WRONLY | os.O_TRUNC)
    await fs.write(fh, 0, PNG)
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert storage.titles(top.uuid) == ["later.png"]
    assert await cat(fs, (await fs.lookup(ROOT_INO, "later.png")).ino) == PNG


async def test_an_item_deleted_elsewhere_is_enoent(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "gone.txt", b"x")
    fs = make_fs(storage, staging, nursery, root=top, attr_ttl=0.01)
    ino = (await fs.lookup(ROOT_INO, "gone.txt")).ino
    del storage.items[item.uuid]
    await trio.sleep(0.02)
    with pytest.raises(FsError) as gone:
        await fs.getattr(ino)
    assert gone.value.errno == errno.ENOENT


async def test_shutdown_uploads_files_still_open(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, _ = await fs.create(ROOT_INO, "open.txt", os.O_WRONLY)
    await fs.write(fh, 0, b"unsaved")
    await fs.drain()
    assert storage.titles(top.uuid) == ["open.txt"]


async def test_forgotten_inodes_drop_their_model_and_keep_their_number(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "a.txt", b"abc")
    storage.links[item.uuid] = 1
    sub = storage.add_folder("sub", top.uuid)
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await fs.lookup(ROOT_INO, "a.txt")).ino
    sub_ino = (await fs.lookup(ROOT_INO, "sub")).ino
    fs.forget([(ino, 1), (sub_ino, 1)])
    assert fs.inodes[ino].item is None and fs.inodes[sub_ino].folder is None
    assert (await fs.getattr(ino)).size == 3 and fs.inodes[ino].item == item
    fs.forget([(ino, 1)])
    with pytest.raises(FsError) as linked:
        await fs.unlink(ROOT_INO, "a.txt")
    assert linked.value.errno == errno.EPERM
    fs.forget([(ino, 5)])
    assert (await fs.lookup(ROOT_INO, "a.txt")).ino == ino
    assert await cat(fs, ino) == b"abc"
    await fs.rename(ROOT_INO, "sub", ROOT_INO, "sub2", noreplace=False, exchange=False)
    assert storage.folders[sub.uuid].name == "sub2"
    assert "get_folder" in storage.calls


async def test_concurrent_closes_upload_once_and_writes_wait_for_the_upload(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, attrs = await fs.create(ROOT_INO, "c.txt", os.O_WRONLY)
    other, _ = await fs.open(attrs.ino, os.O_WRONLY)
    await fs.write(fh, 0, b"first")
    async with trio.open_nursery() as closes:
        closes.start_soon(fs.flush, fh)
        closes.start_soon(fs.flush, other)
        closes.start_soon(fs.write, other, 5, b" second")
    await fs.flush(other)
    await fs.release(fh)
    await fs.release(other)
    await fs.uploader.wait_idle()
    assert 1 <= storage.calls.count("upload_file") <= 2, "a close with nothing new uploads nothing"
    [item] = storage.items.values()  # a second upload replaced the first
    assert item.name == "c.txt" and storage.content[item.uuid] == b"first second"


async def test_a_file_renamed_while_open_uploads_again_under_its_new_name(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    dst = storage.add_folder("dst", top.uuid)
    fs = make_fs(storage, staging, nursery, root=top)
    dst_ino = (await fs.lookup(ROOT_INO, "dst")).ino
    fh, _ = await fs.create(ROOT_INO, "draft.txt", os.O_WRONLY)
    await fs.write(fh, 0, b"v1")
    await fs.flush(fh)
    await fs.rename(ROOT_INO, "draft.txt", dst_ino, "final.txt", noreplace=False, exchange=False)
    await fs.write(fh, 2, b" v2")
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert storage.titles(top.uuid) == [] and storage.titles(dst.uuid) == ["final.txt"]
    [item] = storage.items.values()
    assert storage.content[item.uuid] == b"v1 v2"


async def test_a_temp_file_renamed_right_after_close_uploads_once_under_its_final_name(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, _ = await fs.create(ROOT_INO, ".photo.png.Ab12Cd", os.O_WRONLY)  # as rsync writes it
    await fs.write(fh, 0, PNG)
    await fs.flush(fh)
    await fs.release(fh)
    await fs.rename(ROOT_INO, ".photo.png.Ab12Cd", ROOT_INO, "photo.png", noreplace=False, exchange=False)
    await fs.uploader.wait_idle()
    assert storage.titles(top.uuid) == ["photo.png"]
    assert storage.calls.count("upload_file") == 1 and "update_item" not in storage.calls


async def test_a_reader_opened_while_the_upload_lands_reads_the_bytes(storage, staging, nursery) -> None:
    """Opened after the server confirmed the upload but before the journal forgot the file, a
    reader used to get the staged file whose fd the commit had closed: EBADF (cp -r right after rsync)."""
    folder = storage.add_folder("f")
    fs = make_fs(storage, staging, nursery)
    parent = (await ls(fs, ROOT_INO))["f"]
    fh, attrs = await fs.create(parent, "notes.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    await fs.write(fh, 0, b"hello world\n")
    await fs.flush(fh)
    opened: list[int] = []
    real_done = fs.uploader.done

    async def done_with_a_reader_arriving(record) -> None:
        opened.append((await fs.open(attrs.ino, os.O_RDONLY))[0])
        await real_done(record)

    fs.uploader.done = done_with_a_reader_arriving
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert opened and storage.titles(folder.uuid) == ["notes.txt"]
    assert (await fs.getattr(attrs.ino)).size == 12  # the staged fd is closed, the record forgotten
    assert bytes(await fs.read(opened[0], 0, 100)) == b"hello world\n"
    await fs.release(opened[0])
    assert bytes(await cat(fs, attrs.ino)) == b"hello world\n"


@pytest.mark.parametrize("flags, written, expected", [
    (os.O_TRUNC, b"again!\n", b"again!\n"),  # `echo again! > n.txt`
    (os.O_APPEND, b"more\n", b"hello world\nmore\n"),  # `echo more >> n.txt`
])
async def test_reopening_for_write_as_the_upload_lands_keeps_one_item(storage, staging, nursery, flags, written, expected) -> None:
    """Opened for writing after the journal deleted the staged bytes of a landing upload but before
    it forgot the record: the copy of those bytes failed with ENOENT and the rewrite was lost."""
    folder = storage.add_folder("f")
    fs = make_fs(storage, staging, nursery)
    parent = (await ls(fs, ROOT_INO))["f"]
    fh, attrs = await fs.create(parent, "n.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    await fs.write(fh, 0, b"hello world\n")
    await fs.flush(fh)
    reopened: list[int] = []
    arrived = trio.Event()
    real_done = fs.uploader.done

    async def reopen() -> None:  # another process's open: it waits for the writer's lock
        reopened.append((await fs.open(attrs.ino, os.O_WRONLY | flags))[0])
        arrived.set()

    async def done_with_a_writer_arriving(record) -> None:
        await real_done(record)
        if not arrived.is_set() and not reopened:
            nursery.start_soon(reopen)

    fs.uploader.done = done_with_a_writer_arriving
    await fs.release(fh)
    await arrived.wait()
    await fs.uploader.wait_idle()
    offset = 0 if flags & os.O_TRUNC else len(b"hello world\n")
    await fs.write(reopened[0], offset, written)
    await fs.flush(reopened[0])
    await fs.release(reopened[0])
    await fs.uploader.wait_idle()
    assert storage.titles(folder.uuid) == ["n.txt"]
    assert bytes(await cat(fs, attrs.ino)) == expected


async def test_truncating_a_landed_file_that_a_reader_holds_open(storage, staging, nursery) -> None:
    """A reader kept the uploaded staged file open after the journal deleted it; `echo x > f` then
    truncated and journaled that deleted file (flush: ENOENT) and the rewrite never uploaded."""
    folder = storage.add_folder("f")
    fs = make_fs(storage, staging, nursery)
    parent = (await ls(fs, ROOT_INO))["f"]
    fh, attrs = await fs.create(parent, "n.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    await fs.write(fh, 0, b"hello\n")
    await fs.flush(fh)
    reader, _ = await fs.open(attrs.ino, os.O_RDONLY)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    writer, _ = await fs.open(attrs.ino, os.O_WRONLY | os.O_TRUNC)
    await fs.flush(writer)  # bash's dup2 pattern: a flush before any write
    await fs.write(writer, 0, b"again!\n")
    await fs.flush(writer)
    await fs.release(writer)
    await fs.release(reader)
    await fs.uploader.wait_idle()
    assert storage.titles(folder.uuid) == ["n.txt"]
    assert bytes(await cat(fs, attrs.ino)) == b"again!\n"
