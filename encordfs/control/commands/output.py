"""How the path commands print: plain lines by default, JSON with ``--json``, errors as
``encordfs COMMAND: what: why`` on stderr with exit 1."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from encordfs.control.protocol import ControlError

Command = Callable[[argparse.Namespace], int]


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of plain lines")


def command(name: str) -> Callable[[Command], Command]:
    """Run a command function: a ControlError is printed and exits 1; a closed stdout (``| head``)
    ends it quietly."""

    def wrap(function: Command) -> Command:
        @functools.wraps(function)
        def run(args: argparse.Namespace) -> int:
            try:
                return function(args)
            except ControlError as exc:
                print(f"encordfs {name}: {exc.message}", file=sys.stderr)
                return 1
            except BrokenPipeError:
                devnull = os.open(os.devnull, os.O_WRONLY)  # no second error when Python flushes stdout at exit
                os.dup2(devnull, sys.stdout.fileno())
                return 0

        return run

    return wrap


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False))


def print_fields(fields: list[tuple[str, Any]], indent: str = "") -> None:
    """``key: value`` lines, lists and dicts as JSON; None values left out."""
    for key, value in fields:
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        print(f"{indent}{key}: {value}")
