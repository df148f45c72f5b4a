"""The cloud regime's delay proxy: each request waits its kind's delay, and bytes pass intact."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bench.delayproxy import DelayProxy

BODY = bytes(range(256)) * 4096  # 1 MiB
API_MS, DATA_MS = 250.0, 100.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(BODY)

    def do_PROPFIND(self) -> None:
        self._answer(b"<multistatus/>")

    def do_PUT(self) -> None:
        received = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(f"{len(received)} {zlib.crc32(received)}".encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy_url(tmp_path: Path) -> Iterator[str]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    proxy = DelayProxy(upstream.server_address[1], API_MS, DATA_MS, tmp_path / "proxy.log")
    try:
        yield proxy.url
    finally:
        proxy.stop()
        upstream.shutdown()
        upstream.server_close()


def _timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = client.request(method, url, **kwargs)
    return time.perf_counter() - start, response


def test_each_request_waits_its_kind_of_delay_and_bytes_pass_intact(proxy_url: str) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(2):  # a fresh connection, then a reused one
            get_time, got = _timed(client, "GET", proxy_url + "/f")
            assert got.content == BODY
            api_time, listed = _timed(client, "PROPFIND", proxy_url + "/", headers={"Depth": "1"})
            assert listed.content == b"<multistatus/>"
            assert get_time >= DATA_MS / 1000
            assert api_time >= API_MS / 1000
            assert get_time < api_time
        put_time, put = _timed(client, "PUT", proxy_url + "/up", content=BODY)
        assert put.text == f"{len(BODY)} {zlib.crc32(BODY)}"
        assert put_time >= DATA_MS / 1000
