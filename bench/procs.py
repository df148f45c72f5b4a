"""Child processes, ports and FUSE mounts, always cleaned up: a benchmark must leave nothing behind."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class StartError(RuntimeError):
    """A server or mount did not come up; the message points at its log."""


def _die_with_parent() -> None:
    """Runs in the child before exec: if the harness dies, the kernel sends the child SIGTERM."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One background process with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self._start = self._log.tell()
        self.proc = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, preexec_fn=_die_with_parent,
        )
        log.debug("started %s (pid %d): %s", name, self.proc.pid, " ".join(argv))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """What this process has written so far (the log file is shared with earlier runs)."""
        with self.log_path.open("rb") as f:
            f.seek(self._start)
            return f.read().decode(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], bool], timeout: float, what: str, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if child is not None and not child.alive():
            raise StartError(f"{what}: {child.name} exited ({child.proc.returncode}); log {child.log_path}:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            tail = f"; log {child.log_path}:\n{child.log_tail()}" if child else ""
            raise StartError(f"{what}: not ready after {timeout:.0f} s{tail}")
        time.sleep(0.02)


def is_mounted(path: Path) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def unmount(path: Path) -> None:
    """fusermount3 -u, lazily (-uz) if the mount is busy; a no-op when nothing is mounted."""
    if not is_mounted(path):
        return
    if subprocess.run(["fusermount3", "-u", str(path)], capture_output=True).returncode != 0:
        log.warning("lazy unmount of %s", path)
        subprocess.run(["fusermount3", "-uz", str(path)], capture_output=True)


def peak_rss_bytes(pid: int) -> int:
    """The process's high-water resident set (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ProcessLookupError(pid)


class MountChild:
    """A FUSE mount run in the foreground as our child (so its memory can be read): a mount left
    by a killed earlier run is cleared first, and a mount that does not come up is torn down."""

    def __init__(self, name: str, argv: list[str], mountpoint: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.mountpoint = mountpoint
        unmount(mountpoint)
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.child = Child(name, argv, log_path, env=env)
        try:
            wait_until(lambda: is_mounted(mountpoint), 30, name, self.child)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.child.pid

    def stop(self) -> None:
        unmount(self.mountpoint)
        self.child.stop()
