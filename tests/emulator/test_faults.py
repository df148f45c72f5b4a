"""Fault injection: off by default, switchable at run time, reproducible with a seed."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest


def statuses(signed_api: Any, n: int) -> list[int]:
    return [signed_api.call("GET", "storage/folders", params={"pageSize": 1}).status_code for _ in range(n)]


def test_off_by_default(emulator: Any, signed_api: Any) -> None:
    assert httpx.get(emulator.url + "/_emulator/faults").json()["error_rate"] == 0
    assert set(statuses(signed_api, 20)) == {200}


def test_error_rate_gives_500_and_503_with_a_message(emulator: Any, signed_api: Any) -> None:
    with emulator.faults(error_rate=1.0, seed=3):
        responses = [signed_api.call("GET", "storage/folders") for _ in range(12)]
    assert {r.status_code for r in responses} == {500, 503}
    assert all("injected" in r.json()["message"] for r in responses)
    assert set(statuses(signed_api, 3)) == {200}


def test_rates_are_reproducible_with_a_seed(emulator: Any, signed_api: Any) -> None:
    runs = []
    for _ in range(2):
        with emulator.faults(error_rate=0.3, rate_429=0.2, seed=42):
            runs.append(statuses(signed_api, 30))
    assert runs[0] == runs[1]
    assert {200, 429} <= set(runs[0]) and set(runs[0]) & {500, 503}


def test_429_carries_retry_after(emulator: Any, signed_api: Any) -> None:
    with emulator.faults(rate_429=1.0, retry_after=7):
        response = signed_api.call("GET", "storage/folders")
    assert response.status_code == 429 and response.headers["retry-after"] == "7"


def test_dropped_connections(emulator: Any, signed_api: Any) -> None:
    with emulator.faults(drop_rate=1.0), pytest.raises(httpx.TransportError):
        httpx.get(emulator.url + "/v2/public/storage/folders", timeout=5)


def test_drop_after_processing(emulator: Any, signed_api: Any) -> None:
    name = f"lost-answer-{time.time_ns()}"
    with emulator.faults(drop_after_rate=1.0, scope="api"), pytest.raises(httpx.TransportError):
        signed_api.call("POST", "storage/folders", json={"name": name})
    found = signed_api.ok("GET", "storage/search/folders", params={"search": name})["results"]
    assert [f["name"] for f in found] == [name]


def test_latency_and_scope(emulator: Any, signed_api: Any) -> None:
    folder = signed_api.create_folder("latency")
    url = signed_api.signed_url(signed_api.upload(folder, b"x" * 1000, "x.txt"))
    with emulator.faults(latency_ms=150, blob_latency_ms=0, error_rate=1.0, scope="blobs"):
        started = time.monotonic()
        assert signed_api.call("GET", "storage/folders").status_code == 200
        assert time.monotonic() - started >= 0.15
        assert httpx.get(url).status_code in (500, 503)
    with emulator.faults(blob_latency_ms=120):
        started = time.monotonic()
        assert httpx.get(url).status_code == 200
        assert time.monotonic() - started >= 0.12


def test_slow_body(emulator: Any, signed_api: Any) -> None:
    folder = signed_api.create_folder("slow")
    data = b"slow body line\n" * 3700  # 55500 bytes
    url = signed_api.signed_url(signed_api.upload(folder, data, "slow.txt"))
    with emulator.faults(slow_body_bps=100_000, scope="blobs"):
        started = time.monotonic()
        body = httpx.get(url, timeout=10).content
        elapsed = time.monotonic() - started
    assert body == data and elapsed >= 0.4


def test_bad_knobs_are_400(emulator: Any) -> None:
    for knobs in ({"error_rate": 2}, {"nonsense": 1}, {"scope": "everything"}, {"error_rate": 0.6, "drop_rate": 0.6}):
        response = httpx.post(emulator.url + "/_emulator/faults", json=knobs)
        assert response.status_code == 400 and response.json()["message"]


def test_flags_and_env(emulator_factory: Any, make_signed_api: Any) -> None:
    running = emulator_factory("--fault-429-rate", "1", env={"ENCORDFS_FAULT_RETRY_AFTER": "9"})
    config = httpx.get(running.url + "/_emulator/faults").json()
    assert (config["rate_429"], config["retry_after"]) == (1.0, 9)
    response = make_signed_api(running).call("GET", "storage/folders")
    assert response.status_code == 429 and response.headers["retry-after"] == "9"
