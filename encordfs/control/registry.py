"""Control operations by name: adding one is ``@operation("name")`` on an async handler.

A handler gets the mount's core ``Filesystem``, the request's ``args`` (a JSON object) and
``emit``, an async callback that sends one ``{"progress": {...}}`` line to the caller. It returns
the JSON-able result, or raises ``ControlError`` (or ``FsError`` / ``StorageError``, which the
server turns into an error line with their errno). Paths in ``args`` are relative to the mount
point; resolve them with ``Filesystem.resolve_path`` (never by stat'ing through the kernel: the
mount process would wait on itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from encordfs.control.protocol import Json

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

Emit = Callable[[Json], Awaitable[None]]
Handler = Callable[["Filesystem", Json, Emit], Awaitable[Any]]

OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the operation ``name`` (one name, one handler)."""

    def register(handler: Handler) -> Handler:
        if name in OPERATIONS:
            raise ValueError(f"control operation {name!r} is registered twice")
        OPERATIONS[name] = handler
        return handler

    return register
