"""Prometheus metrics of a mount (``--metrics-addr``), in one registry of their own.

Every metric is named here, so what a scrape shows is one list: the FUSE adapter times each
operation, the transport counts API requests, retries and bytes, the filesystem counts cache
answers, and the mount registers gauges read at scrape time (pending uploads, the read-ahead
budget). Nothing is served unless ``serve`` is called; counting costs a few microseconds per
operation either way.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

FUSE_OPERATIONS = Histogram(
    "encordfs_fuse_operation_seconds",
    "FUSE operations by type and how long they took",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
FUSE_ERRORS = Counter("encordfs_fuse_errors", "FUSE operations that failed, by type and errno", ["operation", "errno"], registry=REGISTRY)
NEGATIVE_LOOKUPS = Counter("encordfs_fuse_negative_lookups", "lookups answered 'no such name' (cached by the kernel)", registry=REGISTRY)
API_REQUESTS = Counter(
    "encordfs_api_requests",
    "HTTP requests by endpoint (an API operation, or 'signed URL GET/PUT/HEAD') and status ('error' when no answer came)",
    ["endpoint", "status"],
    registry=REGISTRY,
)
API_RETRIES = Counter("encordfs_api_retries", "requests sent again after a retryable failure, by endpoint", ["endpoint"], registry=REGISTRY)
DOWNLOADED_BYTES = Counter("encordfs_downloaded_bytes", "bytes downloaded from signed URLs", registry=REGISTRY)
UPLOADED_BYTES = Counter("encordfs_uploaded_bytes", "bytes uploaded to signed URLs", registry=REGISTRY)
READ_BYTES = Counter("encordfs_read_bytes", "bytes returned to read() calls on the mount", registry=REGISTRY)
WRITTEN_BYTES = Counter("encordfs_written_bytes", "bytes taken by write() calls on the mount", registry=REGISTRY)
CACHE = Counter(
    "encordfs_cache_lookups",
    "answers from a cache ('hit') or that needed the server ('miss'): "
    "'names' for name lookups, 'recent_reads' for bytes kept after an open, "
    "'content' for ranges of the content cache on disk",
    ["cache", "result"],
    registry=REGISTRY,
)
THUMBNAILS_REFUSED = Counter("encordfs_thumbnails_refused", "opens by thumbnailers refused by --thumbnails", registry=REGISTRY)


def gauge(name: str, documentation: str, read: Callable[[], float]) -> Gauge:
    """A gauge whose value is ``read()`` at each scrape (registered once per name)."""
    existing = _GAUGES.get(name)
    if existing is None:
        existing = _GAUGES[name] = Gauge(name, documentation, registry=REGISTRY)
    existing.set_function(read)
    return existing


_GAUGES: dict[str, Gauge] = {}


class Address(NamedTuple):
    host: str
    port: int


def parse_address(text: str) -> Address:
    """``PORT`` (on 127.0.0.1), ``HOST:PORT`` or ``[IPv6]:PORT``; ValueError otherwise."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    ipaddress.ip_address(host)  # an address, not a name: where it listens must be plain
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(text)
    return Address(host, number)


def serve(address: Address) -> None:
    """Serve ``/metrics`` (Prometheus text) on ``address`` from a daemon thread."""
    if not ipaddress.ip_address(address.host).is_loopback:
        log.warning("metrics are served on %s, reachable from other machines", address.host)
    start_http_server(address.port, addr=address.host, registry=REGISTRY)
    log.info("metrics on http://%s:%d/metrics", address.host, address.port)
