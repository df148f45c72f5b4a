"""ONE progress line for every long command (sync, unmount drain, warm, reencode, import).

    from encordfs.progress import progress_line

    with progress_line("re-encoding") as line:
        line.update(done_files=1, total_files=3)                 # counts only
        line.update(2, 3, done_bytes=10 << 20, total_bytes=30 << 20)  # with bytes
        line.note("waiting for the server")                      # a short status text

It draws on stderr with tqdm, and only when stderr is a terminal: piped or redirected output
(scripts, CI logs, ``--json`` consumers) gets nothing from it. Totals may be None (unknown);
calling ``update`` again replaces the numbers (it is not an increment).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


class ProgressLine:
    """One redrawn line: ``label: done/total files, done/total bytes [note]``."""

    def __init__(self, bar: tqdm | None) -> None:
        self._bar = bar
        self._note = ""

    def update(
        self, done_files: int, total_files: int | None = None, done_bytes: int | None = None, total_bytes: int | None = None
    ) -> None:
        if self._bar is None:
            return
        self._bar.total = total_files
        self._bar.n = done_files
        postfix = ""
        if done_bytes is not None:
            postfix = _size(done_bytes) + (f"/{_size(total_bytes)}" if total_bytes is not None else "")
        self._bar.set_postfix_str(" ".join(p for p in (postfix, self._note) if p), refresh=False)
        self._bar.refresh()

    def note(self, text: str) -> None:
        """A short status text shown after the numbers (replaces the previous one)."""
        self._note = text
        if self._bar is not None:
            self._bar.set_postfix_str(text)


@contextmanager
def progress_line(label: str, *, unit: str = "file") -> Iterator[ProgressLine]:
    """A progress line on stderr while the block runs; nothing at all when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield ProgressLine(None)
        return
    bar = tqdm(desc=label, unit=unit, file=sys.stderr, leave=False)
    try:
        yield ProgressLine(bar)
    finally:
        bar.close()
