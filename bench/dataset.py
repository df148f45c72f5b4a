"""The benchmark dataset: real media in the shapes of the issue, written once per scale and reused.

``served/`` holds what both servers carry (rclone serves it as is, the loader uploads it to the
emulator); ``upload-src/`` holds what the write workloads copy into the mounts. ``manifest.json``
records every file's size and CRC-32, which is what the correctness checks compare against.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.scales import Scale
from encordfs.emulator import mediagen

log = logging.getLogger(__name__)

VIDEO = "video/big.mp4"
IMAGES = "images"
FLAT = "flat"
TREE = "tree"
LISTING = "listing"
UPLOADS = "uploads"  # the top-level folder the write workloads copy into (never in served/)
CHUNK = 1 << 20
LINKS_PER_FILE = 50_000


@dataclass(frozen=True)
class FileFacts:
    size: int
    crc32: int


@dataclass
class Dataset:
    root: Path
    scale: Scale
    files: dict[str, FileFacts]  # served/ paths relative to served/

    @property
    def served(self) -> Path:
        return self.root / "served"

    @property
    def upload_src(self) -> Path:
        return self.root / "upload-src"

    @property
    def upload_big(self) -> Path:
        return self.upload_src / "big-upload.mp4"

    @property
    def upload_small_dir(self) -> Path:
        return self.upload_src / "small"

    def under(self, top: str) -> list[str]:
        """Served files below ``top`` (relative paths), sorted."""
        return sorted(p for p in self.files if p.startswith(top + "/"))


def crc32_of(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            crc = zlib.crc32(block, crc)
    return crc


def _tree_shape(entries: int) -> tuple[int, int, int]:
    """(top dirs, subdirs per top dir, files) whose total is exactly ``entries``."""
    fanout = max(2, min(10, round(entries**0.5 / 11)))
    dirs = fanout + fanout * fanout
    return fanout, fanout, entries - dirs


def _write_tree(served: Path, entries: int) -> None:
    tops, subs, files = _tree_shape(entries)
    leaves = [served / TREE / f"d{t:02d}" / f"s{s:02d}" for t in range(tops) for s in range(subs)]
    for leaf in leaves:
        leaf.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        mediagen.jpeg(leaves[i % len(leaves)] / f"t_{i:05d}.jpg", width=16, height=12, seed=30_000 + i)


def _write_listing(served: Path, entries: int) -> None:
    """Many names, few inodes: the memory workload needs entries, not distinct bytes (a new file
    every LINKS_PER_FILE names, under ext4's 65,000 links per inode)."""
    folder = served / LISTING
    folder.mkdir(parents=True)
    for i in range(entries):
        path = folder / f"l_{i:06d}.jpg"
        if i % LINKS_PER_FILE == 0:
            source = mediagen.jpeg(path, width=8, height=8, seed=7 + i)
        else:
            os.link(source, path)


def _generate(root: Path, scale: Scale) -> None:
    served = root / "served"
    (served / "video").mkdir(parents=True)
    log.info("dataset: writing a %d MiB video", scale.big_file_bytes >> 20)
    mediagen.large_video(served / VIDEO, scale.big_file_bytes, seed=1)
    (served / IMAGES).mkdir()
    for i in range(scale.small_files):
        mediagen.jpeg_of_size(served / IMAGES / f"img_{i:05d}.jpg", scale.small_file_bytes, seed=1000 + i)
    (served / FLAT).mkdir()
    for i in range(scale.flat_entries):
        mediagen.jpeg(served / FLAT / f"f_{i:05d}.jpg", width=16, height=12, seed=20_000 + i)
    _write_tree(served, scale.tree_entries)
    _write_listing(served, scale.listing_entries)
    small = root / "upload-src" / "small"
    small.mkdir(parents=True)
    for i in range(scale.upload_files):
        mediagen.jpeg_of_size(small / f"u_{i:04d}.jpg", scale.upload_file_bytes, seed=50_000 + i)
    mediagen.large_video(root / "upload-src" / "big-upload.mp4", scale.upload_big_bytes, seed=2)


def _facts(served: Path) -> dict[str, FileFacts]:
    by_inode: dict[int, FileFacts] = {}
    files: dict[str, FileFacts] = {}
    for path in sorted(served.rglob("*")):
        if path.is_file():
            st = path.stat()
            if st.st_ino not in by_inode:
                by_inode[st.st_ino] = FileFacts(st.st_size, crc32_of(path))
            files[path.relative_to(served).as_posix()] = by_inode[st.st_ino]
    return files


def ensure_dataset(work: Path, scale: Scale) -> Dataset:
    """The dataset for ``scale`` under ``work``, generated on first use."""
    root = work / f"dataset-{scale.name}"
    manifest = root / "manifest.json"
    if manifest.exists():
        stored = json.loads(manifest.read_text())
        if stored["scale"] == asdict(scale):
            return Dataset(root, scale, {k: FileFacts(*v) for k, v in stored["files"].items()})
    if root.exists():
        shutil.rmtree(root)
    log.info("dataset: generating scale %s under %s", scale.name, root)
    _generate(root, scale)
    files = _facts(root / "served")
    manifest.write_text(json.dumps({"scale": asdict(scale), "files": {k: [v.size, v.crc32] for k, v in files.items()}}))
    return Dataset(root, scale, files)
