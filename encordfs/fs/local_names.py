"""Editor and office scratch files that are kept on this mount only, never uploaded.

vim's swap files and its ``4913`` write probe, backups (``name~``), emacs's lock and auto-save
files and LibreOffice's lock files exist for the editor on this machine alone: uploading them
would put junk items in a folder the whole organisation sees (and vim's binary swap file is not
even storable). They live in the mount's staging area, listed and readable here until deleted or
until unmount; renamed to a real name they are uploaded like any file. ``--local-names`` adds globs.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

_BUILT_IN = re.compile(
    r"^\..+\.sw[a-px]$"  # vim swap: .name.swp, .swo, .swx ...
    r"|^.+~$"  # backups: name~ (vim, emacs, gedit)
    r"|^\.#.+$"  # emacs lock: .#name
    r"|^#.+#$"  # emacs auto-save: #name#
    r"|^\.~lock\..+#$"  # LibreOffice lock: .~lock.name#
)
_VIM_PROBES = frozenset(str(4913 + 123 * k) for k in range(100))  # vim's "can I write here" files


def is_local_only(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a file of this name stays on this mount only."""
    if name in _VIM_PROBES or _BUILT_IN.match(name):
        return True
    return any(fnmatch.fnmatchcase(name, glob) for glob in extra)
