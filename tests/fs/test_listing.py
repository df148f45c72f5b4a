import trio

from encordfs.fs.listing import Entry, Listing


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
