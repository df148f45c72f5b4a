"""Runs the emulator under uvicorn on a socket we bind ourselves, so ``--port 0`` reports the real port
and ``listening on http://HOST:PORT`` is printed only once connections can be accepted."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from .request_log import redact_every_log_line


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this. Without it, a keep-alive request whose answer goes out in
    # two writes (headers, body) waits ~40 ms on Nagle + delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(app: Any, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    sock = bind(host, port)
    real_host, real_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )
    redact_every_log_line()  # uvicorn's handlers exist now
    server = uvicorn.Server(config)
    shown = f"[{real_host}]" if ":" in real_host else real_host
    print(f"listening on http://{shown}:{real_port}", flush=True)
    server.run(sockets=[sock])
