"""The config file: named profiles of mount options, so a command line needs only ``--profile``.

``$XDG_CONFIG_HOME/encordfs/config.toml`` (default ``~/.config``) and ``/etc/encordfs/config.toml``
hold ``[profiles.NAME]`` tables whose keys are the ``-o`` spellings of the options (``options.py``
is the one list of them)::

    [profiles.cars]
    domain = "https://api.encord.com"
    ssh_key = "~/.ssh/encord"
    root = "projects/cars"
    dir_ttl = 30
    read_only = true

A profile in both files is merged, the user's keys winning. An unknown key or a bad value is an
error naming the file and the line.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from encordfs.fs.options import PROFILE, OptionError, option_names, parse_option

SYSTEM_CONFIG = Path("/etc/encordfs/config.toml")


def config_files() -> list[Path]:
    """The config files in the order they apply (later ones win)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [SYSTEM_CONFIG, Path(base) / "encordfs" / "config.toml"]


def profile_values(name: str, files: list[Path] | None = None) -> dict[str, Any]:
    """The dataclass field values of profile ``name`` from the config files that exist."""
    values: dict[str, Any] = {}
    found: list[Path] = []
    known: set[str] = set()
    for path in files if files is not None else config_files():
        if not path.is_file():
            continue
        text = path.read_text()
        try:
            profiles = tomllib.loads(text).get("profiles", {})
        except tomllib.TOMLDecodeError as exc:
            raise OptionError(f"{path}: {exc}") from exc
        if not isinstance(profiles, dict):
            raise OptionError(f"{path}:{_line_of(text, r'profiles')}: 'profiles' must be tables ([profiles.NAME])")
        known.update(profiles)
        table = profiles.get(name)
        if table is None:
            continue
        found.append(path)
        if not isinstance(table, dict):
            raise OptionError(f"{path}:{_line_of(text, re.escape(name))}: profile {name!r} must be a table")
        for key, value in table.items():
            values.update([_value(path, text, name, key, value)])
    if not found:
        where = ", ".join(str(p) for p in (files if files is not None else config_files()))
        raise OptionError(f"no profile {name!r} in {where}" + (f" (profiles: {', '.join(sorted(known))})" if known else ""))
    return values


def _value(path: Path, text: str, profile: str, key: str, value: Any) -> tuple[str, Any]:
    where = f"{path}:{_key_line(text, profile, key)}"
    if key not in option_names() or key == PROFILE:
        raise OptionError(
            f"{where}: unknown option {key!r} in [profiles.{profile}] "
            f"(the options are the -o names: {', '.join(sorted(option_names() - {PROFILE}))})"
        )
    if isinstance(value, bool):
        raw = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        raw = str(value)
    else:
        raise OptionError(f"{where}: {key!r} must be a string, number or boolean")
    if key in ("ssh_key", "bearer_token_file", "cache_dir"):
        raw = str(Path(raw).expanduser())
    try:
        return parse_option(key, raw)
    except OptionError as exc:
        raise OptionError(f"{where}: {exc}") from exc


def _key_line(text: str, profile: str, key: str) -> int:
    """The line of ``key`` in table ``[profiles.<profile>]`` (tomllib gives no positions): the
    first line setting it after the table's header, else a dotted ``profiles.<profile>.key``."""
    lines = text.splitlines()
    name = rf"(?:{re.escape(profile)}|\"{re.escape(profile)}\"|'{re.escape(profile)}')"
    header = re.compile(rf"^\s*\[\s*profiles\s*\.\s*{name}\s*\]")
    any_header = re.compile(r"^\s*\[")
    setting = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    inside = False
    for number, line in enumerate(lines, 1):
        if header.match(line):
            inside = True
        elif any_header.match(line):
            inside = False
        elif inside and setting.match(line):
            return number
    return _line_of(text, rf"profiles\s*\.\s*{name}\s*\.\s*{re.escape(key)}\s*=")


def _line_of(text: str, pattern: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(pattern, line):
            return number
    return 1
