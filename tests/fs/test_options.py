import argparse
from pathlib import Path

import pytest

from encordfs.fs.options import OptionError, add_mount_arguments, options_from_args


def parse(*argv: str):
    parser = argparse.ArgumentParser()
    add_mount_arguments(parser)
    return options_from_args(parser.parse_args(argv))


def test_every_flag_also_works_as_o() -> None:
    flags = parse(
        "/mnt",
        "--root",
        "a/b",
        "--domain",
        "http://127.0.0.1:1",
        "--ssh-key",
        "/k",
        "--bearer-token-file",
        "/t",
        "--read-only",
        "--allow-other",
        "--uid",
        "7",
        "--gid",
        "8",
        "--umask",
        "027",
        "--dir-ttl",
        "3",
        "--attr-ttl",
        "4",
        "--cache-dir",
        "/c",
        "--allow-delete-linked",
        "--allow-private-data-copy",
        "--foreground",
    )
    o = parse(
        "/mnt",
        "-o",
        "rw,nosuid,_netdev,root=a/b,domain=http://127.0.0.1:1,ssh_key=/k,bearer_token_file=/t,ro,allow_other,uid=7,gid=8",
        "-o",
        "umask=027,dir_ttl=3,attr-ttl=4,cache_dir=/c,allow_delete_linked,allow_private_data_copy,foreground",
    )
    assert flags == o
    assert o.allow_private_data_copy and not parse("/mnt").allow_private_data_copy
    assert o.read_only and o.umask == 0o027 and o.file_mode == 0o640 and o.dir_mode == 0o750 and o.uid == 7


def test_flags_win_over_o_and_defaults_apply() -> None:
    options = parse("/mnt", "-o", "dir_ttl=9", "--dir-ttl", "2")
    assert options.dir_ttl == 2 and options.attr_ttl == 10 and not options.read_only
    assert options.mountpoint == Path("/mnt")
    assert parse("/mnt").staging_dir != parse("/other").staging_dir


@pytest.mark.parametrize("bad", ["nonsense", "uid=x", "umask=9", "cache_size=-1"])
def test_bad_options_are_named(bad: str) -> None:
    with pytest.raises(OptionError, match=bad.split("=")[0]):
        parse("/mnt", "-o", bad)


def test_paths_are_made_absolute_for_the_background_process(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    options = parse("mnt", "--ssh-key", "key", "-o", "cache_dir=cache")
    assert options.mountpoint == tmp_path / "mnt" and options.ssh_key == tmp_path / "key"
    assert options.cache_dir == tmp_path / "cache"


def test_cache_size_takes_suffixes_and_ttl_seconds() -> None:
    assert parse("/mnt", "--cache-size", "2G", "--cache-ttl", "60") == parse("/mnt", "-o", "cache_size=2G,cache_ttl=60")
    assert parse("/mnt", "-o", "cache_size=512K").cache_size == 512 << 10
    assert parse("/mnt", "--cache-size", "1.5MiB").cache_size == 3 << 19
    assert parse("/mnt").cache_size is None and parse("/mnt", "--cache-size", "0").cache_size == 0
    with pytest.raises(OptionError, match="cache_size"):
        parse("/mnt", "-o", "cache_size=lots")
