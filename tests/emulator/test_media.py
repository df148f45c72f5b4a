"""Probing and sniffing: real files give real metadata; the wrong bytes for a type are refused."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import pytest

from encordfs.emulator import mediagen
from encordfs.emulator.media import MediaInfo, UnsupportedMedia, probe, sniff_item_type
from encordfs.wire.enums import StorageItemType

T = StorageItemType


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small file of each kind, made once for the module."""
    d = tmp_path_factory.mktemp("media")
    return {
        "jpeg": mediagen.jpeg(d / "a.jpg", 40, 30),
        "png": mediagen.png(d / "a.png", 33, 17),
        "mp4": mediagen.mp4(d / "a.mp4", seconds=1.5, fps=10, width=48, height=32),
        "wav": mediagen.wav(d / "a.wav", seconds=0.5, rate=8000, channels=2, bits=24),
        "mp3": mediagen.mp3(d / "a.mp3", seconds=0.5),
        "pdf": mediagen.pdf(d / "a.pdf", pages=3),
        "nii": mediagen.nifti(d / "a.nii", shape=(5, 6, 7)),
        "niigz": mediagen.nifti(d / "a.nii.gz", shape=(3, 2)),
        "txt": mediagen.text(d / "a.txt", ["plain words", "more words"]),
        "dcm": mediagen.dicom_series(d / "dcm", count=1)[0],
        "csv": mediagen.csv_timeseries(d / "series.csv", rows=5),
        "random": _write(d / "random.bin", random.Random(1).randbytes(4096)),
        "empty": _write(d / "empty", b""),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_image_probe_reads_real_dimensions_and_mime(files: dict[str, Path]) -> None:
    assert probe(files["jpeg"], T.IMAGE) == MediaInfo(mime_type="image/jpeg", width=40, height=30)
    assert probe(files["png"], T.IMAGE) == MediaInfo(mime_type="image/png", width=33, height=17)


@pytest.mark.parametrize("fmt, mime", [("GIF", "image/gif"), ("BMP", "image/bmp"), ("TIFF", "image/tiff"), ("WEBP", "image/webp")])
def test_image_probe_knows_other_formats(tmp_path: Path, fmt: str, mime: str) -> None:
    from PIL import Image

    path = tmp_path / "img"
    Image.new("RGB", (7, 5), (1, 2, 3)).save(path, format=fmt)
    assert probe(path, T.IMAGE) == MediaInfo(mime_type=mime, width=7, height=5)


def test_truncated_jpeg_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["jpeg"].read_bytes()
    cut = _write(tmp_path / "cut.jpg", data[: len(data) // 2])
    with pytest.raises(UnsupportedMedia, match="expected an image"):
        probe(cut, T.IMAGE)


def test_video_probe_reads_header_fields(files: dict[str, Path]) -> None:
    info = probe(files["mp4"], T.VIDEO)
    assert (info.mime_type, info.width, info.height, info.fps, info.frame_count) == ("video/mp4", 48, 32, 10.0, 15)
    assert info.duration == pytest.approx(1.5)


def test_audio_probe_wav_fields(files: dict[str, Path]) -> None:
    info = probe(files["wav"], T.AUDIO)
    assert info == MediaInfo(
        mime_type="audio/wav",
        duration=pytest.approx(0.5),
        audio_sample_rate=8000,
        audio_bit_depth=24,
        audio_codec="pcm_s24le",
        audio_num_channels=2,
    )


def test_audio_probe_mp3_reports_codec_not_decoder_name(files: dict[str, Path]) -> None:
    info = probe(files["mp3"], T.AUDIO)
    assert (info.mime_type, info.audio_codec, info.audio_sample_rate, info.audio_num_channels) == (
        "audio/mpeg",
        "mp3",
        44100,
        1,
    )
    assert info.audio_bit_depth is None
    assert info.duration == pytest.approx(0.5, abs=0.1)


def test_pdf_probe_counts_pages(files: dict[str, Path]) -> None:
    assert probe(files["pdf"], T.PDF) == MediaInfo(mime_type="application/pdf", page_count=3)


def test_nifti_probe_plain_and_gzipped(files: dict[str, Path]) -> None:
    assert probe(files["nii"], T.NIFTI) == MediaInfo(mime_type="application/nifti", width=5, height=6)
    assert probe(files["niigz"], T.NIFTI) == MediaInfo(mime_type="application/nifti", width=3, height=2)


def test_nifti2_header_is_accepted(tmp_path: Path) -> None:
    header = bytearray(540)
    struct.pack_into("<i", header, 0, 540)
    header[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<8q", header, 16, 3, 9, 8, 7, 1, 1, 1, 1)
    path = _write(tmp_path / "v2.nii.gz", gzip.compress(bytes(header) + bytes(4)))
    assert probe(path, T.NIFTI).width == 9
    assert sniff_item_type(path) is T.NIFTI


def test_dicom_probe_reads_uids(files: dict[str, Path]) -> None:
    info = probe(files["dcm"], T.DICOM_FILE)
    assert info.mime_type == "application/dicom"
    assert (info.width, info.height) == (16, 16)
    for uid in (info.dicom_instance_uid, info.dicom_study_uid, info.dicom_series_uid):
        assert uid and all(part.isdigit() for part in uid.split("."))
    assert len({info.dicom_instance_uid, info.dicom_study_uid, info.dicom_series_uid}) == 3


@pytest.mark.parametrize(
    "name, body, mime",
    [
        ("notes.txt", "just some words\n", "text/plain"),
        ("blob", '{"a": [1, 2]}', "application/json"),
        ("blob", "# Title\n\nsome *markdown*\n", "text/markdown"),
        ("blob", "a,b,c\n1,2,3\n4,5,6\n", "text/csv"),
        ("blob", '<?xml version="1.0"?><a/>', "application/xml"),
        ("README.md", "no heading at all", "text/markdown"),
        ("blob", "\ufeffBOM and ünïcödé ✓", "text/plain"),
    ],
)
def test_text_probe_guesses_mime(tmp_path: Path, name: str, body: str, mime: str) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    assert probe(path, T.PLAIN_TEXT) == MediaInfo(mime_type=mime)


def test_timeseries_probe(files: dict[str, Path], tmp_path: Path) -> None:
    assert probe(files["csv"], T.TIMESERIES) == MediaInfo(mime_type="text/csv")
    words = _write(tmp_path / "words.csv", b"time,label\n0.1,cat\n")
    with pytest.raises(UnsupportedMedia, match="time-series"):
        probe(words, T.TIMESERIES)


@pytest.mark.parametrize(
    "kind, item_type, expected, found",
    [
        ("jpeg", T.VIDEO, "expected a video", "found image data"),
        ("jpeg", T.AUDIO, "expected audio", "found image data"),
        ("txt", T.PDF, "expected a PDF", "found plainText data"),
        ("txt", T.IMAGE, "expected an image", "found plainText data"),
        ("txt", T.VIDEO, "expected a video", "found plainText data"),
        ("random", T.IMAGE, "expected an image", "found unrecognised bytes"),
        ("random", T.PLAIN_TEXT, "expected UTF-8 text", "found unrecognised bytes"),
        ("random", T.NIFTI, "expected a NIfTI", "found unrecognised bytes"),
        ("mp4", T.AUDIO, "expected audio", "found video data"),
        ("wav", T.VIDEO, "expected a video", "found audio data"),
        ("pdf", T.PLAIN_TEXT, "expected UTF-8 text", "found pdf data"),
        ("nii", T.IMAGE, "expected an image", "found nifti data"),
        ("png", T.DICOM_FILE, "expected a DICOM", "found image data"),
        ("empty", T.PDF, "expected a PDF", "found an empty file"),
    ],
)
def test_wrong_type_is_refused_with_what_was_found(
    files: dict[str, Path], kind: str, item_type: StorageItemType, expected: str, found: str
) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        probe(files[kind], item_type)
    assert expected in str(caught.value) and found in str(caught.value)


def test_unsupported_media_is_a_value_error() -> None:
    assert issubclass(UnsupportedMedia, ValueError)


def test_composite_types_have_no_probe(files: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedMedia, match="imageGroup"):
        probe(files["jpeg"], T.IMAGE_GROUP)


@pytest.mark.parametrize(
    "kind, item_type",
    [
        ("jpeg", T.IMAGE),
        ("png", T.IMAGE),
        ("mp4", T.VIDEO),
        ("wav", T.AUDIO),
        ("mp3", T.AUDIO),
        ("pdf", T.PDF),
        ("nii", T.NIFTI),
        ("niigz", T.NIFTI),
        ("txt", T.PLAIN_TEXT),
        ("csv", T.PLAIN_TEXT),
        ("dcm", T.DICOM_FILE),
        ("random", None),
        ("empty", None),
    ],
)
def test_sniff_item_type(files: dict[str, Path], kind: str, item_type: StorageItemType | None) -> None:
    assert sniff_item_type(files[kind]) is item_type


def test_large_video_probe_is_header_only(tmp_path: Path) -> None:
    """Probing must not read the stream: a 32 MiB video probes in well under a second."""
    import time

    path = mediagen.large_video(tmp_path / "big.mp4", 32 << 20)
    started = time.monotonic()
    info = probe(path, T.VIDEO)
    assert time.monotonic() - started < 1.0
    assert (info.width, info.height, info.fps) == (1280, 720, 30.0)
    assert info.frame_count and info.duration == pytest.approx(info.frame_count / 30)


@pytest.mark.parametrize("kind", ["jpeg", "png", "mp4", "wav", "mp3", "pdf", "niigz", "txt", "csv", "dcm"])
def test_stored_blobs_without_a_suffix_probe_the_same(files: dict[str, Path], tmp_path: Path, kind: str) -> None:
    """The emulator keeps uploads as extension-less blobs: content alone must decide."""
    item_type = sniff_item_type(files[kind])
    assert item_type is not None
    blob = _write(tmp_path / "0b5c6a1e-blob", files[kind].read_bytes())
    assert sniff_item_type(blob) is item_type
    assert probe(blob, item_type) == probe(files[kind], item_type)


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".ogg", ".m4a"])
def test_compressed_audio_without_a_suffix(tmp_path: Path, suffix: str) -> None:
    named = mediagen.audio(tmp_path / f"a{suffix}", seconds=0.3)
    blob = _write(tmp_path / "blob", named.read_bytes())
    assert sniff_item_type(blob) is T.AUDIO
    assert probe(blob, T.AUDIO) == probe(named, T.AUDIO)


def test_binary_control_characters_are_not_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "bin.txt", b"looks like text\x01\x02 but is not")
    with pytest.raises(UnsupportedMedia, match="expected UTF-8 text"):
        probe(path, T.PLAIN_TEXT)
    tabs = _write(tmp_path / "tabs.txt", b"a\tb\r\n\x0cpage\x1b[0m\n")
    assert probe(tabs, T.PLAIN_TEXT).mime_type == "text/plain"


def test_random_bytes_sniff_as_nothing(tmp_path: Path) -> None:
    for seed in range(20):
        rng = random.Random(seed)
        path = _write(tmp_path / f"r{seed}", rng.randbytes(rng.choice([100, 1000, 10_000])))
        assert sniff_item_type(path) is None, seed


def test_corrupt_containers_are_refused_not_crashing(files: dict[str, Path], tmp_path: Path) -> None:
    bad_gzip = _write(tmp_path / "bad.nii.gz", b"\x1f\x8b\x08\x00" + bytes(8) + b"\xff" * 64)
    with pytest.raises(UnsupportedMedia, match="expected a NIfTI"):
        probe(bad_gzip, T.NIFTI)
    dicom = files["dcm"].read_bytes()
    truncated = _write(tmp_path / "cut.dcm", dicom[:200])
    with pytest.raises(UnsupportedMedia, match="expected a DICOM"):
        probe(truncated, T.DICOM_FILE)
    video = files["mp4"].read_bytes()
    cut_video = _write(tmp_path / "cut.mp4", video[: len(video) // 3])
    with pytest.raises(UnsupportedMedia, match="expected a video"):
        probe(cut_video, T.VIDEO)
