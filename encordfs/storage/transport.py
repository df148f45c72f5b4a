"""One HTTP connection pool and the retry loop every request goes through.

API calls (signed, JSON) and data-plane calls (signed URLs: no Encord auth) share the pool and
the same rules: retry 429 (honouring Retry-After) always; retry 500/502/503/504 and dropped or
timed-out connections only when the call is idempotent; a request that never reached the server
(connect failure) is safe to retry either way. Everything else raises a specific StorageError.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx
import trio

from encordfs import __version__ as _version
from encordfs import metrics
from encordfs.storage import log_redaction
from encordfs.storage.auth import Credentials
from encordfs.storage.breaker import CircuitBreaker
from encordfs.storage.errors import RateLimited, ServerError, StorageError, is_outage
from encordfs.storage.retry import RETRYABLE_STATUSES, RetryPolicy
from encordfs.storage.status import describe, error_for_exception, error_for_response

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what to raise, and whether trying again is safe."""

    error: StorageError
    retryable: bool
    retry_after: float | None = None

    @property
    def outage(self) -> bool:
        return is_outage(self.error)

T = TypeVar("T")
QueryParams = Sequence[tuple[str, str]]

API_PREFIX = "/v2/public/"
USER_AGENT = f"encordfs/{_version} httpx/{httpx.__version__}"

# httpcore reads a socket 64 KiB at a time and runs its whole parser stack for each read; 256 KiB
# reads take about a sixth less CPU per byte of a signed-URL GET (the bound of sequential reads).
# It has no setting for this, only the class attribute.
SOCKET_READ_SIZE = 256 * 1024


def _read_sockets_in_big_pieces() -> None:
    connection = httpcore.AsyncHTTP11Connection
    if getattr(connection, "READ_NUM_BYTES", SOCKET_READ_SIZE) < SOCKET_READ_SIZE:
        connection.READ_NUM_BYTES = SOCKET_READ_SIZE


# The request never reached the server: repeating it cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


SIGNED_URL = "signed URL"  # the metrics' endpoint label of data-plane requests, before the method


def _count_bytes(endpoint: str, request: httpx.Request, response: httpx.Response) -> None:
    """Bytes moved by a successful request to a signed URL (API calls are counted as requests)."""
    if not endpoint.startswith(SIGNED_URL):
        return
    if request.method == "PUT":
        metrics.UPLOADED_BYTES.inc(int(request.headers.get("content-length", 0)))
    elif request.method == "GET":
        metrics.DOWNLOADED_BYTES.inc(response.num_bytes_downloaded)


def _api_success(status: int) -> bool:
    """Like the SDK: only 200 and 204 count as success for API calls (201 is an error)."""
    return status in (200, 204)


def _any_2xx(status: int) -> bool:
    return 200 <= status < 300


async def _read_json(response: httpx.Response) -> Any:
    body = await response.aread()
    if response.status_code == 204 or not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise ServerError(describe("decode", response.request.url, "response is not JSON"), status=response.status_code) from None


class Transport:
    """Owns the ``httpx.AsyncClient``; use as an async context manager."""

    def __init__(
        self,
        credentials: Credentials,
        domain: str,
        *,
        max_connections: int,
        timeout: float,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        log_redaction.install()
        _read_sockets_in_big_pieces()
        self.retry = retry
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._auth = credentials.httpx_auth()
        self._base = httpx.URL(domain.rstrip("/") + "/")
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            transport=transport,
        )

    async def __aenter__(self) -> Transport:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._client.__aexit__(*exc_info)

    async def aclose(self) -> None:
        await self._client.aclose()

    def api_url(self, path: str) -> httpx.URL:
        """Like the SDK, the API lives at the origin root whatever path the domain has."""
        return self._base.join(API_PREFIX + path.lstrip("/"))

    # --- API calls -----------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: QueryParams = (),
        body: Any = None,
        idempotent: bool = True,
        read_timeout: float | None = None,
    ) -> Any:
        """One signed JSON API call; returns the decoded JSON (None for an empty answer).

        ``body`` is sent as JSON unless it is None; POST/PATCH/DELETE without a body send
        ``Content-Length: 0`` like the SDK.
        """
        url = self.api_url(path)
        has_body = body is not None
        content = json.dumps(body).encode("utf-8") if has_body else (b"" if method != "GET" else None)
        headers = {"Content-Type": "application/json"} if has_body else {}
        timeout = httpx.Timeout(self.timeout, read=read_timeout) if read_timeout else None

        def build() -> httpx.Request:
            extra = {**headers, "X-Cloud-Trace-Context": f"{secrets.token_hex(16)}/1;o=1"}
            request = self._client.build_request(method, url, params=list(params), content=content, headers=extra)
            if timeout is not None:
                request.extensions["timeout"] = timeout.as_dict()
            return request

        return await self.send(
            build, operation=operation, idempotent=idempotent, consume=_read_json, auth=self._auth, accept=_api_success,
            endpoint=operation,
        )

    # --- data plane (signed URLs) --------------------------------------------------------
    async def data_request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        consume: Callable[[httpx.Response], Awaitable[T]],
        headers: Mapping[str, str] | None = None,
        content: Callable[[], Any] | None = None,
        accept: Callable[[int], bool] = _any_2xx,
    ) -> T:
        """A request to a signed URL: no Encord auth; always idempotent (GET/HEAD/PUT of one object).

        ``content`` builds a fresh body for each attempt (an upload stream cannot be replayed).
        """

        def build() -> httpx.Request:
            return self._client.build_request(method, url, headers=dict(headers or {}), content=content() if content else None)

        return await self.send(
            build, operation=operation, idempotent=True, consume=consume, auth=None, accept=accept, endpoint=f"{SIGNED_URL} {method}"
        )

    # --- the retry loop ------------------------------------------------------------------
    async def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        operation: str,
        idempotent: bool,
        consume: Callable[[httpx.Response], Awaitable[T]],
        auth: httpx.Auth | None,
        accept: Callable[[int], bool],
        endpoint: str = "",
    ) -> T:
        """Send ``build()`` until ``consume`` returns or the failure may not (or need not) be retried.
        While the server is down (see ``CircuitBreaker``) fail at once, or send a single probe.
        ``endpoint`` labels the request in the metrics (a fixed string: the API operation)."""
        endpoint = endpoint or operation
        started = trio.current_time()
        attempt = 0
        request = build()
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        probe = not self.breaker.admit(origin, operation)
        while True:
            result = await self._attempt(request, operation, idempotent, consume, auth, accept, endpoint)
            if not isinstance(result, _Failure):
                self.breaker.answered(origin)
                return result
            if not result.outage:
                self.breaker.answered(origin)
            attempt += 1
            delay = self.retry.backoff(attempt - 1, result.retry_after)
            known_down = result.outage and self.breaker.is_down(origin)  # another request found out meanwhile
            if probe or known_down or not result.retryable or not self._may_retry(attempt, started, delay, result.retry_after):
                if result.outage and (probe or result.retryable):  # retries exhausted, or the probe failed
                    self.breaker.failed(origin, result.error)
                raise result.error
            metrics.API_RETRIES.labels(endpoint).inc()
            log.warning("%s; retrying in %.2fs (attempt %d of %d)", result.error, delay, attempt + 1, self.retry.max_attempts)
            await trio.sleep(delay)
            request = build()

    async def _attempt(
        self,
        request: httpx.Request,
        operation: str,
        idempotent: bool,
        consume: Callable[[httpx.Response], Awaitable[T]],
        auth: httpx.Auth | None,
        accept: Callable[[int], bool],
        endpoint: str,
    ) -> T | _Failure:
        try:
            response = await self._client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True)
        except httpx.HTTPError as exc:
            metrics.API_REQUESTS.labels(endpoint, "error").inc()
            return _Failure(error_for_exception(operation, request.url, exc), idempotent or isinstance(exc, _NOT_SENT))
        metrics.API_REQUESTS.labels(endpoint, str(response.status_code)).inc()
        try:
            if accept(response.status_code):
                consumed = await consume(response)
                _count_bytes(endpoint, request, response)
                return consumed
            await response.aread()
        except httpx.HTTPError as exc:  # the body broke off mid-way
            return _Failure(error_for_exception(operation, request.url, exc), idempotent)
        finally:
            await response.aclose()
        error = error_for_response(operation, response)
        status = response.status_code
        retryable = status == 429 or (idempotent and status in RETRYABLE_STATUSES)
        return _Failure(error, retryable, error.retry_after if isinstance(error, RateLimited) else None)

    def _may_retry(self, attempts_made: int, started: float, delay: float, retry_after: float | None) -> bool:
        policy = self.retry
        if attempts_made >= policy.max_attempts:
            return False
        if retry_after is not None and retry_after > policy.max_retry_after:
            return False
        return trio.current_time() - started + delay <= policy.max_total

