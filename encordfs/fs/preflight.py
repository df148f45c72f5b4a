"""What ``encordfs mount`` checks before it forks, so a mistake is exit 1 with the reason, not a
drive that answers "Permission denied" or "Input/output error" later.

* the mount point: a directory, not already a mount point (a second mount would hide the first),
  and a warning when it is not empty (its files are hidden while mounted);
* the credentials: loaded (key file or bearer token file, both private) in the caller's working
  directory, so relative paths and ``$ENCORD_SSH_KEY_FILE`` mean what they meant to the user;
* the server: one authenticated call (the ``--root`` folder, else one page of top-level folders),
  with few retries, its failure told apart: unknown key or bad token, no permission, unreachable,
  or a server that does not answer like Encord.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from uuid import UUID

import trio

from encordfs.fs.options import MountOptions
from encordfs.storage import errors as se
from encordfs.storage.auth import Credentials, load_credentials, read_bearer_token_file
from encordfs.storage.client import StorageClient
from encordfs.storage.errors import CredentialsError
from encordfs.storage.retry import RetryPolicy
from encordfs.wire.models import StorageFolder

log = logging.getLogger(__name__)

# A server that cannot be reached is reported within about this many seconds.
CHECK_TIMEOUT = 10.0
CHECK_RETRY = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=1.0, max_total=CHECK_TIMEOUT, max_retry_after=5.0)


class MountError(Exception):
    """The mount could not start; the message says why, for the user."""


async def resolve_root(storage: StorageClient, root: str | None) -> StorageFolder | None:
    """The folder named by ``--root``: a UUID, or a path of folder names from the storage root."""
    if not root:
        return None
    try:
        return await storage.get_folder(UUID(root))
    except ValueError:
        pass
    folder: StorageFolder | None = None
    for part in filter(None, root.strip("/").split("/")):
        parent = folder.uuid if folder else None
        matches = [f async for f in storage.iter_folders(parent, search=part) if f.name == part]
        if not matches:
            raise MountError(f"--root {root!r}: no folder {part!r} in {folder.name if folder else 'the storage root'!r}")
        folder = min(matches, key=lambda f: (f.created_at, f.uuid.hex))
    return folder


def check_mountpoint(mountpoint: Path) -> None:
    if not mountpoint.is_dir():
        raise MountError(f"mount point {mountpoint} is not a directory")
    if os.path.ismount(mountpoint):
        raise MountError(
            f"{mountpoint} is already a mount point ({_mounted_fs(mountpoint)}): "
            f"unmount it first (encordfs unmount {mountpoint}) or choose another directory"
        )
    try:
        with os.scandir(mountpoint) as entries:
            count = sum(1 for _ in entries)
    except OSError as exc:
        raise MountError(f"cannot read mount point {mountpoint}: {exc.strerror}") from None
    if count:
        log.warning("mount point %s is not empty: its %d entries are hidden while encordfs is mounted there", mountpoint, count)


def _mounted_fs(mountpoint: Path) -> str:
    """What /proc/mounts says is mounted there (the last line wins: it is the top of a stack)."""
    found = "mounted"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            source, target, fstype, *_ = line.split()
            if target == str(mountpoint):
                found = f"{fstype} from {source}"
    except OSError:
        pass
    return found


def load_mount_credentials(options: MountOptions) -> Credentials:
    try:
        token = read_bearer_token_file(options.bearer_token_file) if options.bearer_token_file else None
        credentials = load_credentials(ssh_key_file=options.ssh_key, bearer_token=token)
    except CredentialsError as exc:
        raise MountError(str(exc)) from None
    return credentials


def explain(exc: se.StorageError, credentials: Credentials, domain: str, root: str | None = None) -> str:
    """The user's reason for a failed first call."""
    if isinstance(exc, se.Unauthenticated):
        return (f"{domain} refused the credentials ({credentials.description}): an unknown key, a bad or expired "
                f"bearer token, the wrong --domain or a wrong clock ({exc})")
    if isinstance(exc, (se.Forbidden, se.NotFound)) and root:
        return f"cannot open --root {root!r}: no such folder, or no permission for {credentials.description} ({exc})"
    if isinstance(exc, se.Forbidden):
        return f"{domain}: no permission ({credentials.description} may not list storage): {exc}"
    if isinstance(exc, (se.TransportError, se.StorageTimeout)):
        return f"cannot reach {domain}: {exc}"
    if isinstance(exc, se.ServerError) and (exc.status or 0) >= 500:
        return f"{domain} is failing (try again later): {exc}"
    if isinstance(exc, (se.NotFound, se.InvalidArgument, se.ServerError)):
        return f"{domain} does not answer like the Encord API (is --domain right?): {exc}"
    return f"{domain}: {exc}"


async def check_server(credentials: Credentials, options: MountOptions) -> StorageFolder | None:
    """One authenticated call; returns the ``--root`` folder (None: the storage root)."""
    async with StorageClient(credentials, options.domain, timeout=CHECK_TIMEOUT, retry=CHECK_RETRY) as client:
        try:
            with trio.fail_after(CHECK_TIMEOUT * 2):
                if options.root:
                    return await resolve_root(client, options.root)
                async for _ in client.iter_folders(None, page_size=1):
                    break
                return None
        except se.StorageError as exc:
            raise MountError(explain(exc, credentials, options.domain, options.root)) from None
        except (KeyError, TypeError, ValueError) as exc:  # a 200 answer in another shape
            raise MountError(f"{options.domain} does not answer like the Encord API (is --domain right?): "
                             f"unexpected answer ({type(exc).__name__})") from None
        except trio.TooSlowError:
            raise MountError(f"cannot reach {options.domain}: no answer in {CHECK_TIMEOUT * 2:g}s") from None


def preflight(options: MountOptions) -> tuple[Credentials, StorageFolder | None]:
    """Everything that can be checked before mounting; raises MountError with the reason."""
    check_mountpoint(options.mountpoint)
    credentials = load_mount_credentials(options)
    root = trio.run(check_server, credentials, options)
    return credentials, root
