"""A TCP proxy on 127.0.0.1 that delays the start of every HTTP request, for the "cloud" regime.

The kernel here has no ``netem`` qdisc (CONFIG_NET_SCH_NETEM is off), so rclone's side cannot get
its delay from ``tc``. Instead this proxy sits between rclone and ``rclone serve webdav`` and adds
the same delays the emulator's latency knobs add on the encordfs side: ``--api-ms`` before every
metadata request (PROPFIND, MKCOL, MOVE, DELETE, ...) and ``--data-ms`` before every GET/HEAD/PUT.
Bytes are forwarded in order and in both directions without other delay, so a large transfer pays
the delay once, as it does against the emulator. Answers are moved with ``splice(2)`` (no copy
through Python), so the proxy costs rclone's reads little CPU. Run: ``python -m bench.delayproxy -h``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import socket
import sys
import threading
import time
from pathlib import Path

from bench.procs import Child, free_port, wait_until

CHUNK = 256 * 1024
PIPE_BYTES = 1 << 20
DATA_METHODS = (b"GET ", b"HEAD ", b"PUT ")
API_METHODS = (b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"MOVE ", b"COPY ", b"DELETE ", b"LOCK ", b"UNLOCK ", b"OPTIONS ", b"POST ")


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


def _forward_requests(client: socket.socket, upstream: socket.socket, delays: Delays) -> None:
    """Client to server. A request's first chunk is read the moment it arrives (this thread waits
    in recv), held for its delay, then sent; the chunks after it queue in the socket meanwhile."""
    with contextlib.suppress(OSError):
        while chunk := client.recv(CHUNK):
            if wait := delays.before(chunk):
                time.sleep(wait)
            upstream.sendall(chunk)
        upstream.shutdown(socket.SHUT_WR)


def _forward_answers(upstream: socket.socket, client: socket.socket) -> None:
    """Server to client, undelayed, through a pipe with splice(2)."""
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        while moved := os.splice(upstream.fileno(), write_end, PIPE_BYTES):
            while moved:
                moved -= os.splice(read_end, client.fileno(), moved)
    except OSError:
        pass
    finally:
        os.close(read_end)
        os.close(write_end)


def _serve_one(client: socket.socket, upstream_port: int, delays: Delays) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    requests = threading.Thread(target=_forward_requests, args=(client, upstream, delays), daemon=True)
    requests.start()
    _forward_answers(upstream, client)
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_RDWR)  # the server is done: wake the request thread up
    requests.join()
    client.close()
    upstream.close()


def serve(port: int, upstream_port: int, delays: Delays) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=256)
    print(f"delay proxy listening on 127.0.0.1:{port} -> 127.0.0.1:{upstream_port}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve_one, args=(client, upstream_port, delays), daemon=True).start()


class DelayProxy:
    """This module run as our child process in front of ``127.0.0.1:upstream``."""

    def __init__(self, upstream: int, api_ms: float, data_ms: float, log_path: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        repo = str(Path(__file__).resolve().parent.parent)
        argv = [
            sys.executable,
            "-m",
            "bench.delayproxy",
            "--port",
            str(port),
            "--upstream",
            str(upstream),
            "--api-ms",
            str(api_ms),
            "--data-ms",
            str(data_ms),
        ]
        path = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
        self.child = Child("delay-proxy", argv, log_path, env={"PYTHONPATH": path})
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
        serve(args.port, args.upstream, Delays(args.api_ms, args.data_ms))


if __name__ == "__main__":
    main()
