import pytest
import trio
import trio.lowlevel
import trio.testing

from encordfs.fs.listing import Entry, Listing, Prefetched


async def source(n: int, pulled: list[int]):
    for i in range(n):
        await trio.sleep(0.001)
        pulled.append(i)
        yield Entry(f"e{i}", i + 2)


async def test_concurrent_readers_share_one_pass_in_order() -> None:
    pulled: list[int] = []
    completed: list[list[Entry]] = []
    listing = Listing(source(50, pulled), on_complete=completed.append)
    results: dict[int, Entry | None] = {}

    async def get(index: int) -> None:
        results[index] = await listing.get(index)

    async with trio.open_nursery() as nursery:
        for index in (30, 5, 49, 50, 0):
            nursery.start_soon(get, index)
    assert pulled == list(range(50)), "every entry is pulled once, in order"
    assert [results[i].name for i in (0, 5, 30, 49)] == ["e0", "e5", "e30", "e49"] and results[50] is None
    assert listing.done and completed == [listing.entries]


async def test_get_fetches_only_as_far_as_asked() -> None:
    pulled: list[int] = []
    listing = Listing(source(1000, pulled))
    assert (await listing.get(3)).name == "e3"
    assert len(pulled) == 4 and not listing.done
    await listing.aclose()


async def numbers(n: int, pulled: list[int], closed: list[bool], fail_at: int | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError("page 3 broke")
            await trio.lowlevel.checkpoint()
            pulled.append(i)
            yield i
    finally:
        closed.append(True)


async def test_prefetched_hands_over_batches_in_order_a_bounded_way_ahead() -> None:
    pulled: list[int] = []
    closed: list[bool] = []
    async with trio.open_nursery() as nursery, Prefetched(nursery, numbers(1000, pulled, closed), batch=10, ahead=3) as pages:
        batches = pages.batches()
        assert await batches.__anext__() == list(range(10))
        await trio.testing.wait_all_tasks_blocked()
        assert 10 + 3 * 10 <= len(pulled) <= 10 + 5 * 10, "a few batches ahead, not the whole source"
        await batches.aclose()
    assert closed == [True] and len(pulled) < 1000, "leaving stops the pull and closes the source"

    pulled.clear()
    async with trio.open_nursery() as nursery, Prefetched(nursery, numbers(25, pulled, closed), batch=10, ahead=3) as pages:
        assert [b async for b in pages.batches()] == [list(range(10)), list(range(10, 20)), list(range(20, 25))]


async def test_prefetched_raises_a_source_failure_to_the_consumer_not_the_nursery() -> None:
    closed: list[bool] = []
    async with trio.open_nursery() as nursery, Prefetched(nursery, numbers(100, [], closed, fail_at=35), batch=10, ahead=2) as pages:
        got = []
        with pytest.raises(ValueError, match="page 3 broke"):
            async for batch in pages.batches():
                got.extend(batch)
    assert got == list(range(30)) and closed == [True]


async def test_prefetched_ends_quietly_when_its_reader_is_gone() -> None:
    closed: list[bool] = []
    async with trio.open_nursery() as nursery:
        pages = Prefetched(nursery, numbers(1000, [], closed), batch=10, ahead=1)
        batches = pages.batches()
        assert await batches.__anext__() == list(range(10))
        await batches.aclose()  # the receiving end closes before the task is told to stop
        await trio.testing.wait_all_tasks_blocked()
    assert closed == [True], "the nursery ended without an error and the source was closed"
