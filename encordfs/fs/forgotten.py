"""Models of inodes the kernel forgot while their folder's listing was fresh.

The kernel forgets inodes whenever it likes: after ``drop_caches``, under memory pressure, or as a
walk moves on. Dropping a forgotten inode's model saves memory on walks over millions of files, but
while the folder's listing is fresh the model is as good as the listing, and a second epoch of a
training job (which opens the same files again right after the kernel forgot them) would pay an
API call per file to fetch it again. So a forgotten inode whose folder's listing is fresh keeps its
model for ``keep_seconds`` more (the listing's TTL); the models of those still unreferenced then
are dropped, oldest first, whenever the kernel forgets more.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator


class ForgottenModels:
    def __init__(self, keep_seconds: float) -> None:
        self._keep = keep_seconds
        self._batches: deque[tuple[float, list[int]]] = deque()  # (drop after, inodes), oldest first

    def keep(self, inos: list[int]) -> None:
        """These inodes were forgotten now; their models are kept for ``keep_seconds``."""
        if inos:
            self._batches.append((time.monotonic() + self._keep, inos))

    def due(self) -> Iterator[int]:
        """Inodes whose models were kept long enough (each batch once)."""
        now = time.monotonic()
        while self._batches and self._batches[0][0] <= now:
            yield from self._batches.popleft()[1]
