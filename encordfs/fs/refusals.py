"""The last refusals of a mount (EPERM, ENOTSUP, EROFS, EACCES, ... with their reasons), kept where
``encordfs status`` can read them: ``<cache dir>/refusals.json``.

``note`` is called from the one errno mapping (``errors.errno_for``) inside a FUSE handler, so it
only appends to memory; ``run`` (a task of the mount's nursery) writes the file in a worker thread,
atomically, a moment after a change. The file holds ``{"version": 1, "refusals": [...]}`` with the
newest last; readers ignore fields they do not know.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import trio

log = logging.getLogger(__name__)

FILE_NAME = "refusals.json"
KEEP = 20
WRITE_DELAY = 0.2  # seconds: a burst of refusals (cp -r of .zip files) is written once


@dataclass(frozen=True)
class Refusal:
    time: float  # seconds since the epoch
    operation: str
    path: str
    error: str  # the errno's name: EPERM, ENOTSUP, ...
    reason: str

    def line(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.time))
        where = f" {self.path}" if self.path else ""
        return f"{when} {self.operation}{where}: {self.error}: {self.reason}"


class RefusalLog:
    """The last ``keep`` refusals, in memory and (once ``run`` runs) in ``path``."""

    def __init__(self, path: Path | None, keep: int = KEEP) -> None:
        self.path = path
        self._recent: deque[Refusal] = deque(maxlen=keep)
        self._changed = trio.Event()

    def note(self, operation: str, path: str, error: str, reason: str) -> None:
        self._recent.append(Refusal(time.time(), operation, path, error, reason))
        self._changed.set()

    def recent(self) -> list[Refusal]:
        return list(self._recent)

    async def run(self) -> None:
        """Write the file after each change, until cancelled."""
        while True:
            await self._changed.wait()
            await trio.sleep(WRITE_DELAY)
            self._changed = trio.Event()
            if self.path is not None:
                await trio.to_thread.run_sync(_write, self.path, self.recent())


def _write(path: Path, refusals: list[Refusal]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # paths and reasons are private
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({"version": 1, "refusals": [asdict(r) for r in refusals]}))
        os.replace(temp, path)
    except OSError as exc:
        log.warning("cannot record refusals in %s (encordfs status will not show them): %s", path, exc)


def read_refusals(cache_dir: Path) -> list[Refusal]:
    """The refusals a mount using ``cache_dir`` recorded (none if it recorded none)."""
    try:
        data = json.loads((cache_dir / FILE_NAME).read_text())
        return [
            Refusal(float(r["time"]), str(r["operation"]), str(r["path"]), str(r["error"]), str(r["reason"]))
            for r in data["refusals"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return []
