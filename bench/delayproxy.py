"""A TCP proxy on 127.0.0.1 that delays the start of every HTTP request, for the "cloud" regime.

The kernel here has no ``netem`` qdisc (CONFIG_NET_SCH_NETEM is off), so rclone's side cannot get
its delay from ``tc``. Instead this proxy sits between rclone and ``rclone serve webdav`` and adds
the same delays the emulator's latency knobs add on the encordfs side: ``--api-ms`` before every
metadata request (PROPFIND, MKCOL, MOVE, DELETE, ...) and ``--data-ms`` before every GET/HEAD/PUT.
Bytes are forwarded in order and in both directions without other delay, so a large transfer pays
the delay once, as it does against the emulator. Run: ``python -m bench.delayproxy --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from pathlib import Path

from bench.procs import Child, free_port, wait_until

CHUNK = 256 * 1024
QUEUE_CHUNKS = 64
DATA_METHODS = (b"GET ", b"HEAD ", b"PUT ")
API_METHODS = (b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"MOVE ", b"COPY ", b"DELETE ", b"LOCK ", b"UNLOCK ",
               b"OPTIONS ", b"POST ")


class Delays:
    def __init__(self, api_ms: float, data_ms: float) -> None:
        self.api = api_ms / 1000
        self.data = data_ms / 1000

    def before(self, chunk: bytes) -> float:
        """The delay for a chunk the client sent: a request's start waits, a body's rest does not."""
        if chunk.startswith(DATA_METHODS):
            return self.data
        if chunk.startswith(API_METHODS):
            return self.api
        return 0.0


async def _delayed_copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delays: Delays) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

    async def feed() -> None:
        try:
            while chunk := await reader.read(CHUNK):
                await queue.put((loop.time() + delays.before(chunk), chunk))
        finally:
            await queue.put(None)

    feeder = asyncio.create_task(feed())
    due = 0.0
    try:
        while (entry := await queue.get()) is not None:
            due = max(due, entry[0])
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(entry[1])
            await writer.drain()
        writer.write_eof()
    finally:
        feeder.cancel()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(CHUNK):
        writer.write(chunk)
        await writer.drain()
    writer.write_eof()


async def _serve_one(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, upstream: int, delays: Delays) -> None:
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream, limit=CHUNK)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_delayed_copy(client_r, up_w, delays), _copy(up_r, client_w))
    except (ConnectionError, OSError):
        pass
    finally:
        for w in (up_w, client_w):
            with contextlib.suppress(Exception):
                w.close()


async def serve(port: int, upstream: int, delays: Delays) -> None:
    server = await asyncio.start_server(lambda r, w: _serve_one(r, w, upstream, delays), "127.0.0.1", port, limit=CHUNK)
    print(f"delay proxy listening on 127.0.0.1:{port} -> 127.0.0.1:{upstream}", flush=True)
    async with server:
        await server.serve_forever()


class DelayProxy:
    """This module run as our child process in front of ``127.0.0.1:upstream``."""

    def __init__(self, upstream: int, api_ms: float, data_ms: float, log_path: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        repo = str(Path(__file__).resolve().parent.parent)
        argv = [sys.executable, "-m", "bench.delayproxy", "--port", str(port), "--upstream", str(upstream),
                "--api-ms", str(api_ms), "--data-ms", str(data_ms)]
        self.child = Child("delay-proxy", argv, log_path, env={"PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))})
        wait_until(lambda: _accepts(port), 15, "delay proxy", self.child)

    def stop(self) -> None:
        self.child.stop()


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    parser.add_argument("--upstream", type=int, required=True, help="forward to 127.0.0.1:PORT")
    parser.add_argument("--api-ms", type=float, default=30.0)
    parser.add_argument("--data-ms", type=float, default=20.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.upstream, Delays(args.api_ms, args.data_ms)))


if __name__ == "__main__":
    main()
