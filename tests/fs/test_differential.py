"""A differential test of a real mount (default background upload mode) against a local directory,
in the spirit of JuiceFS's Hypothesis ``RuleBasedStateMachine``: random create / write / overwrite
/ append / rename / unlink / mkdir / rmdir sequences are applied to both, each call must succeed or
fail with the same errno on both, both trees must look alike after every step, and at the end of a
sequence, once the uploads have landed, the mount, a fresh mount of the same root (a new cache
dir) and the server (through the SDK) must all equal the local directory: names, types, bytes.

Encord's own limits are kept out of the sequences rather than expected: every file name has a
storable extension (``.txt``) and holds UTF-8 text, and the mount has a ``--root`` folder so that
files may live at its top.

The suite runs a fixed set of sequences; ``ENCORDFS_HYPOTHESIS_RANDOM=1`` (and a bigger
``ENCORDFS_HYPOTHESIS_EXAMPLES``) explores new ones each run.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.fs.conftest import unmount
from tests.fs.landing import mount_tree, pending, settled_tree

pytestmark = pytest.mark.fuse

DIRS = ["a", "b", "a/c"]
FILES = [f"{d}{n}" for d in ("", "a/", "b/", "a/c/") for n in ("x.txt", "y.txt")]
PATHS = st.sampled_from(FILES)
ANY_PATHS = st.sampled_from(FILES + DIRS)
CONTENT = st.text(alphabet="ab\n\u00e9", max_size=24).map(str.encode)


def _write(path: Path, content: bytes, flags: int) -> None:
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)  # close() is where the mount journals, or refuses


def errno_of(call: Callable[..., Any], *args: Any) -> int:
    try:
        call(*args)
    except OSError as exc:
        return exc.errno or -1
    return 0


@dataclass
class World:
    """What the machine runs against: the mount, a scratch dir for the reference trees, and the
    fixtures to mount afresh and read the server."""

    emulator: Any
    fs_root: Any
    mount_fs: Callable[..., Any]
    mounted: Any
    local: Path
    counter: itertools.count  # type: ignore[type-arg]
    log: list[str]


def machine_for(world: World) -> type[RuleBasedStateMachine]:
    class MountMatchesLocalDir(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.name = f"ex{next(world.counter)}"
            self.mnt, self.ref = world.mounted.path / self.name, world.local / self.name
            self.mnt.mkdir()
            self.ref.mkdir()
            self.steps: list[str] = []

        def both(self, what: str, call: Callable[..., Any], paths: tuple[str, ...], *extra: Any) -> None:
            self.steps.append(f"{what} {' '.join(paths)} {' '.join(map(repr, extra))}".rstrip())
            expected = errno_of(call, *(self.ref / p for p in paths), *extra)
            found = errno_of(call, *(self.mnt / p for p in paths), *extra)
            assert found == expected, (
                f"{what} {paths}: mount {os.strerror(found) if found else 'ok'}, local "
                f"{os.strerror(expected) if expected else 'ok'}; steps: {self.steps}"
            )

        @rule(path=PATHS, content=CONTENT)
        def create(self, path: str, content: bytes) -> None:
            self.both("create", _write, (path,), content, os.O_CREAT | os.O_EXCL)

        @rule(path=PATHS, content=CONTENT)
        def overwrite(self, path: str, content: bytes) -> None:
            self.both("overwrite", _write, (path,), content, os.O_CREAT | os.O_TRUNC)

        @rule(path=PATHS, content=CONTENT)
        def append(self, path: str, content: bytes) -> None:
            self.both("append", _write, (path,), content, os.O_APPEND)

        @rule(source=ANY_PATHS, dest=ANY_PATHS)
        def rename(self, source: str, dest: str) -> None:
            self.both("rename", os.rename, (source, dest))

        @rule(path=PATHS)
        def unlink(self, path: str) -> None:
            self.both("unlink", os.unlink, (path,))

        @rule(path=st.sampled_from(DIRS))
        def mkdir(self, path: str) -> None:
            self.both("mkdir", os.mkdir, (path,))

        @rule(path=st.sampled_from(DIRS))
        def rmdir(self, path: str) -> None:
            self.both("rmdir", os.rmdir, (path,))

        @invariant()
        def trees_alike(self) -> None:
            assert mount_tree(self.mnt) == mount_tree(self.ref), f"steps: {self.steps}"

        def teardown(self) -> None:
            expected = mount_tree(self.ref)
            try:
                folder = next(f for f in world.fs_root.list_subfolders() if f.name == self.name)
                server = settled_tree(folder, world.mounted.cache_dir, expected, timeout=15)
                assert server == expected, f"server differs; steps: {self.steps}"
                assert mount_tree(self.mnt) == expected, f"mount differs after the uploads; steps: {self.steps}"
                fresh = world.mount_fs(world.emulator, world.fs_root.uuid)
                try:
                    assert mount_tree(fresh.path / self.name) == expected, f"a fresh mount differs; steps: {self.steps}"
                finally:
                    unmount(fresh.path)
                    fresh.process.wait(timeout=30)
            finally:
                world.log.append(f"{self.name}: {len(self.steps)} steps, journal left {len(pending(world.mounted.cache_dir))}")
                shutil.rmtree(self.ref)

    return MountMatchesLocalDir


def test_random_sequences_leave_the_mount_a_fresh_mount_and_the_server_equal_to_a_local_dir(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    local = tmp_path / "local"
    local.mkdir()
    world = World(emulator, fs_root, mount_fs, mounted, local, itertools.count(), [])
    run_state_machine_as_test(
        machine_for(world),
        # no shrinking: on a real mount each replay costs seconds, and the steps are in the message.
        # The suite runs the same sequences every time (a CI run must not depend on luck);
        # ENCORDFS_HYPOTHESIS_RANDOM=1 explores new ones.
        settings=settings(
            derandomize=not os.environ.get("ENCORDFS_HYPOTHESIS_RANDOM"),
            max_examples=int(os.environ.get("ENCORDFS_HYPOTHESIS_EXAMPLES", "12")),
            stateful_step_count=25,
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        ),
    )
    print("\n".join(world.log))
