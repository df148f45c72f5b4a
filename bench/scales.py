"""Dataset and workload sizes. ``full`` is the issue's shapes; the others keep development cheap."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class Scale:
    name: str
    big_file_bytes: int  # the sequential-read video
    small_files: int  # photo-sized JPEGs read one by one and in parallel
    small_file_bytes: int
    flat_entries: int  # one folder listed with ls -l and stat'ed
    tree_entries: int  # folders + files walked with find
    upload_files: int  # cp -r into the mount
    upload_file_bytes: int
    upload_big_bytes: int  # cp of one video into the mount
    listing_entries: int  # one folder listed to measure the mount's peak memory
    runs: int  # repetitions per workload (medians are reported)


SCALES = {
    "full": Scale("full", 1024 * MiB, 2000, 100 * KiB, 10_000, 12_000, 500, 100 * KiB, 256 * MiB, 100_000, 5),
    "small": Scale("small", 32 * MiB, 200, 100 * KiB, 500, 600, 50, 100 * KiB, 16 * MiB, 2_000, 3),
    "tiny": Scale("tiny", 2 * MiB, 8, 20 * KiB, 20, 30, 4, 20 * KiB, 1 * MiB, 40, 1),
}
