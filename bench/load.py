"""Put the dataset into the emulator: one top-level folder per top-level directory of ``served/``,
subfolders for subdirectories, items titled by file name (the mount shows titles as names)."""

from __future__ import annotations

import logging
from pathlib import Path

from bench.dataset import VIDEO, Dataset
from bench.encord_api import EncordApi

log = logging.getLogger(__name__)


def _item_type(path: Path) -> str:
    return "video" if path.suffix == ".mp4" else "image"


def _load_dir(api: EncordApi, directory: Path, parent: str | None) -> int:
    folder = api.create_folder(directory.name, parent)
    files = sorted(p for p in directory.iterdir() if p.is_file())
    for kind in ("video", "image"):
        batch = [p for p in files if _item_type(p) == kind]
        if batch:
            api.upload(folder, batch, kind)
    count = len(files)
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        count += _load_dir(api, sub, folder)
    return count


def load_dataset(api: EncordApi, dataset: Dataset) -> None:
    """Upload every served file; assumes an emulator without these top-level folders."""
    top_dirs = sorted({Path(p).parts[0] for p in dataset.files})
    for name in top_dirs:
        count = _load_dir(api, dataset.served / name, None)
        log.info("loaded %s/: %d files", name, count)


def video_item(api: EncordApi) -> dict:
    """The big video's item, with a fresh signed URL."""
    parts = Path(VIDEO).parts
    folder = api.folder_by_path(*parts[:-1])
    if folder is None:
        raise LookupError(f"no folder {'/'.join(parts[:-1])} in the emulator")
    uuid = next(i["uuid"] for i in api.items(folder) if i["name"] == parts[-1])
    return api.item(uuid, sign_url=True)
