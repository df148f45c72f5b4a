"""The config file's profiles: the -o names as keys, flags and -o winning, errors with file:line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from encordfs.fs.options import OptionError, UploadMode, add_mount_arguments, options_from_args
from encordfs.fs.thumbnails import ThumbnailPolicy

CONFIG = """\
# team settings
[profiles.cars]
domain = "http://127.0.0.1:1"
ssh_key = "~/.ssh/encord"
root = "projects/cars"
dir_ttl = 30
read_only = true
thumbnails = "none"

[profiles.other]
upload_mode = "sync"
"""


def parse(files: list[Path], *argv: str):
    parser = argparse.ArgumentParser()
    add_mount_arguments(parser)
    return options_from_args(parser.parse_args(argv), files)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def test_a_profile_gives_its_options_and_flags_win(config: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/me")
    options = parse([config], "/mnt", "--profile", "cars", "--dir-ttl", "5", "-o", "root=elsewhere")
    assert options.domain == "http://127.0.0.1:1" and options.ssh_key == Path("/home/me/.ssh/encord")
    assert options.read_only and options.thumbnails is ThumbnailPolicy.NONE
    assert options.dir_ttl == 5 and options.root == "elsewhere"
    assert parse([config], "/mnt", "-o", "profile=other,ro").upload_mode is UploadMode.SYNC
    assert parse([config], "/mnt").dir_ttl == 10, "no profile asked for: the file is not read"


def test_the_users_file_wins_over_the_system_one(config: Path, tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[profiles.cars]\ndir_ttl = 2\n\n[profiles."mine"]\nroot = "x"\n')
    options = parse([config, user], "/mnt", "--profile", "cars")
    assert options.dir_ttl == 2 and options.root == "projects/cars"
    assert parse([config, user], "/mnt", "--profile", "mine").root == "x"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[profiles.cars]\nroot = "a"\n\ndir_tl = 3\n', 4, "unknown option 'dir_tl'"),
        ('[profiles.a]\nroot = "a"\n[profiles.cars]\nroot = "b"\numask = "999"\n', 5, "umask"),
        ('[profiles.cars]\nthumbnails = "some"\n', 2, "thumbnails"),
        ('profiles.cars.uid = "x"\n', 1, "uid"),
        ("[profiles.cars]\nuid = [1]\n", 2, "must be a string"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(OptionError, match=message) as error:
        parse([path], "/mnt", "--profile", "cars")
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_a_missing_profile_names_the_known_ones(config: Path, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"no profile 'bikes' in .*\(profiles: cars, other\)"):
        parse([config, tmp_path / "absent.toml"], "/mnt", "--profile", "bikes")
    broken = tmp_path / "broken.toml"
    broken.write_text("[profiles.cars\n")
    with pytest.raises(OptionError, match=str(broken)):
        parse([broken], "/mnt", "--profile", "cars")


@pytest.mark.fuse
def test_a_mount_from_a_profile_of_the_users_config(emulator, fs_root, mount_fs, tmp_path, monkeypatch) -> None:
    (tmp_path / "xdg" / "encordfs").mkdir(parents=True)
    (tmp_path / "xdg" / "encordfs" / "config.toml").write_text(f'[profiles.team]\nroot = "{fs_root.uuid}"\nread_only = true\ndir_ttl = 1\n')
    fs_root.create_subfolder("shared")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    mnt = mount_fs(emulator, None, "--profile", "team").path
    assert [p.name for p in mnt.iterdir()] == ["shared"]
    with pytest.raises(OSError, match="Read-only"):
        (mnt / "new").mkdir()
    fstab_style = mount_fs(emulator, None, "-o", "profile=team,dir_ttl=2").path
    assert [p.name for p in fstab_style.iterdir()] == ["shared"]


def test_a_bad_profile_stops_the_mount_with_file_and_line(emulator, tmp_path, monkeypatch) -> None:
    from .conftest import encordfs

    (tmp_path / "xdg" / "encordfs").mkdir(parents=True)
    config = tmp_path / "xdg" / "encordfs" / "config.toml"
    config.write_text("[profiles.team]\nread_only = true\nno_such = 1\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "mnt").mkdir()
    result = encordfs("mount", str(tmp_path / "mnt"), "--profile", "team", "--domain", emulator.url)
    assert result.returncode == 2 and f"{config}:3: unknown option 'no_such'" in result.stderr
