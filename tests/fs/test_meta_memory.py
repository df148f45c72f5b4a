"""What the mount keeps per listed entry: a compact record, not the parsed item, and few bytes."""

from __future__ import annotations

import gc
import tracemalloc

from encordfs.fs.inodes import ROOT_INO
from encordfs.wire.enums import StorageItemType
from encordfs.wire.models import ItemRecord

from .test_core import ls, make_fs, staging, storage  # noqa: F401  (fixtures)

ENTRIES = 3000
# What the core adds per listed image (node, record, inode and cache tables; the name and URL
# strings are the storage's): 430 bytes with records, 553 before them with the attribute memo
# (when the node also held the parsed item, which the fake storage shares, so it is not counted).
MAX_BYTES_PER_ENTRY = 500


async def test_a_listed_item_is_kept_as_a_record_that_rebuilds_it(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "a.jpg", b"jpg", item_type=StorageItemType.IMAGE, mime_type="image/jpeg", width=640, height=480)
    fs = make_fs(storage, staging, nursery, root=top)
    node = fs.inodes[(await ls(fs, ROOT_INO))["a.jpg"]]
    assert isinstance(node.record, ItemRecord) and node.item == item
    attrs = await fs.getattr(node.ino)
    assert attrs.size == 3 and attrs.mtime_ns == node.record.edited_ns
    assert storage.calls.count("get_item") == 0, "attributes come from the record, no item call"


async def test_bytes_kept_per_listed_entry_stay_small(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for index in range(ENTRIES):
        storage.add_item(
            top.uuid,
            f"img_{index:05}.jpg",
            item_type=StorageItemType.IMAGE,
            file_size=1000 + index,
            mime_type="image/jpeg",
            width=640,
            height=480,
            url=f"cord-images/{index:036}",
        )
    fs = make_fs(storage, staging, nursery, root=top)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert len(await ls(fs, ROOT_INO)) == ENTRIES
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept / ENTRIES < MAX_BYTES_PER_ENTRY
