"""Directory read-ahead for recursive walks (``WalkAhead``) and reused attributes, against the in-memory storage."""

from __future__ import annotations

from dataclasses import replace

import trio
import trio.testing

from encordfs.fs.inodes import ROOT_INO
from encordfs.fs.walkahead import WALK_AHEAD

from .test_core import ls, make_fs, staging, storage, write_file  # noqa: F401  (fixtures)


async def test_opening_one_subfolder_lists_nothing_else(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(4):
        storage.add_folder(f"d{i}", top.uuid)
    fs = make_fs(storage, staging, nursery, root=top)
    names = await ls(fs, ROOT_INO)
    storage.calls.clear()
    await ls(fs, names["d1"])
    await ls(fs, names["d1"])
    await trio.testing.wait_all_tasks_blocked()
    assert len([c for c in storage.calls if c.startswith("iter_items")]) == 1, "an ls is not a walk"


async def test_opening_a_second_subfolder_lists_its_next_siblings_ahead(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    subs = [storage.add_folder(f"d{i:02}", top.uuid) for i in range(WALK_AHEAD + 8)]
    for sub in subs:
        storage.add_item(sub.uuid, "f.txt", b"x")
    fs = make_fs(storage, staging, nursery, root=top)
    names = await ls(fs, ROOT_INO)
    await ls(fs, names["d00"])
    storage.calls.clear()
    await ls(fs, names["d01"])
    await trio.testing.wait_all_tasks_blocked()
    listed = [c for c in storage.calls if c.startswith("iter_items")]
    assert len(listed) == 1 + WALK_AHEAD, "the opened folder, then the next WALK_AHEAD siblings"

    storage.calls.clear()
    for name in [f"d{i:02}" for i in range(2, WALK_AHEAD + 2)]:
        assert await ls(fs, names[name]) == {"f.txt": (await fs.lookup(names[name], "f.txt")).ino}
    assert storage.calls == [], "the walk found every listing it asked for in the cache"
    await ls(fs, names[f"d{WALK_AHEAD + 2:02}"])  # past the first batch: the next ones start
    await trio.testing.wait_all_tasks_blocked()
    assert len([c for c in storage.calls if c.startswith("iter_items")]) == 1 + 5


async def test_a_folder_listed_ahead_is_not_fetched_twice_and_sees_our_changes(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    _a, _b, c = (storage.add_folder(name, top.uuid) for name in "abc")
    storage.add_item(c.uuid, "old.txt", b"x")
    fs = make_fs(storage, staging, nursery, root=top)
    names = await ls(fs, ROOT_INO)
    await ls(fs, names["a"])
    storage.calls.clear()
    await ls(fs, names["b"])  # a walk: c is now being listed ahead
    assert sorted(await ls(fs, names["c"])) == ["old.txt"]
    assert len([call for call in storage.calls if call.startswith("iter_items")]) == 2
    await fs.unlink(names["c"], "old.txt")
    assert await ls(fs, names["c"]) == {}


async def test_attributes_follow_the_record_and_forget_drops_it(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    item = storage.add_item(top.uuid, "a.txt", b"abc")
    fs = make_fs(storage, staging, nursery, root=top)
    ino = (await ls(fs, ROOT_INO))["a.txt"]
    first = await fs.getattr(ino)
    assert await fs.getattr(ino) == first and first.size == 3
    assert fs.inodes[ino].item == item, "the compact record rebuilds the item it came from"
    storage.content[item.uuid] = b"abcdef"
    storage.items[item.uuid] = replace(item, file_size=6)
    fs.caches.stale(ino)
    assert (await fs.getattr(ino)).size == 6, "a refreshed model gives new attributes"
    fs.remember(ino)
    fs.caches.forget_listing(ROOT_INO)  # no fresh listing holds the model
    fs.forget([(ino, 1)])
    assert fs.inodes[ino].record is None and fs.inodes[ino].item is None, "forget drops the record"
    assert (await fs.getattr(ino)).size == 6


async def test_a_forgotten_file_keeps_its_model_while_its_listing_is_fresh(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_item(top.uuid, "a.txt", b"abc")
    storage.add_item(top.uuid, "b.txt", b"defg")
    fs = make_fs(storage, staging, nursery, root=top, dir_ttl=0.2, attr_ttl=0.2)
    names = await ls(fs, ROOT_INO)
    for ino in names.values():
        fs.remember(ino)
    storage.calls.clear()
    fs.forget([(names["a.txt"], 1)])
    assert (await fs.getattr(names["a.txt"])).size == 3 and storage.calls == [], "an epoch 2 costs no API call"
    await trio.sleep(0.25)  # the listing is stale now, and a.txt was kept long enough
    fs.forget([(names["b.txt"], 1)])
    assert fs.inodes[names["a.txt"]].record is None, "kept models are dropped once their time is up"
    assert fs.inodes[names["b.txt"]].record is None, "a stale listing keeps nothing"
    assert (await fs.getattr(names["b.txt"])).size == 4


async def test_a_walk_lists_the_subfolders_of_where_it_is_one_level_ahead(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_folder("a", top.uuid)
    b = storage.add_folder("b", top.uuid)
    storage.add_folder("c", top.uuid)
    x = storage.add_folder("x", b.uuid)
    storage.add_folder("deep", x.uuid)
    fs = make_fs(storage, staging, nursery, root=top)
    names = await ls(fs, ROOT_INO)
    await ls(fs, names["a"])
    storage.calls.clear()
    in_b = await ls(fs, names["b"])  # the walk is in b: c (its next sibling) and x (its child) come ahead
    await trio.testing.wait_all_tasks_blocked()
    assert sorted(call for call in storage.calls if call.startswith("iter_items")) == ["iter_items:None"] * 3
    assert fs.caches.listing(in_b["x"]) is not None and fs.caches.listing(names["c"]) is not None
    deep = fs.caches.listing(in_b["x"])["deep"]
    assert fs.caches.listing(deep) is None, "nothing below the folder the walk is in"
    storage.calls.clear()
    await ls(fs, in_b["x"])  # entering x (listed ahead) lists deep ahead, and x costs nothing
    await trio.testing.wait_all_tasks_blocked()
    assert sorted(storage.calls) == ["iter_folders:None", "iter_items:None"] and fs.caches.listing(deep) is not None


async def test_a_listing_that_raced_our_own_change_is_not_cached(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    storage.add_item(top.uuid, "a.txt", b"x")
    fs = make_fs(storage, staging, nursery, root=top)
    fh = await fs.opendir(ROOT_INO)
    assert (await fs.readdir(fh, 0))[0].name == "a.txt"  # the listing has fetched its pages...
    await write_file(fs, ROOT_INO, "new.txt", b"hello")  # ...before our file landed
    index = 1
    while await fs.readdir(fh, index) is not None:
        index += 1
    await fs.releasedir(fh)
    assert fs.caches.listing(ROOT_INO) is None, "...so what it saw is not kept as the folder's contents"
    assert sorted(await ls(fs, ROOT_INO)) == ["a.txt", "new.txt"]
    assert fs.caches.listing(ROOT_INO) is not None
