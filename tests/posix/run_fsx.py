"""Run xfstests' fsx (``ltp/fsx.c``, built outside this repo) on a real encordfs mount of a
private emulator: random reads, writes, truncates and (unless -R -W) mmaps of one open file,
each read checked against fsx's own copy.

    .venv/bin/python tests/posix/run_fsx.py FSX_BINARY [--encordfs-repo /work/main] [-- FSX_ARGS ...]

FSX_ARGS default to ``-N 3000 -S 0 -l 262144 -o 65536``. The file is ``d/fsx.txt``: fsx writes
binary data, which close() refuses as text (ENOTSUP) at the very end, so its last close is
expected to fail; everything before runs on the open file's staged copy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_pjdfstest import REPO, mounted

DEFAULT_ARGS = ["-N", "3000", "-S", "0", "-l", "262144", "-o", "65536"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("fsx", type=Path)
    parser.add_argument("--encordfs-repo", type=Path, default=REPO)
    parser.add_argument("--mount-option", action="append", default=[])
    argv = sys.argv[1:]
    ours, fsx_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(ours)
    fsx_args = fsx_args or DEFAULT_ARGS
    with tempfile.TemporaryDirectory(prefix="encordfs-fsx-") as scratch:
        work = Path(scratch)
        with mounted(args.encordfs_repo.resolve(), tuple(args.mount_option), work) as mountpoint:
            (mountpoint / "d").mkdir()
            run = subprocess.run(
                [str(args.fsx.resolve()), *fsx_args, "d/fsx.txt"], cwd=mountpoint, capture_output=True, text=True, timeout=1800
            )
            lines = run.stdout.splitlines()
            print(*lines[:25], "...", *lines[-8:], run.stderr[-2000:], sep="\n")
        print(
            "mount log:",
            *[line for line in (work / "mount.log").read_text().splitlines() if " WARNING " in line or " ERROR " in line][-10:],
            sep="\n",
        )
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
