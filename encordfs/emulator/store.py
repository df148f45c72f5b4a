"""The emulator's persistent state: one SQLite database (WAL) plus content files under ``DATA/blobs``.

All access goes through :class:`Store`, which owns a single connection guarded by a lock, so
concurrent requests (event loop and worker threads alike) never interleave inside a transaction.
Rows come back as plain dicts; turning them into wire models is :mod:`encordfs.emulator.views`' job.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    uuid TEXT PRIMARY KEY,
    parent TEXT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    client_metadata TEXT,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_edited_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS folders_by_parent ON folders(parent, name);
CREATE INDEX IF NOT EXISTS folders_by_parent_created ON folders(parent, created_at);
CREATE TABLE IF NOT EXISTS items (
    uuid TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    item_type TEXT NOT NULL,
    name TEXT NOT NULL,
    client_metadata TEXT NOT NULL DEFAULT '{}',
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_edited_at REAL NOT NULL,
    backed_data_units_count INTEGER NOT NULL DEFAULT 0,
    storage_location TEXT NOT NULL DEFAULT 'encord',
    integration_hash TEXT,
    url TEXT,
    blob_path TEXT,
    composite TEXT,
    child_index INTEGER,
    media TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS items_by_folder ON items(folder, name);
CREATE INDEX IF NOT EXISTS items_by_folder_created ON items(folder, created_at);
CREATE INDEX IF NOT EXISTS items_by_composite ON items(composite, child_index);
CREATE TABLE IF NOT EXISTS slots (
    uuid TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    item_type TEXT NOT NULL,
    object_key TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    uuid TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    ready_at REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reencodes (
    uuid TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    ready_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS org_groups (
    group_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS folder_groups (
    folder TEXT NOT NULL,
    group_hash TEXT NOT NULL,
    user_role TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (folder, group_hash)
);
DROP TABLE IF EXISTS tokens;
CREATE TABLE IF NOT EXISTS token_hashes (
    id TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    keyid TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    keyid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    role TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

ITEM_ORDER = {"name": "name", "createdAt": "created_at"}

# Where a page ended: the last row's sort value and rowid (keyset paging: stable under inserts
# and deletes, and as fast on the thousandth page as on the first).
Cursor = tuple[Any, int]


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Store:
    """SQLite in WAL mode at ``DATA/emulator.sqlite3``; blobs under ``DATA/blobs``. The data dir is
    made private (0700) and the database 0600 (SQLite gives its -wal and -shm files the same mode):
    it holds the users' files and the keys' roles."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.blob_dir = data_dir / "blobs"
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        self.blob_dir.mkdir(mode=0o700, exist_ok=True)
        database = data_dir / "emulator.sqlite3"
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        database.chmod(0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")  # other processes (add-key) may write too
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, args)
        return rows[0] if rows else None

    # ---- keys -------------------------------------------------------------------------------
    def add_key(self, keyid: str, public_key: str, role: str, owner: str) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO keys (keyid, public_key, role, owner, created_at) VALUES (?,?,?,?,?)",
                (keyid, public_key, role, owner, time.time()),
            )

    def key(self, keyid: str) -> Row | None:
        return self.one("SELECT * FROM keys WHERE keyid=?", (keyid,))

    def add_token(self, token_id: str, salt: bytes, digest: bytes, keyid: str) -> None:
        """A bearer token, kept as its id and a salted hash of its secret (see ``auth.issue_token``)."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO token_hashes (id, salt, digest, keyid, created_at) VALUES (?,?,?,?,?)",
                (token_id, salt, digest, keyid, time.time()),
            )

    def token(self, token_id: str) -> Row | None:
        """The token's salt and digest with the key it was issued to (its columns prefixed)."""
        return self.one(
            "SELECT t.salt AS token_salt, t.digest AS token_digest, k.* FROM token_hashes t "
            "JOIN keys k ON k.keyid = t.keyid WHERE t.id=?",
            (token_id,),
        )

    def remove_partial_blobs(self) -> int:
        """Delete the ``.part`` files uploads cut short by a crash left (only the server may: an
        upload in flight writes one). Returns how many."""
        removed = 0
        for partial in self.blob_dir.glob("*.part"):
            partial.unlink(missing_ok=True)
            removed += 1
        return removed

    # ---- folders ----------------------------------------------------------------------------
    def folder(self, uuid: str) -> Row | None:
        return self.one("SELECT * FROM folders WHERE uuid=?", (uuid,))

    def ancestors(self, uuid: str) -> list[Row]:
        """The folder's ancestors, root first, excluding the folder itself."""
        chain: list[Row] = []
        current = self.folder(uuid)
        while current is not None and current["parent"] is not None:
            current = self.folder(current["parent"])
            if current is not None:
                chain.append(current)
        return list(reversed(chain))

    def descendant_folders(self, uuid: str) -> list[str]:
        """UUIDs of every folder strictly below ``uuid``."""
        rows = self.query(
            "WITH RECURSIVE sub(uuid) AS (SELECT uuid FROM folders WHERE parent=? "
            "UNION ALL SELECT f.uuid FROM folders f JOIN sub ON f.parent=sub.uuid) SELECT uuid FROM sub",
            (uuid,),
        )
        return [r["uuid"] for r in rows]

    def insert_folder(self, db: sqlite3.Connection, row: Row) -> None:
        db.execute(
            "INSERT INTO folders (uuid, parent, name, description, client_metadata, owner, created_at, last_edited_at)"
            " VALUES (:uuid, :parent, :name, :description, :client_metadata, :owner, :created_at, :last_edited_at)",
            row,
        )

    def list_folders(
        self,
        parents: Sequence[str | None] | None,
        search: str | None,
        order: str,
        desc: bool,
        after: Cursor | None,
        limit: int,
    ) -> list[Row]:
        """Folders whose parent is one of ``parents`` (``None`` in it = top level; ``parents=None`` = all)."""
        where, args = [], []
        if parents is not None:
            named = [p for p in parents if p is not None]
            clauses = []
            if named:
                clauses.append(f"parent IN ({','.join('?' * len(named))})")
                args.extend(named)
            if None in parents:
                clauses.append("parent IS NULL")
            where.append("(" + (" OR ".join(clauses) or "0") + ")")
        if search:
            where.append("name LIKE ? ESCAPE '\\'")
            args.append(f"%{escape_like(search)}%")
        return self._page("folders", where, args, order, desc, after, limit)

    def _page(
        self, table: str, where: list[str], args: list[Any], order: str, desc: bool, after: Cursor | None, limit: int
    ) -> list[Row]:
        """Rows in ``(order, rowid)`` order after the cursor; each row carries its ``_rowid``."""
        column = ITEM_ORDER[order]
        direction = "DESC" if desc else "ASC"
        if after is not None:
            where = [*where, f"({column}, rowid) {'<' if desc else '>'} (?, ?)"]
            args = [*args, *after]
        sql = (
            f"SELECT *, rowid AS _rowid FROM {table} WHERE {' AND '.join(where) or '1'} "
            f"ORDER BY {column} {direction}, rowid {direction} LIMIT ?"
        )
        return self.query(sql, [*args, limit])

    # ---- items ------------------------------------------------------------------------------
    def item(self, uuid: str) -> Row | None:
        return self.one("SELECT * FROM items WHERE uuid=?", (uuid,))

    def children(self, composite: str) -> list[Row]:
        return self.query("SELECT * FROM items WHERE composite=? ORDER BY child_index, rowid", (composite,))

    def insert_item(self, db: sqlite3.Connection, row: Row) -> None:
        full = {
            "backed_data_units_count": 0,
            "storage_location": "encord",
            "integration_hash": None,
            "url": None,
            "blob_path": None,
            "composite": None,
            "child_index": None,
            **row,
        }
        full["media"] = json.dumps(full.get("media") or {})
        db.execute(
            "INSERT INTO items (uuid, folder, item_type, name, client_metadata, owner, created_at, last_edited_at,"
            " backed_data_units_count, storage_location, integration_hash, url, blob_path, composite, child_index, media)"
            " VALUES (:uuid, :folder, :item_type, :name, :client_metadata, :owner, :created_at, :last_edited_at,"
            " :backed_data_units_count, :storage_location, :integration_hash, :url, :blob_path, :composite,"
            " :child_index, :media)",
            full,
        )

    def list_items(
        self,
        folders: Sequence[str] | None,
        search: str | None,
        item_types: Sequence[str],
        in_dataset: bool | None,
        order: str,
        desc: bool,
        after: Cursor | None,
        limit: int,
    ) -> list[Row]:
        """Top-level items (not frames of a composite) in any of ``folders`` (``None``: anywhere)."""
        where = ["composite IS NULL"]
        args: list[Any] = []
        if folders is not None:
            where.append(f"folder IN ({','.join('?' * len(folders))})")
            args.extend(folders)
        if search:
            where.append("name LIKE ? ESCAPE '\\'")
            args.append(f"%{escape_like(search)}%")
        if item_types:
            where.append(f"item_type IN ({','.join('?' * len(item_types))})")
            args.extend(item_types)
        if in_dataset is not None:
            where.append("backed_data_units_count > 0" if in_dataset else "backed_data_units_count = 0")
        return self._page("items", where, args, order, desc, after, limit)

    def blob_file(self, row: Row) -> Path | None:
        """Where an item's bytes live: under ``DATA/blobs`` (relative path) or in an integration (absolute)."""
        if not row["blob_path"]:
            return None
        return self.data_dir / str(row["blob_path"])

    def items_with_url(self, folder: str, url: str) -> list[Row]:
        return self.query("SELECT * FROM items WHERE folder=? AND url=? AND composite IS NULL", (folder, url))

    # ---- upload slots -----------------------------------------------------------------------
    def add_slots(self, folder: str, item_type: str, count: int) -> list[tuple[str, str]]:
        """Reserve ``count`` upload slots; returns (uuid, object key) pairs. Bytes go to ``blobs/<uuid>``."""
        now = time.time()
        slots = [(u, f"emulator/{folder}/{u}") for u in (str(uuidlib.uuid4()) for _ in range(count))]
        with self.tx() as db:
            db.executemany(
                "INSERT INTO slots (uuid, folder, item_type, object_key, created_at) VALUES (?,?,?,?,?)",
                [(u, folder, item_type, key, now) for u, key in slots],
            )
        return slots

    # ---- groups -----------------------------------------------------------------------------
    def folder_groups(self, folder: str) -> list[Row]:
        return self.query(
            "SELECT f.*, g.name, g.description FROM folder_groups f JOIN org_groups g USING (group_hash) "
            "WHERE f.folder=? ORDER BY f.created_at, f.group_hash", (folder,))

    def org_groups(self) -> list[Row]:
        return self.query("SELECT * FROM org_groups ORDER BY created_at, group_hash")

    def org_group(self, group_hash: str) -> Row | None:
        return self.one("SELECT * FROM org_groups WHERE group_hash=?", (group_hash,))
