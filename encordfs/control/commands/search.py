"""``encordfs search PATH [filters]``: a server-side item search, printed as mount paths as the
pages arrive."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from encordfs.control import client
from encordfs.control.commands.output import add_json, command

TYPES = {
    "image": "image", "video": "video", "audio": "audio", "text": "plainText", "pdf": "pdf", "nifti": "nifti",
    "dicom": "dicomFile", "image-group": "imageGroup", "image-sequence": "imageSequence", "dicom-series": "dicomSeries",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search", help="search a folder's items on the server; prints mount paths",
        description="Search the items of a folder in a mount on the server (the SDK's list_items / "
        "find_items) and print their paths in the mount, one per line, as the pages arrive.")
    search.add_argument("path", help="a folder inside an encordfs mount")
    search.add_argument("--name", metavar="TEXT", help="the title contains TEXT (case-insensitive)")
    search.add_argument("--type", dest="types", action="append", choices=sorted(TYPES), metavar="TYPE",
                        help=f"only items of this type (repeatable): {', '.join(TYPES)}")
    linked = search.add_mutually_exclusive_group()
    linked.add_argument("--in-dataset", dest="in_dataset", action="store_true", default=None,
                        help="only items linked to a dataset")
    linked.add_argument("--not-in-dataset", dest="in_dataset", action="store_false", help="only items in no dataset")
    search.add_argument("--recursive", "-r", action="store_true", help="subfolders too (find_items)")
    search.add_argument("--order", choices=("name", "created", "size"), default="name",
                        help="sort by name (default), creation time or size (size waits for every result)")
    search.add_argument("--desc", action="store_true", help="descending order")
    search.add_argument("-0", "--null", dest="null", action="store_true",
                        help="end each path with NUL instead of a newline (for xargs -0)")
    add_json(search)
    search.set_defaults(func=_search)


@command("search")
def _search(args: argparse.Namespace) -> int:
    target = client.find_mount(args.path)
    end = "\0" if args.null else "\n"
    out = sys.stdout

    def page(progress: dict[str, Any]) -> None:
        for item in progress.get("items", ()):
            path = str(target.mount_path(item["path"]))
            if args.json:
                out.write(json.dumps({**item, "path": path}) + "\n")
            else:
                out.write(path + end)
        out.flush()

    request = {
        "path": target.relative, "name": args.name, "types": [TYPES[t] for t in args.types or ()],
        "in_dataset": args.in_dataset, "recursive": args.recursive, "order": args.order, "desc": args.desc,
    }
    client.call(target.socket, "search", request, page)
    return 0
