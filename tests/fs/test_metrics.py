"""--metrics-addr on a real mount: the endpoint scraped during a copy, and what it counts."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import encordfs

pytestmark = pytest.mark.fuse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, got), v in samples.items() if n == name and all((k, x) in got for k, x in labels.items()))


def test_scraped_during_a_copy(emulator, fs_root, mount_fs, tmp_path) -> None:
    port = free_port()
    mnt = mount_fs(emulator, fs_root.uuid, "--metrics-addr", f"127.0.0.1:{port}").path
    source = tmp_path / "big.txt"
    source.write_bytes(b"".join(f"line {i:08d}\n".encode() for i in range(2_000_000)))  # 28 MB
    copy = threading.Thread(target=lambda: subprocess.run(["cp", str(source), str(mnt / "big.txt")], check=True))
    scrapes = []
    with emulator.faults(latency_ms=200):
        copy.start()
        while copy.is_alive():
            scrapes.append(scrape(port))
            time.sleep(0.05)
        copy.join()
    during = [s for s in scrapes if total(s, "encordfs_fuse_operation_seconds_count", operation="write") > 0]
    assert during, "a scrape during the copy saw its writes"
    assert total(during[0], "encordfs_written_bytes_total") > 0

    deadline = time.monotonic() + 30
    while (after := scrape(port)) and total(after, "encordfs_uploads_pending") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert total(after, "encordfs_uploads_pending") == 0 and total(after, "encordfs_uploads_failed") == 0
    assert total(after, "encordfs_uploaded_bytes_total") >= source.stat().st_size
    assert total(after, "encordfs_written_bytes_total") == source.stat().st_size
    assert total(after, "encordfs_api_requests_total", endpoint="start upload job") >= 1
    assert total(after, "encordfs_api_requests_total", endpoint="signed URL PUT", status="200") >= 1
    assert total(after, "encordfs_fuse_operation_seconds_bucket", operation="write", le="+Inf") == total(
        after, "encordfs_fuse_operation_seconds_count", operation="write"
    )
    assert total(after, "encordfs_read_ahead_budget_bytes") > 0

    data = (mnt / "big.txt").read_bytes()
    assert data == source.read_bytes()
    read = scrape(port)
    assert total(read, "encordfs_read_bytes_total") >= len(data)
    assert total(read, "encordfs_cache_lookups_total", cache="names") > 0


def test_a_missing_name_is_asked_once_by_the_kernel(emulator, fs_root, mount_fs) -> None:
    port = free_port()
    mnt = mount_fs(emulator, fs_root.uuid, "--metrics-addr", str(port), "-o", "negative_ttl=30").path
    before = scrape(port)
    for _ in range(20):
        assert not (mnt / ".Trash-0").exists()
    after = scrape(port)
    lookups = total(after, "encordfs_fuse_operation_seconds_count", operation="lookup") - total(
        before, "encordfs_fuse_operation_seconds_count", operation="lookup"
    )
    assert lookups == 1, "the kernel kept the negative entry"
    assert total(after, "encordfs_fuse_negative_lookups_total") - total(before, "encordfs_fuse_negative_lookups_total") == 1


def test_a_metrics_address_in_use_stops_the_mount(emulator, fs_root, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "mnt").mkdir()
        result = encordfs(
            "mount",
            str(tmp_path / "mnt"),
            "--domain",
            emulator.url,
            "--ssh-key",
            str(emulator.key_path),
            "--root",
            str(fs_root.uuid),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--metrics-addr",
            f"127.0.0.1:{port}",
        )
    assert result.returncode == 1 and "cannot serve metrics" in result.stderr
    assert not os.path.ismount(tmp_path / "mnt")
    bad = encordfs("mount", str(tmp_path / "mnt"), "--metrics-addr", "localhost:x")
    assert bad.returncode == 2
