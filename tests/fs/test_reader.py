import os

import pytest
import trio

from encordfs.fs.reader import ReadAheadBudget, Reader

CHUNK = 1024
DATA = os.urandom(40 * CHUNK + 17)


class Source:
    def __init__(self) -> None:
        self.requests: list[tuple[int, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_next = False
        self.fail_at: set[int] = set()

    async def fetch(self, offset: int, length: int) -> bytes:
        self.requests.append((offset, length))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await trio.sleep(0.001)
            if self.fail_next or offset in self.fail_at:
                self.fail_next = False
                self.fail_at.discard(offset)
                raise OSError("flaky")
            return DATA[offset : offset + length]
        finally:
            self.in_flight -= 1


def reader(source: Source, nursery: trio.Nursery, **kwargs) -> Reader:
    return Reader(source.fetch, len(DATA), nursery, chunk_size=CHUNK, **kwargs)


async def test_sequential_reads_fetch_ahead_in_parallel(nursery) -> None:
    source = Source()
    r = reader(source, nursery, span=1, max_ahead=4, max_chunks=8)
    out = b"".join([await r.read(off, 512) for off in range(0, len(DATA), 512)])
    assert out == DATA
    assert source.max_in_flight > 1, "read-ahead chunks are fetched in parallel"
    assert len(source.requests) == len(set(source.requests)) == 41, "each chunk fetched once"
    assert len(r._chunks) <= 8, "memory stays bounded"


async def test_random_reads_fetch_only_what_they_touch(nursery) -> None:
    source = Source()
    r = reader(source, nursery)
    for off in (30 * CHUNK + 5, 3 * CHUNK, 17 * CHUNK + 1000):
        assert await r.read(off, 100) == DATA[off : off + 100]
    await trio.sleep(0.01)
    assert len(source.requests) <= 5
    assert await r.read(len(DATA) - 3, 100) == DATA[-3:]
    assert await r.read(len(DATA) + 10, 100) == b""


async def test_a_failed_chunk_raises_then_is_retried(nursery) -> None:
    source = Source()
    r = reader(source, nursery, max_ahead=0)
    source.fail_next = True
    with pytest.raises(OSError):
        await r.read(0, 10)
    assert await r.read(0, 10) == DATA[:10]


async def test_a_sequential_stream_fetches_the_window_in_spans_of_adjacent_chunks(nursery) -> None:
    source = Source()
    r = reader(source, nursery, span=4, max_ahead=8, max_chunks=12)
    out = b"".join([await r.read(off, 512) for off in range(0, len(DATA), 512)])
    assert out == DATA
    lengths = [length for _, length in source.requests]
    assert (0, CHUNK) in source.requests, "the first read waits for its own chunk only"
    assert sum(lengths) == len(DATA) and len({offset for offset, _ in source.requests}) == len(source.requests)
    assert lengths.count(4 * CHUNK) >= 8, "the window ahead comes in GETs of 4 chunks"
    assert source.max_in_flight > 1, "spans ahead are fetched in parallel"
    assert len(r._chunks) <= 12


async def test_random_reads_never_fetch_spans(nursery) -> None:
    source = Source()
    r = reader(source, nursery, span=4)
    for off in (30 * CHUNK + 5, 3 * CHUNK, 17 * CHUNK + 900, 9 * CHUNK):
        assert await r.read(off, 100) == DATA[off : off + 100]
    assert all(length == CHUNK for _, length in source.requests), source.requests


async def test_a_failed_span_fails_its_readers_once_then_every_chunk_is_fetched_again(nursery) -> None:
    source = Source()
    r = reader(source, nursery, span=4, max_ahead=8)
    source.fail_at.add(0)
    with pytest.raises(OSError):  # the two chunks this read needs come from the failing GET
        await r.read(0, CHUNK + 10)
    assert await r.read(0, CHUNK + 10) == DATA[: CHUNK + 10]
    assert await r.read(0, len(DATA)) == DATA
    assert source.requests.count((0, 2 * CHUNK)) == 2


async def test_a_read_across_chunks_joins_them_and_one_within_a_chunk_is_a_view(nursery) -> None:
    r = reader(Source(), nursery)
    assert await r.read(CHUNK - 10, 20) == DATA[CHUNK - 10 : CHUNK + 10]
    within = await r.read(CHUNK + 1, 10)
    assert isinstance(within, memoryview) and within == DATA[CHUNK + 1 : CHUNK + 11]


async def test_reads_of_a_stream_arriving_out_of_order_keep_the_window(nursery) -> None:
    source = Source()
    r = reader(source, nursery, span=2, max_ahead=8, max_chunks=12)
    for off in (0, 512, 1536, 1024, 2048, 3072, 2560):  # two pairs swapped, as concurrent reads may be
        assert await r.read(off, 512) == DATA[off : off + 512]
    assert r._ahead == 8, "the window kept growing"
    assert sum(length for _, length in source.requests) >= 9 * CHUNK, "the window ahead was fetched"


async def test_read_ahead_of_all_open_files_shares_one_budget(nursery) -> None:
    budget = ReadAheadBudget(4 * CHUNK)
    first, second = Source(), Source()
    a = reader(first, nursery, span=2, max_ahead=8, budget=budget)
    b = reader(second, nursery, span=2, max_ahead=8, budget=budget)
    assert await a.read(0, 512) == DATA[:512] and await a.read(512, 512) == DATA[512:1024]
    assert budget.used == 4 * CHUNK, "the first stream took the whole budget"
    assert await b.read(0, len(DATA)) == DATA
    assert sum(length for _, length in second.requests) == len(DATA), "no read-ahead: only what was read"
    a.close()
    await trio.sleep(0.01)
    assert budget.used == 0, "closing gives the budget back"
    c = reader(Source(), nursery, span=2, max_ahead=8, budget=budget)
    assert await c.read(0, 512) == DATA[:512]
    assert budget.used > 0, "a new stream reads ahead again"
    b.close()
    c.close()
    await trio.sleep(0.01)
    assert budget.used == 0
