"""Fault injection for reliability tests, off by default: latency, 5xx, 429, dropped connections, slow bodies.

Faults apply to the API (``/v2``) and the data plane (``/blobs``), never to ``/_emulator``. A
seeded RNG makes a run reproducible for a given request order. The knobs can be changed at run time
with ``POST /_emulator/faults`` (see :mod:`encordfs.emulator.routes_admin`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
SLOW_BODY_CHUNK = 16 * 1024


class FaultConfigError(ValueError):
    """An unknown knob or a value out of range."""


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: float = 0.0  # added before every API answer
    blob_latency_ms: float = 0.0  # added before the first byte of every signed-URL answer
    error_rate: float = 0.0  # fraction of requests answered 500 or 503
    rate_429: float = 0.0  # fraction answered 429 with Retry-After
    retry_after: int = 1
    drop_rate: float = 0.0  # fraction whose connection is closed without an answer
    drop_after_rate: float = 0.0  # fraction processed in full whose answer is then lost (closed)
    slow_body_bps: int = 0  # cap on response body bytes per second (0 = no cap)
    scope: str = "all"  # "all", "api" or "blobs": which requests the rates apply to
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_429", "drop_rate", "drop_after_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FaultConfigError(f"{name} must be between 0 and 1")
        if self.drop_rate + self.drop_after_rate + self.rate_429 + self.error_rate > 1.0:
            raise FaultConfigError("drop_rate + drop_after_rate + rate_429 + error_rate must not exceed 1")
        for name in ("latency_ms", "blob_latency_ms", "slow_body_bps", "retry_after"):
            if getattr(self, name) < 0:
                raise FaultConfigError(f"{name} must not be negative")
        if self.scope not in ("all", "api", "blobs"):
            raise FaultConfigError("scope must be all, api or blobs")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise FaultConfigError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        try:
            return replace(base or cls(), **values)
        except TypeError as exc:
            raise FaultConfigError(str(exc)) from None

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Any]:
        """Knobs from ``ENCORDFS_FAULT_<KNOB>`` variables (e.g. ``ENCORDFS_FAULT_ERROR_RATE=0.1``)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"ENCORDFS_FAULT_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse_env(f.name, raw)
        return values

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


INT_KNOBS = frozenset({"retry_after", "slow_body_bps", "seed"})


def _parse_env(name: str, raw: str) -> Any:
    if name == "scope":
        return raw
    try:
        return int(raw) if name in INT_KNOBS else float(raw)
    except ValueError:
        raise FaultConfigError(f"ENCORDFS_FAULT_{name.upper()} must be a number, got {raw!r}") from None


def _kind(path: str) -> str | None:
    if path.startswith("/v2/"):
        return "api"
    if path.startswith("/blobs/"):
        return "blobs"
    return None


class FaultMiddleware:
    """Outermost ASGI layer; holds the live :class:`FaultConfig`."""

    def __init__(self, app: Any, config: FaultConfig) -> None:
        self.app = app
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        log.info("faults: %s", config)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = _kind(scope.get("path", "")) if scope["type"] == "http" else None
        config = self.config
        if kind is None or config == FaultConfig(seed=config.seed):
            await self.app(scope, receive, send)
            return
        delay = config.latency_ms if kind == "api" else config.blob_latency_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        if config.scope in ("all", kind):
            roll = self._rng.random()
            if roll < config.drop_rate:
                await _drop(send)
                return
            roll -= config.drop_rate
            if roll < config.drop_after_rate:
                await self.app(scope, receive, _swallowed(send))
                await _drop(send)
                return
            roll -= config.drop_after_rate
            if roll < config.rate_429:
                await _answer(send, 429, b'{"message": "rate limited (injected)"}', [(b"retry-after", str(config.retry_after).encode())])
                return
            roll -= config.rate_429
            if roll < config.error_rate:
                status = 503 if self._rng.random() < 0.5 else 500
                await _answer(send, status, b'{"message": "injected server error"}', [])
                return
        if config.slow_body_bps:
            send = _throttled(send, config.slow_body_bps)
        await self.app(scope, receive, send)


async def _answer(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Any) -> None:
    """Close the TCP connection without a status line (uvicorn's send is bound to its cycle object)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected dropped connection")
    transport.abort()
    for _ in range(3):
        await asyncio.sleep(0)


def _swallowed(send: Any) -> Any:
    """A send that discards the answer (the request is still processed in full)."""

    async def discard(message: dict[str, Any]) -> None:
        return None

    return discard


def _throttled(send: Any, bps: int) -> Any:
    async def slow_send(message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        for start in range(0, len(body), SLOW_BODY_CHUNK):
            chunk = body[start : start + SLOW_BODY_CHUNK]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(len(chunk) / bps)
        await send({"type": "http.response.body", "body": b"", "more_body": more})

    return slow_send
