"""``encordfs access``: a folder's groups, checked through the official SDK."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from encord.orm.storage import StorageUserRole

from encordfs.emulator import mediagen

from .cli_helpers import cli_fails, cli_json, cli_ok, wait_for_control

pytestmark = pytest.mark.fuse


def test_list_add_and_remove_groups(emulator: Any, fs_root: Any, mount_fs: Any, sdk_user: Any) -> None:
    team = sdk_user.create_group(f"team-{uuid.uuid4().hex[:6]}")
    admins = sdk_user.create_group(f"admins-{uuid.uuid4().hex[:6]}")
    shared = fs_root.create_subfolder("shared")
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    folder = mounted.path / "shared"
    assert cli_ok("access", str(folder)) == ""

    cli_ok("access", str(folder), "--add", team.name)
    cli_ok("access", str(folder), "--add", str(admins.group_hash), "--role", "admin")
    on_server = {g.group_hash: g.user_role for g in shared.list_groups()}
    assert on_server == {team.group_hash: StorageUserRole.USER, admins.group_hash: StorageUserRole.ADMIN}
    lines = cli_ok("access", str(folder)).splitlines()
    assert sorted(lines) == sorted([f"user\t{team.name}\t{team.group_hash}", f"admin\t{admins.name}\t{admins.group_hash}"])

    answer = cli_json("access", str(folder), "--remove", team.name)
    assert answer["groups"] == [{"hash": str(admins.group_hash), "name": admins.name, "role": "admin"}]
    assert [g.group_hash for g in shared.list_groups()] == [admins.group_hash]


def test_access_errors(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Any) -> None:
    fs_root.upload_text(mediagen.text(tmp_path / "a.txt"))
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    assert "no group 'nobody-has-this' in your organisation" in cli_fails("access", str(mounted.path), "--add", "nobody-has-this")
    assert "not a folder" in cli_fails("access", str(mounted.path / "a.txt"))
