"""The raw limits: what curl and httpx (on trio) get straight from each server, no mount between.

For the emulator the signed URLs are fetched beforehand (untimed), so the read figures are the data
plane alone; a listing is the paged API listing; "stat" is one item GET by UUID; an upload is the
whole protocol (one slot request, the PUTs 8 at a time, one upload job until DONE). For rclone's
WebDAV server the same figures are plain GETs, PROPFIND (Depth 1 for the folder, 0 for one file)
and PUTs 8 at a time.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import trio

from bench.dataset import FLAT, IMAGES, UPLOADS, VIDEO, Dataset, FileFacts
from bench.encord_api import PUT_WORKERS, EncordApi
from bench.load import video_item
from bench.views import WebdavView
from bench.workloads import MB, CheckFailed

RAW_BLOCK = 1 << 20


@dataclass
class RawTarget:
    """One server as the raw measurements see it."""

    name: str
    video_url: str
    small_urls: dict[str, str]  # dataset path -> URL
    list_flat: Callable[[], int]  # returns how many entries it listed
    stat_one: Callable[[], None]
    # (files, item type, tag) -> seconds spent uploading, not preparing or cleaning up after
    upload: Callable[[list[Path], str, str], float]
    curl_list_argv: list[str] | None = None


def emulator_target(api: EncordApi, dataset: Dataset) -> RawTarget:
    images = api.folder_by_path(IMAGES)
    flat = api.folder_by_path(FLAT)
    small = {f"{IMAGES}/{i['name']}": i["signedUrl"] for i in api.items(images, sign_urls=True)}
    one = api.items(flat)[0]["uuid"]

    def upload(paths: list[Path], item_type: str, tag: str) -> float:
        parent = api.folder_by_path(UPLOADS)
        folder = api.create_folder(f"raw-{tag}", parent)
        try:
            return timed(lambda: api.upload(folder, paths, item_type))
        finally:
            api.delete_folder(folder)

    def stat() -> None:
        api.item(one, sign_url=False)

    return RawTarget("emulator", video_item(api)["signedUrl"], small, lambda: len(api.items(flat)), stat, upload)


def webdav_target(url: str, dataset: Dataset) -> RawTarget:
    view = WebdavView(url)
    small = {rel: f"{url}/{quote(rel)}" for rel in dataset.under(IMAGES)}
    one = dataset.under(FLAT)[0]

    def stat() -> None:
        view.http.request("PROPFIND", f"{url}/{quote(one)}", headers={"Depth": "0"}).raise_for_status()

    def put(path: Path, tag: str) -> None:
        with path.open("rb") as body:
            view.http.put(f"{url}/{UPLOADS}/raw-{tag}/{quote(path.name)}", content=body,
                          headers={"Content-Length": str(path.stat().st_size)}).raise_for_status()

    def put_all(paths: list[Path], tag: str) -> None:
        with ThreadPoolExecutor(PUT_WORKERS) as pool:
            list(pool.map(lambda path: put(path, tag), paths))

    def upload(paths: list[Path], item_type: str, tag: str) -> float:
        view.make_folder(UPLOADS, f"raw-{tag}")
        try:
            return timed(lambda: put_all(paths, tag))
        finally:
            view.remove_folder(UPLOADS, f"raw-{tag}")

    curl_list = ["curl", "-sf", "-X", "PROPFIND", "-H", "Depth: 1", "-o", "/dev/null", f"{url}/{FLAT}/"]
    return RawTarget("webdav", f"{url}/{quote(VIDEO)}", small, lambda: len(view.sizes(FLAT)), stat, upload, curl_list)


# --- httpx on trio --------------------------------------------------------------------------------
async def _fetch_checked(client: httpx.AsyncClient, url: str, rel: str, facts: FileFacts) -> int:
    crc, size = 0, 0
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        async for block in response.aiter_raw(RAW_BLOCK):
            crc = zlib.crc32(block, crc)
            size += len(block)
    if (size, crc) != (facts.size, facts.crc32):
        raise CheckFailed(f"raw GET {rel}: {size} bytes crc {crc:08x}, expected {facts.size} crc {facts.crc32:08x}")
    return size


def httpx_seq_read(target: RawTarget, dataset: Dataset) -> float:
    async def run() -> float:
        async with httpx.AsyncClient(timeout=600) as client:
            start = time.perf_counter()
            size = await _fetch_checked(client, target.video_url, VIDEO, dataset.files[VIDEO])
            return size / MB / (time.perf_counter() - start)

    return trio.run(run)


def httpx_small_reads(target: RawTarget, dataset: Dataset, readers: int) -> float:
    todo = list(target.small_urls.items())

    async def worker(client: httpx.AsyncClient) -> None:
        while todo:
            rel, url = todo.pop()
            await _fetch_checked(client, url, rel, dataset.files[rel])

    async def run() -> float:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=readers)) as client:
            count = len(todo)
            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for _ in range(readers):
                    nursery.start_soon(worker, client)
            return count / (time.perf_counter() - start)

    try:
        return trio.run(run)
    except ExceptionGroup as group:  # a nursery wraps its tasks' errors; report the first one
        raise _first_error(group) from group


def _first_error(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def listing(target: RawTarget, dataset: Dataset) -> float:
    start = time.perf_counter()
    count = target.list_flat()
    elapsed = time.perf_counter() - start
    if count != len(dataset.under(FLAT)):
        raise CheckFailed(f"raw listing of {FLAT} on {target.name}: {count} entries, expected {len(dataset.under(FLAT))}")
    return elapsed


def upload_big(target: RawTarget, dataset: Dataset, tag: str) -> float:
    source = dataset.upload_big
    return source.stat().st_size / MB / target.upload([source], "video", f"big-{tag}")


def upload_small(target: RawTarget, dataset: Dataset, tag: str) -> float:
    sources = sorted(dataset.upload_small_dir.iterdir())
    return len(sources) / target.upload(sources, "image", f"small-{tag}")


# --- curl -----------------------------------------------------------------------------------------
def curl_seq_read(target: RawTarget, dataset: Dataset) -> float:
    out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", target.video_url],
                         capture_output=True, text=True, check=True).stdout.split()
    size, seconds = int(out[0]), float(out[1])
    if size != dataset.files[VIDEO].size:
        raise CheckFailed(f"curl {target.name}: {size} bytes, expected {dataset.files[VIDEO].size}")
    return size / MB / seconds


def curl_small_reads(target: RawTarget, dataset: Dataset, readers: int) -> float:
    """One curl process (keep-alive) for all files; ``--parallel`` when readers > 1."""
    with tempfile.NamedTemporaryFile("w", suffix=".curlrc") as config:
        for url in target.small_urls.values():
            config.write(f'url = "{url}"\noutput = "/dev/null"\n')
        config.flush()
        parallel = ["--parallel", "--parallel-max", str(readers)] if readers > 1 else []
        start = time.perf_counter()
        out = subprocess.run(["curl", "-sf", *parallel, "-w", "%{size_download}\n", "-K", config.name],
                             capture_output=True, text=True, check=True).stdout
        elapsed = time.perf_counter() - start
    sizes = [int(line) for line in out.split()]
    expected = sum(dataset.files[rel].size for rel in target.small_urls)
    if len(sizes) != len(target.small_urls) or sum(sizes) != expected:
        raise CheckFailed(f"curl {target.name}: {len(sizes)} files, {sum(sizes)} bytes; expected {expected}")
    return len(sizes) / elapsed


def curl_listing(target: RawTarget) -> float | None:
    if target.curl_list_argv is None:
        return None
    return timed(lambda: subprocess.run(target.curl_list_argv, check=True))
