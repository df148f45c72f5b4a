"""``encordfs search``: a server-side search printed as mount paths, equal to the SDK's results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from encord.orm.storage import FoldersSortBy, StorageItemType

from encordfs.emulator import mediagen

from .cli_helpers import cli_fails, cli_ok, seed_texts, wait_for_control
from .conftest import _env

pytestmark = pytest.mark.fuse


@pytest.fixture
def tree(fs_root: Any, emulator: Any, tmp_path: Path) -> dict[str, Any]:
    """fs_root: cat.jpg, dog.jpg (in a dataset), clip.mp4, two items titled dup.jpg next to a
    folder dup.jpg, and sub/ with kitten.jpg, notes.txt and sub/deeper/cat2.jpg."""
    src = tmp_path / "src"
    src.mkdir()
    uuids = {
        "cat.jpg": fs_root.upload_image(mediagen.jpeg(src / "cat.jpg", seed=1)),
        "dog.jpg": fs_root.upload_image(mediagen.jpeg(src / "dog.jpg", seed=2, width=128)),
        "clip.mp4": fs_root.upload_video(mediagen.mp4(src / "clip.mp4", seconds=0.3)),
    }
    fs_root.create_subfolder("dup.jpg")
    uuids["dup1"] = fs_root.upload_image(mediagen.jpeg(src / "dup.jpg", seed=3), title="dup.jpg")
    uuids["dup2"] = fs_root.upload_image(mediagen.jpeg(src / "dup.jpg", seed=4), title="dup.jpg")
    sub = fs_root.create_subfolder("sub")
    uuids["kitten.jpg"] = sub.upload_image(mediagen.jpeg(src / "kitten.jpg", seed=5))
    uuids["notes.txt"] = sub.upload_text(mediagen.text(src / "notes.txt"))
    deeper = sub.create_subfolder("deeper")
    uuids["cat2.jpg"] = deeper.upload_image(mediagen.jpeg(src / "cat2.jpg", seed=6))
    emulator.link_datasets(uuids["dog.jpg"], 1)
    return {"root": fs_root, "sub": sub, "uuids": uuids}


def uuid_at(path: Path) -> str:
    return os.getxattr(path, "user.encord.uuid").decode()


def search_paths(mount: Path, *args: str) -> list[Path]:
    return [Path(line) for line in cli_ok("search", str(mount), *args).splitlines()]


@pytest.mark.parametrize(
    ("flags", "sdk_args"),
    [
        (("--name", "cat"), {"search": "cat"}),
        (("--name", "cat", "--recursive"), {"search": "cat", "recursive": True}),
        (("--type", "image", "--recursive"), {"item_types": [StorageItemType.IMAGE], "recursive": True}),
        (("--type", "image", "--type", "video"), {"item_types": [StorageItemType.IMAGE, StorageItemType.VIDEO]}),
        (("--type", "image", "--in-dataset", "--recursive"), {"item_types": [StorageItemType.IMAGE], "is_in_dataset": True, "recursive": True}),
        (("--type", "image", "--not-in-dataset"), {"item_types": [StorageItemType.IMAGE], "is_in_dataset": False}),
        (("--name", "jpg", "--recursive", "--order", "created", "--desc"),
         {"search": "jpg", "recursive": True, "order": FoldersSortBy.CREATED_AT, "desc": True}),
        (("--name", ".jpg"), {"search": ".jpg"}),
    ],
)
def test_search_prints_the_sdks_results_as_mount_paths(
    tree: dict[str, Any], emulator: Any, mount_fs: Any, flags: tuple[str, ...], sdk_args: dict[str, Any]
) -> None:
    mounted = mount_fs(emulator, tree["root"].uuid)
    wait_for_control(mounted.path)
    recursive = sdk_args.pop("recursive", False)
    folder = tree["root"]
    expected = list(folder.find_items(**sdk_args) if recursive else folder.list_items(**sdk_args))
    assert expected, "the case must find something"
    found = search_paths(mounted.path, *flags)
    assert [uuid_at(p) for p in found] == [str(i.uuid) for i in expected]
    for path, item in zip(found, expected):  # each is a path ls shows in its directory
        assert path.name in os.listdir(path.parent)
        assert path.is_relative_to(mounted.path)
        if item.name != "dup.jpg":
            assert path.name == item.name


def test_duplicates_get_the_names_ls_gives_them(tree: dict[str, Any], emulator: Any, mount_fs: Any) -> None:
    mounted = mount_fs(emulator, tree["root"].uuid)
    wait_for_control(mounted.path)
    found = search_paths(mounted.path, "--name", "dup")
    assert sorted(uuid_at(p) for p in found) == sorted(str(tree["uuids"][k]) for k in ("dup1", "dup2"))
    assert all("%~" in p.name for p in found)  # the folder dup.jpg keeps the plain name
    assert (mounted.path / "dup.jpg").is_dir()


def test_size_order_json_and_nul_output(tree: dict[str, Any], emulator: Any, mount_fs: Any, tmp_path: Path) -> None:
    mounted = mount_fs(emulator, tree["root"].uuid)
    wait_for_control(mounted.path)
    result = cli_ok("search", str(mounted.path), "--type", "image", "--order", "size", "--desc", "--json")
    rows = [json.loads(line) for line in result.splitlines()]
    sizes = [r["size"] for r in rows]
    assert sizes == sorted(sizes, reverse=True) and len(rows) == 4
    assert {r["uuid"] for r in rows} == {str(tree["uuids"][k]) for k in ("cat.jpg", "dog.jpg", "dup1", "dup2")}
    assert all(Path(r["path"]).stat().st_size == r["size"] for r in rows)

    out = tmp_path / "out"
    out.mkdir()
    pipeline = f"{sys.executable} -m encordfs.cli search {mounted.path} --type image --recursive -0 | xargs -0 cp -t {out}/"
    subprocess.run(pipeline, shell=True, check=True, env=_env(), timeout=60)
    assert sorted(os.listdir(out)) == sorted(["cat.jpg", "dog.jpg", "kitten.jpg", "cat2.jpg"]
                                             + [p.name for p in mounted.path.glob("dup%~*.jpg")])
    assert (out / "kitten.jpg").read_bytes() == (mounted.path / "sub" / "kitten.jpg").read_bytes()


def test_search_of_a_subfolder_and_errors(tree: dict[str, Any], emulator: Any, mount_fs: Any) -> None:
    mounted = mount_fs(emulator, tree["root"].uuid)
    wait_for_control(mounted.path)
    assert search_paths(mounted.path / "sub", "--name", "cat", "-r") == [mounted.path / "sub" / "deeper" / "cat2.jpg"]
    assert search_paths(mounted.path / "sub", "--name", "zebra") == []
    assert "not a folder" in cli_fails("search", str(mounted.path / "cat.jpg"), "--name", "x")
    assert "No such file" in cli_fails("search", str(mounted.path / "nope"), "--name", "x")


def test_search_from_the_storage_root(tree: dict[str, Any], emulator: Any, mount_fs: Any) -> None:
    """A mount of the whole storage: the top-level folders are searched in turn, paths start at them."""
    mounted = mount_fs(emulator, None)
    wait_for_control(mounted.path)
    top = mounted.path / tree["root"].name
    found = search_paths(mounted.path, "--name", "kitten", "--recursive")  # other tests' trees have one too
    assert top / "sub" / "kitten.jpg" in found
    assert uuid_at(top / "sub" / "kitten.jpg") == str(tree["uuids"]["kitten.jpg"])
    assert all(p.name == "kitten.jpg" and p.parent.name == "sub" for p in found)
    assert "holds only folders (add --recursive)" in cli_fails("search", str(mounted.path), "--name", "kitten")


BIG = 20_000  # 100,000 in the measurement of docs/usage.md; 20,000 keep the suite fast


@pytest.mark.parametrize("flags", [("--name", "t"), ("--type", "text")])
def test_the_first_path_of_a_big_folder_comes_within_a_second(
    emulator: Any, fs_root: Any, mount_fs: Any, signed_api: Any, big_folder: str, flags: tuple[str, ...]
) -> None:
    """Pages stream: the first path prints long before a big folder is all found."""
    mounted = mount_fs(emulator, big_folder)
    wait_for_control(mounted.path)
    started = time.monotonic()
    search = subprocess.Popen([sys.executable, "-m", "encordfs.cli", "search", str(mounted.path), *flags],
                              stdout=subprocess.PIPE, text=True, env=_env())
    assert search.stdout is not None
    first = search.stdout.readline()
    first_after = time.monotonic() - started
    rest = search.stdout.read().splitlines()
    assert search.wait(timeout=120) == 0
    assert first.strip() == str(mounted.path / "t000000.txt")
    assert first_after < 1.0, f"first path after {first_after:.2f}s"
    assert len(rest) + 1 == BIG and rest[-1] == str(mounted.path / f"t{BIG - 1:06}.txt")


@pytest.fixture(scope="module")
def big_folder(emulator: Any, signed_api: Any) -> str:
    folder = signed_api.create_folder(f"big-{time.time_ns()}")
    seed_texts(emulator, signed_api, folder, BIG)
    return folder
