"""Lookups of many names of one folder are answered from one listing (``HotFolders``)."""

from __future__ import annotations

import trio.testing

from encordfs.fs.hotfolders import HOT_MISSES, HotFolders
from encordfs.fs.inodes import ROOT_INO

from .test_core import make_fs, staging, storage  # noqa: F401  (fixtures)


def test_a_folder_becomes_hot_once_per_window_at_the_threshold() -> None:
    now = [0.0]
    hot = HotFolders(misses=3, window=2.0, clock=lambda: now[0])
    assert [hot.note_miss(7) for _ in range(5)] == [False, False, True, False, False]
    assert hot.note_miss(8) is False, "counted per folder"
    now[0] = 2.5
    assert [hot.note_miss(7) for _ in range(3)] == [False, False, True], "a new window counts afresh"


def test_misses_spread_wider_than_the_window_never_make_a_folder_hot() -> None:
    now = [0.0]
    hot = HotFolders(misses=2, window=1.0, clock=lambda: now[0])
    for step in range(6):
        now[0] = step * 1.5
        assert hot.note_miss(7) is False


async def test_names_looked_up_one_by_one_are_then_answered_from_one_signed_listing(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(30):
        storage.add_item(top.uuid, f"f{i:02}.jpg", b"x" * i)
    fs = make_fs(storage, staging, nursery, root=top)
    for i in range(HOT_MISSES):
        assert (await fs.lookup(ROOT_INO, f"f{i:02}.jpg")).size == i
    await trio.testing.wait_all_tasks_blocked()
    listings = [c for c in storage.calls if c.startswith("iter_items")]
    assert listings[-1] == "iter_items:None:signed", "the folder was listed once, with signed URLs"
    assert len([c for c in listings if c.endswith(".jpg")]) == HOT_MISSES, "one search per lookup until then"

    storage.calls.clear()
    for i in range(HOT_MISSES, 30):
        assert (await fs.lookup(ROOT_INO, f"f{i:02}.jpg")).size == i
    assert await fs.lookup(ROOT_INO, "f05.jpg") is not None
    assert storage.calls == [], "every later lookup came from the listing"


async def test_a_few_lookups_never_list_the_folder(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(10):
        storage.add_item(top.uuid, f"f{i}.jpg", b"x")
    fs = make_fs(storage, staging, nursery, root=top)
    for i in range(HOT_MISSES - 1):
        await fs.lookup(ROOT_INO, f"f{i}.jpg")
    await trio.testing.wait_all_tasks_blocked()
    assert "iter_items:None" not in storage.calls and "iter_items:None:signed" not in storage.calls
