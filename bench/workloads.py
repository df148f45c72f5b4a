"""The workloads run through a mount. Each probe gets a freshly mounted (cold) filesystem, measures
one or more figures, and checks that what it read or wrote is byte-for-byte the dataset's."""

from __future__ import annotations

import os
import subprocess
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.dataset import FLAT, IMAGES, LISTING, TREE, UPLOADS, VIDEO, Dataset, crc32_of
from bench.procs import peak_rss_bytes
from bench.views import ServerView

MB = 1e6
MiB = 1 << 20
READ_BLOCK = 1 << 20
UPLOAD_TIMEOUT = 900.0
COMMAND_TIMEOUT = 1800.0  # a hung mount fails the probe instead of the whole run
POLL_SECONDS = 0.02
POLL_FRACTION = 0.02
POLL_MAX_SECONDS = 0.5


class CheckFailed(AssertionError):
    """What a workload read or wrote differs from the dataset."""


@dataclass(frozen=True)
class Probe:
    """One mount's worth of work. ``run`` returns {metric key: value}."""

    name: str
    run: Callable[[MountContext], dict[str, float]]


@dataclass(frozen=True)
class MountContext:
    mnt: Path
    pid: int
    dataset: Dataset
    view: ServerView
    tag: str  # unique per run and side: the write workloads' target folder under uploads/


def _command(*argv: str) -> str:
    """Run a shell tool the way a user would; its stdout."""
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=COMMAND_TIMEOUT).stdout


def read_checked(path: Path, dataset: Dataset, rel: str) -> int:
    """Read a file in 1 MiB blocks; CheckFailed unless its size and CRC-32 are the dataset's for ``rel``."""
    crc, size = 0, 0
    with path.open("rb", buffering=0) as f:
        while block := f.read(READ_BLOCK):
            crc = zlib.crc32(block, crc)
            size += len(block)
    facts = dataset.files[rel]
    if (size, crc) != (facts.size, facts.crc32):
        raise CheckFailed(f"{rel}: read {size} bytes crc {crc:08x}, expected {facts.size} crc {facts.crc32:08x}")
    return size


def seq_read(ctx: MountContext) -> dict[str, float]:
    start = time.perf_counter()
    size = read_checked(ctx.mnt / VIDEO, ctx.dataset, VIDEO)
    return {"seq_read": size / MB / (time.perf_counter() - start)}


def _small_reads(ctx: MountContext, readers: int) -> float:
    files = ctx.dataset.under(IMAGES)
    start = time.perf_counter()
    with ThreadPoolExecutor(readers) as pool:
        list(pool.map(lambda rel: read_checked(ctx.mnt / rel, ctx.dataset, rel), files))
    return len(files) / (time.perf_counter() - start)


def small_read_1(ctx: MountContext) -> dict[str, float]:
    return {"small_read_1": _small_reads(ctx, 1)}


def small_read_8(ctx: MountContext) -> dict[str, float]:
    return {"small_read_8": _small_reads(ctx, 8)}


def _timed_ls(ctx: MountContext) -> float:
    start = time.perf_counter()
    out = _command("ls", "-l", str(ctx.mnt / FLAT))
    elapsed = time.perf_counter() - start
    names = {line.split()[-1] for line in out.splitlines()[1:]}
    expected = {Path(p).name for p in ctx.dataset.under(FLAT)}
    if names != expected:
        raise CheckFailed(f"ls -l {FLAT}: {len(names)} entries, expected {len(expected)} ({len(expected ^ names)} differ)")
    return elapsed


def listing(ctx: MountContext) -> dict[str, float]:
    return {"ls_cold": _timed_ls(ctx), "ls_warm": _timed_ls(ctx)}


def _timed_stat(ctx: MountContext, rel: str) -> float:
    start = time.perf_counter()
    st = os.stat(ctx.mnt / rel)
    elapsed = time.perf_counter() - start
    if st.st_size != ctx.dataset.files[rel].size:
        raise CheckFailed(f"stat {rel}: size {st.st_size}, expected {ctx.dataset.files[rel].size}")
    return elapsed * 1000


def stat_one(ctx: MountContext) -> dict[str, float]:
    files = ctx.dataset.under(FLAT)
    rel = files[len(files) // 2]
    return {"stat_cold": _timed_stat(ctx, rel), "stat_warm": _timed_stat(ctx, rel)}


def find_tree(ctx: MountContext) -> dict[str, float]:
    start = time.perf_counter()
    out = _command("find", str(ctx.mnt / TREE))
    elapsed = time.perf_counter() - start
    found = {os.path.relpath(line, ctx.mnt) for line in out.splitlines()}
    files = ctx.dataset.under(TREE)
    expected = set(files) | {str(parent) for rel in files for parent in Path(rel).parents if str(parent) != "."}
    if found != expected:
        raise CheckFailed(f"find {TREE}: {len(found)} entries, expected {len(expected)} ({len(found ^ expected)} differ)")
    return {"find_cold": elapsed}


def _wait_on_server(view: ServerView, folder: tuple[str, ...], expected: dict[str, int], start: float) -> None:
    """Poll until every file is on the server at full size. The poll interval grows with the time
    taken so far (2%, at most 0.5 s): close to exact, without loading the server while it works."""
    deadline = time.monotonic() + UPLOAD_TIMEOUT
    while time.monotonic() < deadline:
        sizes = view.sizes(*folder)
        if all(sizes.get(name) == size for name, size in expected.items()):
            return
        time.sleep(min(POLL_MAX_SECONDS, max(POLL_SECONDS, POLL_FRACTION * (time.perf_counter() - start))))
    raise CheckFailed(f"{'/'.join(folder)}: not all of {len(expected)} files on the server after {UPLOAD_TIMEOUT:.0f} s")


def _check_server_bytes(view: ServerView, folder: tuple[str, ...], sources: list[Path]) -> None:
    for source in sources:
        data = view.read(*folder, source.name)
        if (len(data), zlib.crc32(data)) != (source.stat().st_size, crc32_of(source)):
            raise CheckFailed(f"{'/'.join(folder)}/{source.name}: the server's bytes differ from the source")


def copy_tree_in(ctx: MountContext) -> dict[str, float]:
    sources = sorted(ctx.dataset.upload_small_dir.iterdir())
    folder = (UPLOADS, ctx.tag)
    start = time.perf_counter()
    _command("cp", "-r", str(ctx.dataset.upload_small_dir), str(ctx.mnt.joinpath(*folder)))
    _wait_on_server(ctx.view, folder, {p.name: p.stat().st_size for p in sources}, start)
    rate = len(sources) / (time.perf_counter() - start)
    _check_server_bytes(ctx.view, folder, sources)
    ctx.view.remove_folder(*folder)
    return {"cp_r": rate}


def copy_big_in(ctx: MountContext) -> dict[str, float]:
    source = ctx.dataset.upload_big
    folder = (UPLOADS, ctx.tag)
    ctx.mnt.joinpath(*folder).mkdir()
    start = time.perf_counter()
    _command("cp", str(source), str(ctx.mnt.joinpath(*folder)))
    _wait_on_server(ctx.view, folder, {source.name: source.stat().st_size}, start)
    rate = source.stat().st_size / MB / (time.perf_counter() - start)
    _check_server_bytes(ctx.view, folder, [source])
    ctx.view.remove_folder(*folder)
    return {"cp_big": rate}


def first_entry(ctx: MountContext) -> dict[str, float]:
    """Seconds until ``os.scandir`` of the big listing folder yields its first entry (cold): what a
    file manager or ``ls`` waits before it can show anything."""
    start = time.perf_counter()
    with os.scandir(ctx.mnt / LISTING) as entries:
        first = next(entries)
        elapsed = time.perf_counter() - start
    if first.name not in {Path(p).name for p in ctx.dataset.under(LISTING)}:
        raise CheckFailed(f"scandir {LISTING}: {first.name!r} is not in the dataset")
    return {"first_entry": elapsed}


def peak_memory(ctx: MountContext) -> dict[str, float]:
    """ls -l of the big listing folder, then the mount process's peak RSS."""
    out = _command("ls", "-l", str(ctx.mnt / LISTING))
    count = len(out.splitlines()) - 1
    if count != len(ctx.dataset.under(LISTING)):
        raise CheckFailed(f"ls -l {LISTING}: {count} entries, expected {len(ctx.dataset.under(LISTING))}")
    return {"peak_rss": peak_rss_bytes(ctx.pid) / MiB}


PROBES = [
    Probe("seq_read", seq_read),
    Probe("small_read_1", small_read_1),
    Probe("small_read_8", small_read_8),
    Probe("listing", listing),
    Probe("stat", stat_one),
    Probe("find", find_tree),
    Probe("cp_r", copy_tree_in),
    Probe("cp_big", copy_big_in),
    Probe("first_entry", first_entry),
]
MEMORY_PROBE = Probe("memory", peak_memory)
