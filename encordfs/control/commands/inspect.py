"""``encordfs info PATH`` and ``encordfs refresh PATH [--recursive]``."""

from __future__ import annotations

import argparse
from typing import Any

from encordfs.control import client
from encordfs.control.commands.output import add_json, command, print_fields, print_json

SUMMARY_COUNTS = (
    "folders", "files", "images", "videos", "audios", "plain_texts", "pdfs", "niftis", "dicom_files",
    "image_groups", "image_sequences", "dicom_series", "tombstones", "upload_jobs",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser(
        "info", help="what Encord knows of an item or folder in a mount",
        description="Show an item's UUID, type, size, MIME type, storage location, client metadata, "
        "description, dataset links and media fields; for a folder its details and summary.")
    info.add_argument("path", help="a file, multi-file item or folder inside an encordfs mount")
    add_json(info)
    info.set_defaults(func=_info)

    refresh = subparsers.add_parser(
        "refresh", help="forget cached listings and attributes under a path now",
        description="Forget the mount's (and the kernel's) cached listings, attributes and page cache "
        "under PATH, so the next ls or stat asks the server (for changes made elsewhere).")
    refresh.add_argument("path", help="a folder or file inside an encordfs mount")
    refresh.add_argument("--recursive", "-r", action="store_true", help="everything below PATH too, not only its entries")
    add_json(refresh)
    refresh.set_defaults(func=_refresh)


@command("info")
def _info(args: argparse.Namespace) -> int:
    target, answer = client.call_at(args.path, "info")
    answer["path"] = str(target.mount_path(answer["path"]))
    if args.json:
        print_json(answer)
    elif answer["kind"] == "item":
        _print_item(answer)
    elif answer["kind"] == "folder":
        _print_folder(answer)
    else:
        print_fields([("path", answer["path"]), ("kind", answer["kind"]), ("top-level folders", answer["folders"])])
    return 0


def _print_item(answer: dict[str, Any]) -> None:
    links = answer["dataset_links"]
    print_fields([
        ("path", answer["path"]), ("kind", "item"), ("uuid", answer["uuid"]), ("name", answer["name"]),
        ("type", answer["type"]), ("size", answer["size"]), ("mime type", answer["mime_type"]),
        ("storage location", answer["storage_location"]), ("integration", answer["integration"]),
        ("url", answer["url"]), ("description", answer["description"]),
        ("client metadata", answer["client_metadata"]), ("owner", answer["owner"]),
        ("created", answer["created_at"]), ("last edited", answer["last_edited_at"]),
        ("dataset links", links["count"]),
    ])
    for dataset in links["datasets"]:
        print(f"  dataset: {dataset['title']} ({dataset['hash']})")
    for key, value in answer["media"].items():
        print(f"{key.replace('_', ' ')}: {value}")
    if "frames" in answer:
        print(f"frames: {len(answer['frames'])}")


def _print_folder(answer: dict[str, Any]) -> None:
    print_fields([
        ("path", answer["path"]), ("kind", "folder"), ("uuid", answer["uuid"]), ("name", answer["name"]),
        ("description", answer["description"]), ("client metadata", answer["client_metadata"]),
        ("owner", answer["owner"]), ("role", answer["user_role"]), ("created", answer["created_at"]),
        ("last edited", answer["last_edited_at"]),
    ])
    summary = answer["summary"]
    print("summary:")
    for key in SUMMARY_COUNTS:
        print(f"  {key.replace('_', ' ')}: {summary[key]}")
    print(f"  total size: {int(summary['total_size'])} bytes")


@command("refresh")
def _refresh(args: argparse.Namespace) -> int:
    target, answer = client.call_at(args.path, "refresh", {"recursive": args.recursive})
    if args.json:
        print_json({**answer, "path": str(target.mount_path(answer["path"]))})
    else:
        print(f"refreshed {answer['refreshed']} cached entries under {target.mount_path(answer['path'])}")
    return 0
