"""``encordfs access FOLDER [--add GROUP]... [--remove GROUP]... [--role user|admin]``."""

from __future__ import annotations

import argparse

from encordfs.control import client
from encordfs.control.commands.output import add_json, command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    access = subparsers.add_parser(
        "access", help="list, add or remove the user groups a folder is shared with",
        description="Without --add/--remove: list the groups with access to FOLDER and their roles. "
        "GROUP is a group's name or hash in your organisation.")
    access.add_argument("path", help="a folder inside an encordfs mount")
    access.add_argument("--add", action="append", metavar="GROUP", help="share the folder with GROUP (repeatable)")
    access.add_argument("--remove", action="append", metavar="GROUP", help="stop sharing with GROUP (repeatable)")
    access.add_argument("--role", choices=("user", "admin"), default="user", help="the role --add gives (default user)")
    add_json(access)
    access.set_defaults(func=_access)


@command("access")
def _access(args: argparse.Namespace) -> int:
    target, answer = client.call_at(args.path, "access", {"add": args.add, "remove": args.remove, "role": args.role})
    answer["path"] = str(target.mount_path(answer["path"]))
    if args.json:
        print_json(answer)
        return 0
    for group in answer["groups"]:
        print(f"{group['role']}\t{group['name']}\t{group['hash']}")
    return 0
