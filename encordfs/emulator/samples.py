"""``--sample-data``: load the demo tree of :func:`mediagen.sample_tree` into an empty store.

Files go through the same path as SDK uploads (an upload slot, bytes under ``DATA/blobs``, then the
upload-job planner), so sample items get exactly the metadata real uploads get.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from encordfs.wire.enums import UPLOAD_FLOWS, StorageItemType

from .auth import DEFAULT_OWNER
from .ingest import JobSource, Planner, commit_plan
from .mediagen import SampleFolder, sample_tree
from .store import Store

log = logging.getLogger(__name__)


def load_samples(store: Store, owner: str = DEFAULT_OWNER) -> bool:
    """Load the demo tree unless the store already has folders; returns whether it loaded."""
    if store.one("SELECT uuid FROM folders LIMIT 1") is not None:
        log.info("sample data skipped: the store is not empty")
        return False
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="encordfs-samples-") as scratch:
        for folder in sample_tree(Path(scratch)):
            _load_folder(store, folder, None, owner)
    log.info("sample data loaded in %.1f s", time.monotonic() - started)
    return True


def _slot(store: Store, folder: str, item_type: StorageItemType, source: Path) -> str:
    """An upload slot holding a copy of ``source``, as if the SDK had PUT it."""
    ((uuid, _),) = store.add_slots(folder, item_type.value, 1)
    shutil.copyfile(source, store.blob_dir / uuid)
    return uuid


def _load_folder(store: Store, sample: SampleFolder, parent: str | None, owner: str) -> None:
    uuid, now = str(uuidlib.uuid4()), time.time()
    with store.tx() as db:
        store.insert_folder(
            db,
            {
                "uuid": uuid,
                "parent": parent,
                "name": sample.name,
                "description": sample.description,
                "client_metadata": None,
                "owner": owner,
                "created_at": now,
                "last_edited_at": now,
            },
        )
    lists: dict[str, list[dict[str, Any]]] = {}
    for file in sample.files:
        key = UPLOAD_FLOWS[file.item_type][0]
        slot = _slot(store, uuid, file.item_type, file.path)
        lists.setdefault(key, []).append({"objectUrl": slot, "title": file.title, "placeholderItemUuid": slot})
    for group in sample.groups:
        if group.kind is StorageItemType.DICOM_SERIES:
            frames = [
                {"url": f.name, "title": f.name, "placeholderItemUuid": _slot(store, uuid, StorageItemType.DICOM_FILE, f)}
                for f in group.frames
            ]
            lists.setdefault("dicomSeries", []).append({"dicomFiles": frames, "title": group.title})
        else:
            frames = [
                {"url": f.name, "title": f.name, "placeholderItemUuid": _slot(store, uuid, StorageItemType.IMAGE, f)} for f in group.frames
            ]
            sequence = group.kind is StorageItemType.IMAGE_SEQUENCE
            lists.setdefault("imageGroups", []).append({"images": frames, "title": group.title, "createVideo": sequence})
    plan = Planner(store, JobSource(uuid, owner), skip_duplicates=False, upsert_metadata=False).run(lists)
    for error in plan.unit_errors:
        log.warning("sample unit skipped: %s", error.error)
    with store.tx() as db:
        commit_plan(store, db, plan)
    for child in sample.folders:
        _load_folder(store, child, uuid, owner)
