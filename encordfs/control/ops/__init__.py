"""The control operations; importing this package registers them all (one module per area)."""

from encordfs.control.ops import access, basic, groups, imports, info, reencode, refresh, search, sync, warm  # noqa: F401
