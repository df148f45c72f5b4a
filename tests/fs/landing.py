"""Test helpers for the background upload mode: wait until what a mount wrote has landed on the
server, and read the server's tree back through the official SDK.

``close()`` returns once a file is journaled; its upload (and a rename or unlink that follows it)
reaches the server later. ``settled_tree`` waits until the mount's journal is empty AND the server
shows the expected tree, then returns what the server shows (the caller asserts it), so a test
never sleeps a fixed time and never hides a wrong final state. (``encordfs sync`` will replace the
journal polling once it exists.)
"""

from __future__ import annotations

import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

from encordfs.fs.staging import PendingUpload, read_pending

Tree = dict[str, bytes | None]  # relative path -> file bytes, or None for a directory


def pending(cache_dir: Path) -> list[PendingUpload]:
    """The journal of a mount's cache dir (read without its lock)."""
    return read_pending(cache_dir)


def wait_journal_empty(cache_dir: Path, timeout: float = 20.0) -> list[PendingUpload]:
    """Poll until the journal is empty or ``timeout``; returns what is left (empty on success)."""
    deadline = time.monotonic() + timeout
    while (left := pending(cache_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _download(item: Any) -> bytes:
    url = item.get_signed_url()
    assert url is not None and url.startswith("http://127.0.0.1:"), url  # loopback only
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def server_tree(folder: Any, *, contents: bool = True) -> Tree:
    """Every subfolder (None) and item (its bytes, or b"" when ``contents`` is False) under
    ``folder`` on the server, by path relative to it. Two items with one title in one folder show
    as ``name`` and ``name#2``, so a duplicate cannot hide."""
    tree: Tree = {}
    todo: list[tuple[str, Any]] = [("", folder)]
    while todo:
        prefix, current = todo.pop()
        for sub in current.list_subfolders():
            tree[prefix + sub.name] = None
            todo.append((prefix + sub.name + "/", sub))
        for item in current.list_items():
            path = prefix + item.name
            while path in tree:
                path += "#2"
            tree[path] = _download(item) if contents else b""
    return tree


def settled_tree(folder: Any, cache_dir: Path | None, expected: Tree, timeout: float = 20.0, grace: float = 3.0) -> Tree:
    """The server's tree under ``folder`` once it equals ``expected`` with the mount's journal
    (``cache_dir``) empty, or else what it is ``grace`` seconds after the journal emptied (a
    rename or deletion that follows an upload lands just after it) or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if cache_dir is not None and pending(cache_dir):
            found = None
        else:
            found = server_tree(folder)
            if found == expected:
                return found
            deadline = min(deadline, time.monotonic() + grace)
        if time.monotonic() > deadline:
            return found if found is not None else server_tree(folder)
        time.sleep(0.2)


def mount_tree(root: Path) -> Tree:
    """The same shape as ``server_tree`` for a local directory or a mount."""
    tree: Tree = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        tree[relative] = None if path.is_dir() else path.read_bytes()
    return tree


def items_named(data_dir: Path, name: str) -> int:
    """How many items called ``name`` the emulator's database holds, read straight from its file:
    an observation that, unlike an API call, no injected latency delays."""
    with sqlite3.connect(f"file:{data_dir / 'emulator.sqlite3'}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT count(*) FROM items WHERE name=?", (name,)).fetchone()[0]
