"""The circuit breaker: a server that stopped answering is detected once, then answered fast.

When a request to an origin (scheme, host, port) fails with an outage (``errors.is_outage``: no
connection, a timeout, a 502/503/504) after its retries, the origin is *down*: every request to it
fails at once with an error of the same kind (so the same errno), without touching the network,
except one request every ``probe_every`` seconds, which is sent once (no retries) as a probe. Any
answer that is not an outage (a 200, a 404, a 401, ...) means the origin is *up* again.

The filesystem serves cached listings and attributes while the server is down (see
``encordfs.fs.core``); a fast failure is what makes that quick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from encordfs.storage.errors import StorageError, is_outage

log = logging.getLogger(__name__)

PROBE_EVERY = 1.0


@dataclass
class _Down:
    since: float  # time.time() of the first failure, for messages
    error: StorageError  # the last outage seen
    next_probe: float  # clock() value


class CircuitBreaker:
    def __init__(self, probe_every: float = PROBE_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.probe_every = probe_every
        self._clock = clock
        self._down: dict[str, _Down] = {}

    def is_down(self, origin: str) -> bool:
        return origin in self._down

    def admit(self, origin: str, operation: str) -> bool:
        """Before a request: True to send it with its retries, False to send it once as the probe.
        While the origin is down and no probe is due, raises the fast failure instead."""
        down = self._down.get(origin)
        if down is None:
            return True
        now = self._clock()
        if now < down.next_probe:
            raise self._fast_failure(down, origin, operation, down.next_probe - now)
        down.next_probe = now + self.probe_every
        return False

    def answered(self, origin: str) -> None:
        if self._down.pop(origin, None) is not None:
            log.warning("%s answers again", origin)

    def failed(self, origin: str, error: StorageError) -> None:
        """A request's last attempt failed with ``error``."""
        if not is_outage(error):
            self.answered(origin)
            return
        down = self._down.get(origin)
        if down is None:
            log.warning("%s is not answering (%s): requests to it fail at once, one a second is tried", origin, error)
            self._down[origin] = _Down(time.time(), error, self._clock() + self.probe_every)
        else:
            down.error, down.next_probe = error, self._clock() + self.probe_every

    @staticmethod
    def _fast_failure(down: _Down, origin: str, operation: str, wait: float) -> StorageError:
        since = time.strftime("%H:%M:%S", time.localtime(down.since))
        message = (f"{operation} {origin}: not sent, the server has not answered since {since} "
                   f"(next try in {wait:.1f}s; last: {down.error})")
        return type(down.error)(message, operation=operation, status=down.error.status)
