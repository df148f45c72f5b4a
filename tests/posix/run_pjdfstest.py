"""Run pjdfstest (https://github.com/pjd/pjdfstest, built outside this repo) on a real encordfs
mount of a private emulator, with every generated name carrying a storable extension (.txt).

    .venv/bin/python tests/posix/run_pjdfstest.py PJDFSTEST_DIR [SUITE ...] [--log FILE] [--timeout S]
        [--encordfs-repo /work/main] [--mount-option=--upload-mode --mount-option=sync]

PJDFSTEST_DIR holds the built ``pjdfstest`` binary and its ``tests/``; SUITE names its test
directories (default: open unlink rename mkdir rmdir truncate ftruncate). The suite's own files
are never copied into this repo: its ``tests/misc.sh`` is patched in a temp copy so ``namegen``
ends names in ``.txt``. Prints ``prove``'s summary; the full TAP output goes to --log.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.conftest import sdk_client, start_emulator  # noqa: E402
from tests.fs.conftest import _mount_args, _wait_mounted, unmount  # noqa: E402

DEFAULT_SUITES = ["open", "unlink", "rename", "mkdir", "rmdir", "truncate", "ftruncate"]


def _patched_copy(source: Path, work: Path) -> Path:
    copy = work / "pjdfstest"
    shutil.copytree(source, copy, symlinks=True)
    misc = copy / "tests" / "misc.sh"
    text = misc.read_text()
    old = "awk '{print $NF}'`\""
    assert old in text, "namegen not found in misc.sh"
    misc.write_text(text.replace(old, "awk '{print $NF}'`.txt\"", 1))
    return copy


@contextmanager
def mounted(repo: Path, extra: tuple[str, ...], work: Path) -> Iterator[Path]:
    """A private emulator on 127.0.0.1 and a mount of a fresh folder of it (with ``repo``'s code),
    unmounted and stopped afterwards; the mount's log is left at ``work/mount.log``."""
    emulator = start_emulator(work / "emulator", work)
    mountpoint, cache = work / "mnt", work / "cache"
    mountpoint.mkdir()
    try:
        root = sdk_client(emulator).create_storage_folder("posix")
        command = [
            str(repo / ".venv" / "bin" / "python"),
            "-m",
            "encordfs.cli",
            *_mount_args(emulator, mountpoint, cache, root.uuid, extra),
            "--foreground",
        ]
        with (work / "mount.log").open("wb") as log:
            mount = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
        _wait_mounted(mountpoint, mount, lambda: (work / "mount.log").read_text(errors="replace"))
        try:
            yield mountpoint
        finally:
            unmount(mountpoint)
            mount.wait(timeout=60)
    finally:
        emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pjdfstest", type=Path)
    parser.add_argument("suites", nargs="*", default=DEFAULT_SUITES)
    parser.add_argument("--log", type=Path, default=Path("pjdfstest.log"))
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--mount-option", action="append", default=[], help="extra encordfs mount arguments")
    parser.add_argument("--encordfs-repo", type=Path, default=REPO, help="the checkout (with its .venv) to mount with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encordfs-pjdfstest-") as scratch:
        work = Path(scratch)
        suite = _patched_copy(args.pjdfstest.resolve(), work)
        try:
            with mounted(args.encordfs_repo.resolve(), tuple(args.mount_option), work) as mountpoint:
                tests = [str(suite / "tests" / s) for s in args.suites]
                with args.log.open("w") as out:
                    run = subprocess.run(
                        ["prove", "-rv", *tests], cwd=mountpoint, stdout=out, stderr=subprocess.STDOUT, timeout=args.timeout
                    )
        finally:
            if (work / "mount.log").exists():
                shutil.copy(work / "mount.log", args.log.with_suffix(".mount.log"))
        print(args.log.read_text().split("Test Summary Report")[-1][-6000:])  # details: "not ok" lines in --log
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
