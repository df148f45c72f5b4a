"""What desktop thumbnailers may read (``--thumbnails all|small|none``).

GLib treats every FUSE mount as a local disk, so a file manager showing a folder has every file in
it read in full by a thumbnailer: 300 photos cost 70 MiB of downloads per visit, a folder of videos
gigabytes. Thumbnailers are separate processes (nautilus runs ``gdk-pixbuf-thumbnailer``,
``totem-video-thumbnailer``, ...; xfce runs ``tumblerd``), told apart by the process that opens
the file (FUSE gives its pid; ``/proc/PID/comm`` names it). ``small`` (the default) lets them read
files up to ``SMALL_LIMIT`` bytes but no video, ``none`` refuses them everything, ``all`` serves
them like anyone. A refused open fails with EACCES: the desktop shows the type's icon and
remembers the failure (GNOME keeps it in ``~/.cache/thumbnails/fail``), so the file is not tried
again on every visit.
"""

from __future__ import annotations

import enum
import errno
import time
from pathlib import Path

from cachetools import TTLCache

from encordfs import metrics
from encordfs.fs.errors import FsError
from encordfs.wire.enums import StorageItemType

SMALL_LIMIT = 8 << 20
# Process names as /proc/PID/comm shows them (cut to 15 bytes by the kernel).
THUMBNAILERS = frozenset(
    name[:15]
    for name in (
        "gdk-pixbuf-thumbnailer",
        "totem-video-thumbnailer",
        "ffmpegthumbnailer",
        "tumblerd",
        "evince-thumbnailer",
        "gnome-thumbnail-factory",
        "gsf-office-thumbnailer",
        "gnome-epub-thumbnailer",
        "atril-thumbnailer",
        "xreader-thumbnailer",
    )
)
REFUSED_TYPES = frozenset({StorageItemType.VIDEO})
_NAME_TTL = 2.0  # seconds a pid's process name is trusted (pids are reused)


class ThumbnailPolicy(enum.Enum):
    ALL = "all"
    SMALL = "small"
    NONE = "none"


def process_names(pid: int, proc: Path = Path("/proc")) -> tuple[str, ...]:
    """The name of the thread ``pid`` (FUSE reports the calling thread) and of its process."""
    names = []
    try:
        names.append((proc / str(pid) / "comm").read_text().strip())
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("Tgid:"):
                tgid = line.split()[1]
                if tgid != str(pid):
                    names.append((proc / tgid / "comm").read_text().strip())
                break
    except OSError:  # the process is gone already
        pass
    return tuple(names)


class Thumbnails:
    """The mount's policy for thumbnailer reads; ``check`` is asked at every open for reading."""

    def __init__(self, policy: ThumbnailPolicy, *, small_limit: int = SMALL_LIMIT) -> None:
        self.policy = policy
        self.small_limit = small_limit
        self._names: TTLCache[int, bool] = TTLCache(1024, _NAME_TTL, timer=time.monotonic)

    def is_thumbnailer(self, pid: int) -> bool:
        known = self._names.get(pid)
        if known is None:
            known = self._names[pid] = any(name in THUMBNAILERS for name in process_names(pid))
        return known

    def check(self, pid: int | None, item_type: StorageItemType | None, size: int) -> None:
        """Raise EACCES if the opener is a thumbnailer this policy does not serve that file."""
        if self.policy is ThumbnailPolicy.ALL or pid is None or not pid or not self.is_thumbnailer(pid):
            return
        if self.policy is ThumbnailPolicy.SMALL and size <= self.small_limit and item_type not in REFUSED_TYPES:
            return
        metrics.THUMBNAILS_REFUSED.inc()
        raise FsError(
            errno.EACCES,
            f"no thumbnail of a {size}-byte {item_type.value if item_type else 'file'} (--thumbnails {self.policy.value})",
            quiet=True,
        )
