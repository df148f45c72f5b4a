from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from encordfs.fs import names

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "title",
    ["plain.jpg", "a/b", "nul\0byte", ".", "..", "", "100%.jpg", "%25", "%2F", "%2E", "x%~12345678.jpg", "%", "%~", "ü/ö"],
)
def test_escape_round_trips_and_makes_valid_names(title: str) -> None:
    name = names.escape(title)
    assert names.unescape(name) == title
    assert "/" not in name and "\0" not in name and name not in (".", "..", "")
    assert "%~" not in name or title == ""  # the empty title is spelled "%~", never produced otherwise
    assert names.parse_suffix(name) is None


def test_common_names_are_untouched() -> None:
    for title in ("photo.jpg", "100% done.txt", "a b (1).png", "ünïcode.txt"):
        assert names.escape(title) == title


def c(title: str, *, folder: bool = False, age: int = 0, uuid: UUID | None = None) -> names.Candidate:
    return names.Candidate(uuid or uuid4(), title, folder, T0 + timedelta(seconds=age))


def test_duplicates_get_uuid_suffixes_and_the_oldest_keeps_the_name() -> None:
    old, new = c("a.jpg", age=1), c("a.jpg", age=2)
    named = dict(names.assign_names([new, old]))
    assert named["a.jpg"] is old
    suffixed = f"a%~{new.uuid.hex[:8]}.jpg"
    assert named[suffixed] is new
    parsed = names.parse_suffix(suffixed)
    assert parsed == names.SuffixedName("a", new.uuid.hex[:8], ".jpg")
    assert parsed.search_text == "a"


def test_a_folder_wins_a_name_clash_with_an_item() -> None:
    item, folder = c("x", age=0), c("x", folder=True, age=5)
    named = dict(names.assign_names([item, folder]))
    assert named["x"] is folder and named[f"x%~{item.uuid.hex[:8]}"] is item


def test_names_are_unique_and_deterministic_whatever_the_order() -> None:
    entries = [c("a.jpg", age=i % 3) for i in range(6)] + [c("b", folder=True), c("b"), c("a.jpg", folder=True)]
    first = names.assign_names(entries)
    second = names.assign_names(list(reversed(entries)))
    assert [(n, e.uuid) for n, e in first] == [(n, e.uuid) for n, e in second]
    assert len({n for n, _ in first}) == len(entries)


def test_too_long_titles_are_cut_and_suffixed() -> None:
    title = "é" * 200 + ".png"  # 404 bytes
    entry = c(title)
    [(name, _)] = names.assign_names([entry])
    assert len(name.encode()) <= names.NAME_MAX and name.endswith(".png")
    parsed = names.parse_suffix(name)
    assert parsed is not None and title.startswith(parsed.search_text)


def test_cutting_never_splits_an_escape() -> None:
    title = "/" * 120  # escapes to 360 bytes of %2F
    [(name, _)] = names.assign_names([c(title)])
    stem = names.parse_suffix(name).stem
    assert len(stem) % 3 == 0 and names.unescape(stem) == "/" * (len(stem) // 3)


@pytest.mark.parametrize("name", ["a%~12345678.jpg", "x" * 256, "%252"])
def test_names_that_no_title_lists_under_cannot_be_created(name: str) -> None:
    with pytest.raises(names.InvalidName):
        names.title_for_new_name(name)


def test_new_names_become_titles() -> None:
    assert names.title_for_new_name("a%2Fb.txt") == "a/b.txt"
    assert names.title_for_new_name("100%.txt") == "100%.txt"


@pytest.mark.parametrize("title", ["photo.jpg", "a/b", "..", "", "100%.jpg", "é" * 200 + ".jpg", "x" * 300])
def test_name_alone_is_the_name_of_a_group_of_one(title: str) -> None:
    uuid = uuid4()
    [(name, _)] = names.name_group([names.Candidate(uuid, title, False, datetime(2026, 1, 1))])
    assert names.name_alone(title, uuid) == name and len(name.encode()) <= names.NAME_MAX
