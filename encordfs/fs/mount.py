"""Mount lifecycle: connect, resolve the root, mount, serve, and on SIGINT/SIGTERM or unmount
finish the uploads in flight before leaving.

Before anything else ``preflight`` checks the mount point, the credentials and the server (one
authenticated call). Without ``--foreground`` the command then forks: the child serves the mount, the parent waits until the
mount answers a ``stat`` (exit 0) or the child reports why it could not mount (exit 1).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyfuse3
import trio

from encordfs import metrics
from encordfs.control.server import ControlServer
from encordfs.fs import sd_notify
from encordfs.fs.content_cache import ContentStore, open_store
from encordfs.fs.core import Filesystem
from encordfs.fs.fuse_ops import FuseOperations, KernelNotifier
from encordfs.fs.mount_registry import control_socket_path, forget_mount, register_mount
from encordfs.fs.options import MountOptions
from encordfs.fs.preflight import MountError, preflight
from encordfs.fs.reader import READ_AHEAD_BUDGET
from encordfs.fs.refusals import FILE_NAME as REFUSALS_FILE
from encordfs.fs.refusals import RefusalLog
from encordfs.fs.staging import Staging, StagingError
from encordfs.storage.auth import Credentials
from encordfs.storage.client import StorageClient
from encordfs.wire.models import StorageFolder

log = logging.getLogger(__name__)

LOG_NAME = "mount.log"
STATUS_EVERY = 1.0  # seconds between systemd STATUS= lines while uploads drain
# at most this many seconds after the drain for the control requests being answered (`encordfs
# unmount` on a terminal follows the drain; the sync operation looks every 0.25 s)
CONTROL_SETTLE = 1.0


def _fuse_options(options: MountOptions) -> set[str]:
    fuse_options = set(pyfuse3.default_options)
    fuse_options.discard("default_permissions")
    fuse_options |= {"fsname=encordfs", "subtype=encordfs", "default_permissions"}
    if options.allow_other:
        fuse_options.add("allow_other")
    if options.read_only:
        fuse_options.add("ro")
    if options.debug:
        fuse_options.add("debug")
    return fuse_options


async def _watch_signals(fs: Filesystem) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("%s: finishing uploads in flight, then unmounting", signal.Signals(signum).name)
            await drain(fs)
            pyfuse3.terminate()
            return


async def drain(fs: Filesystem) -> None:
    """``fs.drain()``, telling systemd it is stopping and, every ``STATUS_EVERY`` seconds, how many
    uploads are still pending (``systemctl status`` shows it while a stop waits)."""
    sd_notify.notify("STOPPING=1", f"STATUS=finishing {fs.pending_uploads()} pending upload(s)")
    async with trio.open_nursery() as nursery:

        async def report() -> None:
            while True:
                await trio.sleep(STATUS_EVERY)
                sd_notify.notify(f"STATUS=finishing {fs.pending_uploads()} pending upload(s)")

        nursery.start_soon(report)
        await fs.drain()
        nursery.cancel_scope.cancel()
    sd_notify.notify("STATUS=uploads finished, unmounting")


def _metrics(fs: Filesystem, options: MountOptions) -> None:
    """The gauges read at each scrape, and the endpoint when ``--metrics-addr`` asks for it."""
    metrics.gauge("encordfs_uploads_pending", "uploads scheduled or running", fs.pending_uploads)
    metrics.gauge("encordfs_uploads_failed", "files whose last upload failed, waiting for the retry", fs.failed_uploads)
    metrics.gauge("encordfs_read_ahead_budget_used_bytes", "bytes held by chunks fetched ahead", lambda: READ_AHEAD_BUDGET.used)
    metrics.gauge("encordfs_read_ahead_budget_bytes", "what chunks fetched ahead may hold in all", lambda: READ_AHEAD_BUDGET.limit)
    store = fs.content.store
    if store is not None:
        metrics.gauge("encordfs_content_cache_bytes", "bytes the content cache holds on disk", lambda: store.bytes)
        metrics.gauge("encordfs_content_cache_limit_bytes", "the content cache's bound (--cache-size)", lambda: store.limit)
        metrics.gauge("encordfs_content_cache_entries", "files and chunks in the content cache", lambda: store.entries)
    if options.metrics_addr is not None:
        try:
            metrics.serve(options.metrics_addr)
        except OSError as exc:
            raise MountError(f"cannot serve metrics on {options.metrics_addr.host}:{options.metrics_addr.port}: {exc}") from exc


def kernel_read_ahead_file(mountpoint: Path) -> Path:
    """The sysfs knob of the mount's backing device info: how far (in KiB) the kernel reads ahead."""
    dev = os.stat(mountpoint).st_dev
    return Path(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb")


def set_kernel_read_ahead(mountpoint: Path, kb: int) -> None:
    """The kernel sends a sequential reader's FUSE reads in requests of its read-ahead (128 KiB by
    default); 1 MiB requests cost the mount about a third less CPU per MiB (each request is a
    pyfuse3 dispatch and a reply), which is what bounds a sequential read. gcsfuse advises the
    same. Only root may write the knob; otherwise the kernel's default stays, with a log line."""
    if kb <= 0:
        return
    try:
        kernel_read_ahead_file(mountpoint).write_text(str(kb))
    except OSError as exc:
        log.info("kernel read-ahead of %s left at its default (%s)", mountpoint, exc.strerror or exc)


async def _announce_ready(mountpoint: Path, ready_fd: int | None, read_ahead_kb: int) -> None:
    await trio.to_thread.run_sync(os.stat, mountpoint)
    await trio.to_thread.run_sync(set_kernel_read_ahead, mountpoint, read_ahead_kb)
    log.info("mounted on %s", mountpoint)
    sd_notify.notify("READY=1", f"STATUS=mounted on {mountpoint}")
    if ready_fd is not None:
        os.write(ready_fd, b"ok\n")
        os.close(ready_fd)


def _quiet_http_logs() -> None:
    for noisy in ("httpx", "httpcore"):  # they log full URLs, signed query strings included
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _content_store(options: MountOptions) -> ContentStore | None:
    """The content cache, or None (with a WARNING) when its directory cannot be used: files are
    then read from the server every time, as with ``--cache-size 0``."""
    try:
        return await trio.to_thread.run_sync(open_store, options.staging_dir, options.cache_size, options.cache_ttl)
    except OSError as exc:
        log.warning("content cache off: %s", exc)
        return None


async def serve(options: MountOptions, credentials: Credentials, root: StorageFolder | None, ready_fd: int | None = None) -> None:
    """Mount and serve until unmounted or signalled (``preflight`` checked the credentials and
    found ``root``). Raises MountError before mounting."""
    try:
        staging = Staging(options.staging_dir)
    except (StagingError, OSError) as exc:
        raise MountError(str(exc)) from exc
    try:
        content = await _content_store(options)
        async with StorageClient(credentials, options.domain) as client:
            notifier = KernelNotifier()
            fs = Filesystem(client, staging, options, root, notifier, content)
            _metrics(fs, options)
            refusals = RefusalLog(options.staging_dir / REFUSALS_FILE)
            try:
                pyfuse3.init(FuseOperations(fs, refusals), str(options.mountpoint), _fuse_options(options))
            except RuntimeError as exc:
                raise MountError(f"cannot mount on {options.mountpoint}: {exc}") from exc
            control = ControlServer(fs, control_socket_path(options.mountpoint))
            try:
                async with trio.open_nursery() as nursery:
                    fs.start(nursery)
                    notifier.nursery = nursery
                    socket = await nursery.start(control.serve)  # for the commands taking paths in the mount
                    # for `encordfs status`, and for the commands to find the control socket
                    register_mount(options.mountpoint, options.staging_dir, {"control_socket": str(socket)} if socket else None)
                    nursery.start_soon(_watch_signals, fs)
                    nursery.start_soon(refusals.run)
                    nursery.start_soon(_announce_ready, options.mountpoint, ready_fd, options.read_ahead_kb)
                    nursery.start_soon(fs.resume_uploads)
                    await pyfuse3.main()
                    await drain(fs)
                    await control.settle(CONTROL_SETTLE)
                    nursery.cancel_scope.cancel()
            finally:
                pyfuse3.close(unmount=True)
                forget_mount(options.mountpoint)
                log.info("unmounted %s", options.mountpoint)
    finally:
        staging.close()


def run_foreground(options: MountOptions) -> int:
    _quiet_http_logs()
    try:
        credentials, root = preflight(options)
        trio.run(serve, options, credentials, root)
    except MountError as exc:
        log.error("%s", exc)
        return 1
    return 0


def run_background(options: MountOptions) -> int:
    """Fork; the parent returns 0 once the mount answers, 1 with the child's reason otherwise."""
    _quiet_http_logs()
    try:
        credentials, root = preflight(options)
    except MountError as exc:
        log.error("%s", exc)
        return 1
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            report = pipe.read().decode(errors="replace").strip()
        if report == "ok":
            return 0
        print(f"encordfs: mount failed: {report or 'the mount process died (see its log)'}", file=sys.stderr)
        os.waitpid(pid, 0)
        return 1
    os.close(read_fd)
    os._exit(_daemon(options, credentials, root, write_fd))


def _daemon(options: MountOptions, credentials: Credentials, root: StorageFolder | None, ready_fd: int) -> int:
    os.setsid()
    os.chdir("/")  # never keep the caller's working directory busy
    log_path = options.staging_dir / LOG_NAME
    try:
        options.staging_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        log_fd = os.open(os.devnull, os.O_WRONLY)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    try:
        trio.run(serve, options, credentials, root, ready_fd)
    except MountError as exc:
        log.error("%s", exc)
        _report(ready_fd, str(exc))
        return 1
    except BaseException as exc:  # the parent must hear why, whatever it was
        log.exception("mount failed")
        _report(ready_fd, f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def _report(fd: int, message: str) -> None:
    try:
        os.write(fd, message.encode() + b"\n")
        os.close(fd)
    except OSError:
        pass


def unmount(mountpoint: Path, *, lazy: bool = False, wait: float = 0.0) -> int:
    """``fusermount3 -u``: the filesystem then finishes its uploads and exits. While files are
    still open (a ``cp`` whose upload is in flight) the mount is busy: retry for ``wait`` seconds."""
    command = ["fusermount3", "-u"] + (["-z"] if lazy else []) + [str(mountpoint)]
    deadline = time.monotonic() + wait
    while True:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            return 0
        message = result.stderr.strip() or f"fusermount3 exited {result.returncode}"
        busy = "busy" in message.lower()
        if not busy or time.monotonic() >= deadline:
            print(f"encordfs: cannot unmount {mountpoint}: {message}", file=sys.stderr)
            return errno.EBUSY if busy else 1
        time.sleep(0.2)
