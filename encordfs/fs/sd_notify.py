"""systemd's readiness protocol (sd_notify(3)), the few lines it takes: one datagram of
``KEY=value`` lines to the socket in ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
namespace). Without the variable (not run by systemd with ``Type=notify``) nothing is sent."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*fields: str) -> bool:
    """Send ``fields`` (``READY=1``, ``STATUS=...``); True if a socket took them."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return False
    target = "\0" + address[1:] if address[0] == "@" else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(fields).encode(), target)
    except OSError as exc:  # systemd went away: readiness is advisory, the mount serves on
        log.warning("cannot notify systemd at %s: %s", address, exc)
        return False
    return True
