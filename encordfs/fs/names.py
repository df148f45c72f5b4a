"""File names for Encord titles: reversible escaping and deterministic de-duplication.

Encord titles may contain ``/`` or NUL, be ``.``/``..``/empty, exceed 255 bytes, and repeat within
a folder. Every entry must still get a unique, valid, stable file name:

* ``escape`` percent-encodes ``/`` and NUL, and ``%`` only where it would otherwise read as an
  escape or a suffix mark (so ``100%.jpg`` stays as it is); it spells ``.``, ``..`` and the empty
  title specially. An escaped title never contains the two characters ``%~``.
* Entries that must be told apart get ``%~`` plus the first 8 hex digits of their UUID before the
  extension (``photo%~1a2b3c4d.jpg``). Because ``%~`` never occurs in an escaped title, a suffixed
  name can never equal a plain one.
* Among entries with the same title, a folder keeps the plain name before any item, then the oldest
  (by creation time, then UUID); the others are suffixed. Titles too long for one name are always
  suffixed (their stem is cut to fit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar
from uuid import UUID

NAME_MAX = 255
SUFFIX_MARK = "%~"
SUFFIX_HEX = 8
_EMPTY = "%~"
_SPECIAL = {".": "%2E", "..": "%2E%2E", "": _EMPTY}
_UNSPECIAL = {v: k for k, v in _SPECIAL.items()}
_ESCAPES = {"%": "%25", "/": "%2F", "\0": "%00"}
_ESCAPE_RE = re.compile("%(?=25|2F|00|2E|~)|[/\0]")
_UNESCAPE_RE = re.compile("%(25|2F|00)")
_SUFFIX_RE = re.compile(r"^(?P<stem>.*)%~(?P<hex>[0-9a-f]{8})(?P<ext>\.[^.%]{1,16})?$", re.DOTALL)
_MAX_EXT = 16


class InvalidName(ValueError):
    """Not a name this module could have produced."""


def escape(title: str) -> str:
    """The file name for a title, before length limits and de-duplication."""
    if title in _SPECIAL:
        return _SPECIAL[title]
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], title)


def unescape(name: str) -> str:
    """The title for an escaped (unsuffixed) name; inverse of ``escape``."""
    if name in _UNSPECIAL:
        return _UNSPECIAL[name]
    return _UNESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), name)


def title_for_new_name(name: str) -> str:
    """The title to give an entry a user creates as ``name``; InvalidName when no title would be
    listed under exactly that name (a ``%~`` suffix, a stray escape, or too long)."""
    if parse_suffix(name) is not None or len(name.encode()) > NAME_MAX:
        raise InvalidName(name)
    title = unescape(name)
    if escape(title) != name:
        raise InvalidName(name)
    return title


def _split_ext(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > _MAX_EXT + 1 or "%" in name[dot:]:
        return name, ""
    return name[:dot], name[dot:]


def _cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of text within ``limit`` UTF-8 bytes, not splitting a ``%XX`` escape."""
    cut = text.encode()[:limit].decode(errors="ignore")
    tail = cut[-2:]
    if "%" in tail:
        cut = cut[: len(cut) - len(tail) + tail.index("%")]
    return cut


def with_suffix(escaped: str, uuid: UUID) -> str:
    """``escaped`` with the UUID suffix before its extension, cut to NAME_MAX bytes."""
    stem, ext = _split_ext(escaped)
    suffix = SUFFIX_MARK + uuid.hex[:SUFFIX_HEX] + ext
    return _cut_bytes(stem, NAME_MAX - len(suffix.encode())) + suffix


@dataclass(frozen=True)
class SuffixedName:
    """A parsed ``stem%~hex.ext`` name: the (possibly cut) escaped stem, UUID prefix, extension."""

    stem: str
    uuid_prefix: str
    ext: str

    @property
    def search_text(self) -> str:
        """Text every matching title contains (the server's search is a substring filter)."""
        return unescape(self.stem)


def parse_suffix(name: str) -> SuffixedName | None:
    match = _SUFFIX_RE.match(name)
    if match is None:
        return None
    return SuffixedName(match.group("stem"), match.group("hex"), match.group("ext") or "")


class Candidate(NamedTuple):
    """What naming needs to know about one entry of a directory (a tuple: one is made per listed
    entry)."""

    uuid: UUID
    title: str
    is_folder: bool
    created_at: datetime


C = TypeVar("C", bound=Candidate)


def _rank(c: Candidate) -> tuple[bool, datetime, str]:
    return (not c.is_folder, c.created_at, c.uuid.hex)


def name_alone(title: str, uuid: UUID) -> str:
    """The name of an entry no other entry of its directory shares a title with (``name_group``
    of one entry, without building a Candidate: a listing names most of its entries this way)."""
    escaped = escape(title)
    if len(escaped) * 4 <= NAME_MAX or len(escaped.encode()) <= NAME_MAX:
        return escaped
    return with_suffix(escaped, uuid)


def name_group(entries: Sequence[C]) -> list[tuple[str, C]]:
    """Names for entries that all share one title (pass every entry with that title)."""
    if not entries:
        return []
    if len(entries) == 1:
        return [(name_alone(entries[0].title, entries[0].uuid), entries[0])]
    escaped = escape(entries[0].title)
    ordered = sorted(entries, key=_rank)
    fits = len(escaped.encode()) <= NAME_MAX
    named = []
    for index, entry in enumerate(ordered):
        plain = fits and index == 0
        named.append((escaped if plain else with_suffix(escaped, entry.uuid), entry))
    return named


def assign_names(entries: Iterable[C]) -> list[tuple[str, C]]:
    """Unique names for all entries of one directory, in title order."""
    groups: dict[str, list[C]] = {}
    for entry in entries:
        groups.setdefault(entry.title, []).append(entry)
    named: list[tuple[str, C]] = []
    for title in sorted(groups):
        named.extend(name_group(groups[title]))
    return named
