"""Generated media is real (probes and decodes as its type), deterministic, and the demo tree is as promised."""

from __future__ import annotations

import gzip
import re
import struct
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import av
import pydicom
import pytest

from encordfs.emulator import mediagen
from encordfs.emulator.media import probe, sniff_item_type
from encordfs.emulator.mediagen import SampleFile, SampleFolder, SampleGroup, sample_tree
from encordfs.wire.enums import StorageItemType

T = StorageItemType


def test_jpeg_and_png_have_requested_size_and_depend_on_seed(tmp_path: Path) -> None:
    a = mediagen.jpeg(tmp_path / "a.jpg", 70, 50, seed=1)
    b = mediagen.jpeg(tmp_path / "b.jpg", 70, 50, seed=1)
    c = mediagen.jpeg(tmp_path / "c.jpg", 70, 50, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert (probe(a, T.IMAGE).width, probe(a, T.IMAGE).height) == (70, 50)
    p = mediagen.png(tmp_path / "p.png", 10, 20, seed=3)
    assert probe(p, T.IMAGE).mime_type == "image/png" and (probe(p, T.IMAGE).width, probe(p, T.IMAGE).height) == (10, 20)


@pytest.mark.parametrize("target", [20_000, 100 * 1024, 300_000])
def test_jpeg_of_size_lands_near_target(tmp_path: Path, target: int) -> None:
    path = mediagen.jpeg_of_size(tmp_path / "x.jpg", target, seed=5)
    assert abs(path.stat().st_size - target) <= target * 0.1
    assert probe(path, T.IMAGE).mime_type == "image/jpeg"


@pytest.mark.parametrize("suffix", sorted(mediagen.VIDEO_FORMATS))
def test_video_has_exact_frames_and_decodes(tmp_path: Path, suffix: str) -> None:
    path = mediagen.video(tmp_path / f"v{suffix}", seconds=0.8, fps=10, width=32, height=24, seed=1)
    info = probe(path, T.VIDEO)
    assert (info.width, info.height, info.fps, info.frame_count) == (32, 24, 10.0, 8)
    assert info.duration == pytest.approx(0.8)
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 8


def test_mp4_is_mp4_whatever_the_name(tmp_path: Path) -> None:
    path = mediagen.mp4(tmp_path / "upload-blob", seconds=0.5, fps=4)
    info = probe(path, T.VIDEO)
    assert (info.mime_type, info.frame_count, info.width, info.height) == ("video/mp4", 2, 64, 48)


def test_large_video_is_big_valid_and_quick(tmp_path: Path) -> None:
    started = time.monotonic()
    path = mediagen.large_video(tmp_path / "big.mp4", 24 << 20, seed=2)
    assert time.monotonic() - started < 10
    size = path.stat().st_size
    assert 24 << 20 <= size < (24 << 20) * 1.1
    info = probe(path, T.VIDEO)
    assert info.frame_count and info.frame_count > 8
    with av.open(str(path)) as container:  # repeated intra packets still decode, deep into the file
        frames = 0
        for _frame in container.decode(video=0):
            frames += 1
            if frames == 40:
                break
    assert frames == 40


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
def test_wav_fields(tmp_path: Path, bits: int) -> None:
    path = mediagen.wav(tmp_path / "a.wav", seconds=0.25, rate=11025, channels=2, bits=bits, seed=1)
    info = probe(path, T.AUDIO)
    assert (info.audio_sample_rate, info.audio_num_channels, info.audio_bit_depth) == (11025, 2, bits)
    assert info.audio_codec == ("pcm_u8" if bits == 8 else f"pcm_s{bits}le")
    assert info.duration == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize(
    "suffix, codec, mime, bit_depth",
    [
        (".mp3", "mp3", "audio/mpeg", None),
        (".flac", "flac", "audio/flac", 16),
        (".ogg", "opus", "audio/ogg", None),
        (".m4a", "aac", "audio/mp4", None),
    ],
)
def test_compressed_audio_fields(tmp_path: Path, suffix: str, codec: str, mime: str, bit_depth: int | None) -> None:
    path = mediagen.audio(tmp_path / f"a{suffix}", seconds=0.5, channels=2, seed=1)
    info = probe(path, T.AUDIO)
    assert (info.mime_type, info.audio_codec, info.audio_bit_depth) == (mime, codec, bit_depth)
    assert (info.audio_sample_rate, info.audio_num_channels) == (48000, 2)
    assert info.duration == pytest.approx(0.5, abs=0.1)


def test_pdf_xref_points_at_every_object(tmp_path: Path) -> None:
    path = mediagen.pdf(tmp_path / "a.pdf", pages=4, text="Weird (text) \\ café")
    data = path.read_bytes()
    assert probe(path, T.PDF).page_count == 4
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[startxref:].startswith(b"xref\n0 ")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n ", data)]
    assert [data[o:].split(b" ", 1)[0] for o in offsets] == [str(n).encode() for n in range(1, len(offsets) + 1)]
    assert b"(Weird \\(text\\) \\\\ caf\xe9 - page 1)" in data


def test_nifti_header_fields(tmp_path: Path) -> None:
    path = mediagen.nifti(tmp_path / "v.nii", shape=(3, 4, 5), seed=1)
    data = path.read_bytes()
    assert len(data) == 352 + 3 * 4 * 5
    assert struct.unpack_from("<i", data)[0] == 348 and data[344:348] == b"n+1\0"
    assert struct.unpack_from("<4h", data, 40) == (3, 3, 4, 5)
    assert struct.unpack_from("<f", data, 108)[0] == 352.0
    gz = mediagen.nifti(tmp_path / "v.nii.gz", shape=(3, 4, 5), seed=1)
    assert gzip.decompress(gz.read_bytes()) == data
    assert probe(gz, T.NIFTI).height == 4


def test_dicom_series_is_one_study_one_series(tmp_path: Path) -> None:
    paths = mediagen.dicom_series(tmp_path / "s", count=4, seed=3)
    datasets = [pydicom.dcmread(p) for p in paths]
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == 4
    assert [ds.InstanceNumber for ds in datasets] == [1, 2, 3, 4]
    assert (datasets[0].Rows, datasets[0].Columns, len(datasets[0].PixelData)) == (16, 16, 16 * 16 * 2)
    again = mediagen.dicom_series(tmp_path / "again", count=1, seed=3)
    assert pydicom.dcmread(again[0]).SOPInstanceUID == datasets[0].SOPInstanceUID
    other = mediagen.dicom_series(tmp_path / "other", count=1, seed=4)
    assert pydicom.dcmread(other[0]).StudyInstanceUID != datasets[0].StudyInstanceUID
    assert all(sniff_item_type(p) is T.DICOM_FILE for p in paths)


def test_text_and_timeseries(tmp_path: Path) -> None:
    path = mediagen.text(tmp_path / "t.txt", ["α", "β"])
    assert path.read_text(encoding="utf-8") == "α\nβ\n"
    csv = mediagen.csv_timeseries(tmp_path / "s.csv", rows=3, channels=("x",))
    assert csv.read_text().splitlines()[0] == "time,x" and len(csv.read_text().splitlines()) == 4
    assert probe(csv, T.TIMESERIES).mime_type == "text/csv"


# --- the demo tree -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SampleFolder], float]:
    started = time.monotonic()
    folders = sample_tree(tmp_path_factory.mktemp("tree"), seed=0)
    return folders, time.monotonic() - started


def _walk(folders: list[SampleFolder], depth: int = 1) -> Iterator[tuple[int, SampleFolder]]:
    for folder in folders:
        yield depth, folder
        yield from _walk(folder.folders, depth + 1)


def _files(folders: list[SampleFolder]) -> list[SampleFile]:
    return [f for _, folder in _walk(folders) for f in folder.files]


def _groups(folders: list[SampleFolder]) -> list[SampleGroup]:
    return [g for _, folder in _walk(folders) for g in folder.groups]


def test_tree_is_quick_nested_and_sized(tree: tuple[list[SampleFolder], float]) -> None:
    folders, seconds = tree
    assert seconds < 10
    assert max(depth for depth, _ in _walk(folders)) == 3
    assert 250 <= len(_files(folders)) + len(_groups(folders)) <= 350
    assert all(folder.description for _, folder in _walk(folders))


def test_tree_covers_every_type(tree: tuple[list[SampleFolder], float]) -> None:
    folders, _ = tree
    types = Counter(f.item_type for f in _files(folders))
    assert set(types) == {T.IMAGE, T.VIDEO, T.AUDIO, T.PLAIN_TEXT, T.PDF, T.NIFTI}
    suffixes = {f.title.rsplit(".", 1)[-1] for f in _files(folders)}
    assert {"jpg", "png", "mp4", "wav", "mp3", "txt", "json", "csv", "md", "pdf", "nii", "gz"} <= suffixes
    assert sorted(g.kind for g in _groups(folders)) == sorted([T.IMAGE_GROUP, T.IMAGE_SEQUENCE, T.DICOM_SERIES])


def test_every_tree_file_probes_as_its_type(tree: tuple[list[SampleFolder], float]) -> None:
    folders, _ = tree
    for sample in _files(folders):
        assert sample.path.is_file()
        assert sniff_item_type(sample.path) is sample.item_type, sample.title
        probe(sample.path, sample.item_type)
    for group in _groups(folders):
        frame_type = T.DICOM_FILE if group.kind is T.DICOM_SERIES else T.IMAGE
        assert len(group.frames) >= 3
        assert all(probe(frame, frame_type) for frame in group.frames)
    series = next(g for g in _groups(folders) if g.kind is T.DICOM_SERIES)
    assert len({probe(p, T.DICOM_FILE).dicom_series_uid for p in series.frames}) == 1


def test_tree_names_exercise_the_filesystem(tree: tuple[list[SampleFolder], float]) -> None:
    folders, _ = tree
    titles = [f.title for f in _files(folders)]
    assert any(" " in t for t in titles)
    assert any(not t.isascii() for t in titles)
    assert any(not folder.name.isascii() for _, folder in _walk(folders))
    clashes = [
        (folder.name, title) for _, folder in _walk(folders) for title, count in Counter(f.title for f in folder.files).items() if count > 1
    ]
    assert clashes == [("Street scenes", "street-0007.jpg")]
    paths = [f.path for f in _files(folders)]
    assert len(set(paths)) == len(paths)


def test_tree_is_deterministic(tmp_path: Path, tree: tuple[list[SampleFolder], float]) -> None:
    folders, _ = tree
    again = sample_tree(tmp_path, seed=0)
    first, second = _files(folders), _files(again)
    assert [f.title for f in first] == [f.title for f in second]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first[:40], second[:40]))


GENERATORS = {
    "jpeg": lambda d, seed: mediagen.jpeg(d / "x.jpg", seed=seed),
    "png": lambda d, seed: mediagen.png(d / "x.png", seed=seed),
    "jpeg_of_size": lambda d, seed: mediagen.jpeg_of_size(d / "x.jpg", 30_000, seed=seed),
    "mp4": lambda d, seed: mediagen.mp4(d / "x.mp4", seconds=0.3, seed=seed),
    "webm": lambda d, seed: mediagen.video(d / "x.webm", seconds=0.3, seed=seed),
    "mkv": lambda d, seed: mediagen.video(d / "x.mkv", seconds=0.3, seed=seed),
    "large_video": lambda d, seed: mediagen.large_video(d / "x.mp4", 1 << 20, seed=seed),
    "wav": lambda d, seed: mediagen.wav(d / "x.wav", seconds=0.1, seed=seed),
    "mp3": lambda d, seed: mediagen.mp3(d / "x.mp3", seconds=0.1, seed=seed),
    "ogg": lambda d, seed: mediagen.audio(d / "x.ogg", seconds=0.1, seed=seed),
    "m4a": lambda d, seed: mediagen.audio(d / "x.m4a", seconds=0.1, seed=seed),
    "nifti": lambda d, seed: mediagen.nifti(d / "x.nii.gz", seed=seed),
    "dicom": lambda d, seed: mediagen.dicom_series(d / "s", count=1, seed=seed)[0],
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_from_the_seed(tmp_path: Path, name: str) -> None:
    make = GENERATORS[name]
    first = make(tmp_path / "a", 1).read_bytes()
    assert make(tmp_path / "b", 1).read_bytes() == first
    assert make(tmp_path / "c", 2).read_bytes() != first
