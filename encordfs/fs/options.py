"""Mount options: the ``mount`` flags and their ``-o name[=value]`` forms, as one frozen dataclass.

Every flag also works as ``-o`` (``--dir-ttl 5`` is ``-o dir_ttl=5``), so a mount can come from
/etc/fstab through mount.fuse3. Generic mount(8) options that mean nothing here (``rw``, ``dev``,
``nosuid``, ``_netdev``, ...) are accepted and ignored.
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from encordfs.fs.thumbnails import ThumbnailPolicy
from encordfs.metrics import Address, parse_address

DEFAULT_DOMAIN = "https://api.encord.com"
DEFAULT_DIR_TTL = 10.0
DEFAULT_ATTR_TTL = 10.0
DEFAULT_NEGATIVE_TTL = 5.0
DEFAULT_READ_AHEAD_KB = 1024
PROFILE = "profile"  # -o profile=NAME: the config file's table to start from
DEFAULT_UPLOAD_RETRIES = 12  # about 3 hours of backoff
DEFAULT_CACHE_TTL = 7 * 24 * 3600.0
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

IGNORED_MOUNT_OPTIONS = frozenset(
    {
        "rw",
        "dev",
        "nodev",
        "suid",
        "nosuid",
        "exec",
        "noexec",
        "auto",
        "noauto",
        "user",
        "nouser",
        "users",
        "_netdev",
        "nofail",
        "defaults",
        "async",
        "sync",
        "atime",
        "noatime",
        "relatime",
    }
)


class OptionError(ValueError):
    """A mount option that cannot be understood; the message names it."""


class UploadMode(enum.Enum):
    """When close() returns: once the file is journaled (``background``: the upload follows), or
    once its upload has landed on the server (``sync``: a failed upload is close()'s error)."""

    BACKGROUND = "background"
    SYNC = "sync"


def _octal(text: str) -> int:
    return int(text, 8)


def _globs(text: str) -> tuple[str, ...]:
    """GLOB[,GLOB...] on the command line; in ``-o`` (whose items are comma-separated) GLOB[:GLOB...]."""
    return tuple(g for g in text.replace(":", ",").split(",") if g)


def parse_size(text: str) -> int:
    """Bytes, with an optional K, M, G or T suffix (powers of 1024; ``KiB``/``KB`` spellings too)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(text)
    return int(float(match[1]) * _SIZE_UNITS[match[2].upper()])


def _flag(text: str) -> bool:
    if text.lower() in ("", "1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class MountOptions:
    mountpoint: Path
    root: str | None = None
    domain: str = DEFAULT_DOMAIN
    ssh_key: Path | None = None
    bearer_token_file: Path | None = None
    foreground: bool = False
    read_only: bool = False
    allow_other: bool = False
    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)
    umask: int = 0o022
    dir_ttl: float = DEFAULT_DIR_TTL
    attr_ttl: float = DEFAULT_ATTR_TTL
    negative_ttl: float = DEFAULT_NEGATIVE_TTL
    cache_dir: Path | None = None
    allow_delete_linked: bool = False
    allow_private_data_copy: bool = False
    upload_mode: UploadMode = UploadMode.BACKGROUND
    read_ahead_kb: int = DEFAULT_READ_AHEAD_KB
    thumbnails: ThumbnailPolicy = ThumbnailPolicy.SMALL
    metrics_addr: Address | None = None
    upload_retries: int = DEFAULT_UPLOAD_RETRIES
    cache_size: int | None = None  # bytes of the content cache; None: a share of the disk's free space
    cache_ttl: float = DEFAULT_CACHE_TTL
    local_names: tuple[str, ...] = ()  # globs of more names kept on this mount only (see local_names.py)
    debug: bool = False

    @property
    def dir_mode(self) -> int:
        return 0o777 & ~self.umask

    @property
    def file_mode(self) -> int:
        return 0o666 & ~self.umask

    @property
    def staging_dir(self) -> Path:
        """Where staged writes live (made 0700 by the staging area). One mount per cache dir, so the
        default is one per (domain, root, mountpoint): a remount finds its pending uploads."""
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        key = hashlib.sha256(f"{self.domain}|{self.root}|{self.mountpoint}".encode()).hexdigest()[:16]
        return Path(base) / "encordfs" / key


# name in -o -> (dataclass field, parser of the value)
_O_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "root": ("root", str),
    "domain": ("domain", str),
    "ssh_key": ("ssh_key", Path),
    "bearer_token_file": ("bearer_token_file", Path),
    "foreground": ("foreground", _flag),
    "ro": ("read_only", _flag),
    "read_only": ("read_only", _flag),
    "allow_other": ("allow_other", _flag),
    "uid": ("uid", int),
    "gid": ("gid", int),
    "umask": ("umask", _octal),
    "dir_ttl": ("dir_ttl", float),
    "attr_ttl": ("attr_ttl", float),
    "negative_ttl": ("negative_ttl", float),
    "cache_dir": ("cache_dir", Path),
    "allow_delete_linked": ("allow_delete_linked", _flag),
    "allow_private_data_copy": ("allow_private_data_copy", _flag),
    "upload_mode": ("upload_mode", UploadMode),
    "read_ahead_kb": ("read_ahead_kb", int),
    "thumbnails": ("thumbnails", ThumbnailPolicy),
    "metrics_addr": ("metrics_addr", parse_address),
    "upload_retries": ("upload_retries", int),
    "cache_size": ("cache_size", parse_size),
    "cache_ttl": ("cache_ttl", float),
    "local_names": ("local_names", _globs),
    "debug": ("debug", _flag),
}


def parse_option(name: str, raw: str) -> tuple[str, Any]:
    """One ``-o`` option (``name`` in its -o spelling) as (dataclass field, value)."""
    if name not in _O_PARSERS:
        raise OptionError(f"unknown mount option {name!r}")
    target, parse = _O_PARSERS[name]
    try:
        return target, parse(raw)
    except ValueError as exc:
        raise OptionError(f"bad value for mount option {name!r}: {raw!r}") from exc


def option_names() -> frozenset[str]:
    """Every option's ``-o`` spelling (also the keys of a config file's profiles)."""
    return frozenset(_O_PARSERS) | {PROFILE}


def parse_o(text: str) -> dict[str, Any]:
    """``-o a,b=1,...`` into dataclass field values (``profile`` under its own name)."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, has_value, raw = part.partition("=")
        name = name.replace("-", "_")
        if name in IGNORED_MOUNT_OPTIONS:
            continue
        if name == PROFILE:
            values[PROFILE] = raw
            continue
        target, value = parse_option(name, raw if has_value else "")
        values[target] = value
    return values


def add_mount_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mountpoint", type=Path, help="directory to mount on")
    parser.add_argument("--root", help="mount this folder (path like a/b or UUID) instead of the storage root")
    parser.add_argument("--domain", help=f"API domain (default {DEFAULT_DOMAIN} or $ENCORD_DOMAIN)")
    parser.add_argument("--ssh-key", type=Path, help="Ed25519 private key file (or $ENCORD_SSH_KEY_FILE)")
    parser.add_argument("--bearer-token-file", type=Path, help="authenticate with the bearer token in this file instead")
    parser.add_argument("--foreground", "-f", action="store_true", default=None, help="stay in the foreground")
    parser.add_argument("--read-only", action="store_true", default=None, help="refuse every change (EROFS)")
    parser.add_argument("--allow-other", action="store_true", default=None, help="let other users see the mount")
    parser.add_argument("--uid", type=int, help="owner of every file (default: yours)")
    parser.add_argument("--gid", type=int, help="group of every file (default: yours)")
    parser.add_argument("--umask", type=_octal, help="octal umask for modes (default 022)")
    parser.add_argument("--dir-ttl", type=float, help=f"seconds a listing is trusted (default {DEFAULT_DIR_TTL:g})")
    parser.add_argument("--attr-ttl", type=float, help=f"seconds attributes are trusted (default {DEFAULT_ATTR_TTL:g})")
    parser.add_argument("--negative-ttl", type=float, help=f"seconds a missing name is trusted (default {DEFAULT_NEGATIVE_TTL:g})")
    parser.add_argument("--cache-dir", type=Path, help="private dir for staged writes (default ~/.cache/encordfs)")
    parser.add_argument("--allow-delete-linked", action="store_true", default=None, help="let rm/overwrite delete items linked to datasets")
    parser.add_argument(
        "--allow-private-data-copy",
        action="store_true",
        default=None,
        help="let a write to a private-data item (one in your cloud bucket) replace it with an Encord-hosted copy (otherwise EROFS)",
    )
    parser.add_argument(
        "--upload-mode",
        type=UploadMode,
        choices=list(UploadMode),
        metavar="{background,sync}",
        help="close() returns once the file is journaled and uploads it in the background "
        "(default), or waits for its upload and returns its failure (sync)",
    )
    parser.add_argument(
        "--read-ahead-kb",
        type=int,
        help=f"the kernel's read-ahead for this mount, in KiB (default {DEFAULT_READ_AHEAD_KB}; "
        "0 keeps the kernel's 128): bigger read requests cost less CPU per MiB; needs root",
    )
    parser.add_argument(
        "--thumbnails",
        type=ThumbnailPolicy,
        choices=list(ThumbnailPolicy),
        metavar="{all,small,none}",
        help="what desktop thumbnailers may read: everything, files up to 8 MiB but no video (small, the default), or nothing (none)",
    )
    parser.add_argument(
        "--metrics-addr",
        type=parse_address,
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics (HOST defaults to 127.0.0.1)",
    )
    parser.add_argument(
        "--profile",
        help="take options from this [profiles.NAME] table of the config file "
        "($XDG_CONFIG_HOME/encordfs/config.toml, /etc/encordfs/config.toml); flags win",
    )
    parser.add_argument(
        "--upload-retries",
        type=int,
        metavar="N",
        help=f"tries of an upload that keeps failing transiently (5xx, 429, timeouts; backoff "
        f"from 2 s doubling up to 10 min) before it is failed for good (default {DEFAULT_UPLOAD_RETRIES})",
    )
    parser.add_argument(
        "--cache-size",
        type=parse_size,
        metavar="BYTES",
        help="bound of the content cache on the cache dir's disk (K/M/G suffixes; 0 turns it off; "
        "default 10%% of the disk's free space, at most 10G)",
    )
    parser.add_argument(
        "--cache-ttl",
        type=float,
        metavar="S",
        help=f"seconds a cached file is kept unused (default {DEFAULT_CACHE_TTL:g}, a week; 0: until room is needed)",
    )
    parser.add_argument(
        "--local-names",
        type=_globs,
        metavar="GLOB[,GLOB...]",
        help="more names (besides editors' swap, backup and lock files) kept on this mount only, never uploaded",
    )
    parser.add_argument(
        "-o",
        dest="o",
        action="append",
        default=[],
        metavar="OPT[=VAL],...",
        help="any option above as name=value (dashes as underscores), plus ro",
    )


def options_from_args(args: argparse.Namespace, config_files: list[Path] | None = None) -> MountOptions:
    """The profile's values (``--profile`` or ``-o profile=``), then ``-o`` values, then flags,
    each winning over the one before; unset ones keep the defaults ($ENCORD_DOMAIN for the domain)."""
    from encordfs.fs.config import profile_values

    from_o: dict[str, Any] = {}
    for text in args.o:
        from_o.update(parse_o(text))
    profile = getattr(args, "profile", None) or from_o.pop(PROFILE, None)
    from_o.pop(PROFILE, None)
    values: dict[str, Any] = profile_values(profile, config_files) if profile else {}
    values.update(from_o)
    for f in fields(MountOptions):
        flag = getattr(args, f.name, None)
        if flag is not None and f.name != "mountpoint":
            values[f.name] = flag
    if "domain" not in values and os.environ.get("ENCORD_DOMAIN"):
        values["domain"] = os.environ["ENCORD_DOMAIN"]
    for name in ("cache_dir", "ssh_key", "bearer_token_file"):  # the background process runs from /
        if values.get(name) is not None:
            values[name] = Path(values[name]).expanduser().absolute()
    return MountOptions(mountpoint=Path(args.mountpoint).absolute(), **values)
