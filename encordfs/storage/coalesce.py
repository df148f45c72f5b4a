"""Coalescing concurrent requests into batches, one batch per key at a time.

A request that finds nothing running for its key runs at once (after ``gather``), alone; requests
that arrive while a batch for their key is running wait and go together in the next one (up to
``max_batch``). Under load (many uploads in flight) it turns N round trips into a few.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
T = TypeVar("T")

# ``run(key, requests)`` answers one result per request, in order; an exception instance in the
# list fails only its own request, an exception raised fails the whole batch.
STREAM_SECONDS = 1.0
MAX_KEYS_SEEN = 10_000

BatchRunner = Callable[[K, list[R]], Awaitable[list["T | Exception"]]]


@dataclass(eq=False)
class _Waiter(Generic[R, T]):
    request: R
    wake: trio.Event = field(default_factory=trio.Event)
    settled: bool = False
    result: T | None = None
    error: Exception | None = None
    lead: bool = False  # this waiter's task runs the next batch for its key

    def settle(self, result: T | None, error: Exception | None) -> None:
        self.result, self.error, self.settled = result, error, True
        self.wake.set()


@dataclass(eq=False)
class _Key(Generic[R, T]):
    queue: list[_Waiter[R, T]] = field(default_factory=list)
    running: bool = False
    streaming: bool = False  # requests for this key keep coming: a batch may gather


class Coalescer(Generic[K, R, T]):
    def __init__(
        self,
        run: BatchRunner[K, R, T],
        max_batch: int,
        gather: float = 0.0,
        company: Callable[[K], bool] | None = None,
        max_gather: float | None = None,
    ) -> None:
        """``gather``: seconds a batch waits for company before it runs, when its key had a
        request within the last ``STREAM_SECONDS`` (a stream of requests a little slower than
        one round trip then makes batches too; a lone request is not delayed) and, if given,
        ``company(key)`` says more requests for the key are on their way (a caller that submits
        one request at a time, waiting for each, never has company: it is never delayed).
        ``max_gather``: while requests keep joining (one joined during the last ``gather``), the
        batch waits another ``gather``, up to this long in all: a steady stream makes a few big
        batches instead of many small ones, and its end costs one ``gather`` as before."""
        self._run = run
        self._max = max_batch
        self._gather = gather
        self._max_gather = gather if max_gather is None else max_gather
        self._company = company
        self._keys: dict[K, _Key[R, T]] = {}
        self._last_seen: dict[K, float] = {}

    async def submit(self, key: K, request: R) -> T:
        state = self._keys.setdefault(key, _Key())
        now, last = trio.current_time(), self._last_seen.pop(key, None)
        self._last_seen[key] = now  # re-inserted: the dict stays ordered by last use
        state.streaming = last is not None and now - last < STREAM_SECONDS
        while len(self._last_seen) > MAX_KEYS_SEEN:
            del self._last_seen[next(iter(self._last_seen))]
        waiter: _Waiter[R, T] = _Waiter(request)
        state.queue.append(waiter)
        try:
            self._hand_over(key, state)
            while not waiter.settled:
                if waiter.lead:
                    await self._run_batch(key, state)
                else:
                    await waiter.wake.wait()
                    waiter.wake = trio.Event()
        finally:
            if waiter in state.queue:  # cancelled before its batch ran
                state.queue.remove(waiter)
            if waiter.lead:
                waiter.lead = state.running = False
            self._hand_over(key, state)
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]

    async def _run_batch(self, key: K, state: _Key[R, T]) -> None:
        if self._gather and state.streaming and len(state.queue) < self._max and self._expects_company(key):
            await self._gathered(state)
        batch = state.queue[: self._max]
        del state.queue[: self._max]
        try:
            results = await self._run_requests(key, batch)
        except BaseException:  # cancelled: the others go again in the next batch
            state.queue[:0] = [w for w in batch if not w.settled]
            raise
        for waiter, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                waiter.settle(None, result)
            else:
                waiter.settle(result, None)

    async def _gathered(self, state: _Key[R, T]) -> None:
        waited, before = 0.0, 0
        while waited < self._max_gather and before < len(state.queue) < self._max:
            before = len(state.queue)
            await trio.sleep(self._gather)
            waited += self._gather

    def _expects_company(self, key: K) -> bool:
        return self._company is None or self._company(key)

    async def _run_requests(self, key: K, batch: list[_Waiter[R, T]]) -> list[T | Exception]:
        try:
            return await self._run(key, [w.request for w in batch])
        except Exception as exc:
            return [exc] * len(batch)

    def _hand_over(self, key: K, state: _Key[R, T]) -> None:
        """With no batch running, the first waiter leads the next one; with none left the key is idle."""
        if state.running:
            return
        if state.queue:
            state.running = True
            state.queue[0].lead = True
            state.queue[0].wake.set()
        elif self._keys.get(key) is state:
            del self._keys[key]
