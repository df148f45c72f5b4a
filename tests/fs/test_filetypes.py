"""File-type judgement by name and detection from real bytes (made with Pillow/PyAV, tests only)."""

from __future__ import annotations

import gzip
import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from encordfs.emulator import mediagen
from encordfs.fs.filetypes import (
    EmptyFile,
    NameVerdict,
    UnsupportedType,
    detect,
    is_temporary_name,
    judge_name,
    may_truncate,
    mime_type,
    type_of_name,
    unstorable_name_message,
)
from encordfs.wire.enums import StorageItemType as T

STORABLE, UNSTORABLE, UNDECIDED = NameVerdict.STORABLE, NameVerdict.UNSTORABLE, NameVerdict.UNDECIDED


# --- names ---------------------------------------------------------------------------------------

NAME_TABLE = [
    *[(f"a.{e}", STORABLE, T.IMAGE) for e in ("jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp")],
    *[(f"a.{e}", STORABLE, T.VIDEO) for e in ("mp4", "mov", "webm", "mkv", "avi", "m4v")],
    *[(f"a.{e}", STORABLE, T.AUDIO) for e in ("wav", "mp3", "flac", "ogg", "m4a", "aac", "opus")],
    *[
        (f"a.{e}", STORABLE, T.PLAIN_TEXT)
        for e in ("txt", "json", "csv", "tsv", "md", "xml", "html", "htm", "yaml", "yml", "log")
    ],
    ("a.pdf", STORABLE, T.PDF),
    ("brain.nii", STORABLE, T.NIFTI),
    ("brain.nii.gz", STORABLE, T.NIFTI),
    ("PHOTO.JPG", STORABLE, T.IMAGE),
    ("Brain.NII.GZ", STORABLE, T.NIFTI),
    ("README.md", STORABLE, T.PLAIN_TEXT),
    ("Untitled.txt", STORABLE, T.PLAIN_TEXT),
    ("my.photo.v2.png", STORABLE, T.IMAGE),
    *[
        (f"a.{e}", UNSTORABLE, None)
        for e in ("zip", "tar", "gz", "tgz", "7z", "exe", "so", "bin", "iso", "dmg", "docx", "pptx", "xlsx", "dcm")
    ],
    ("photo.heic", UNSTORABLE, None),
    ("archive.TAR", UNSTORABLE, None),
    (".DS_Store", UNSTORABLE, None),
    ("Thumbs.db", UNSTORABLE, None),
    ("desktop.ini", UNSTORABLE, None),
    ("._photo.jpg", UNSTORABLE, None),
    # temp names: never refused; the name inside gives a hint
    (".photo.jpg.Xy12Zq", UNDECIDED, T.IMAGE),
    (".archive.zip.Ab3dE9", UNDECIDED, None),
    ("notes.txt~", UNDECIDED, T.PLAIN_TEXT),
    (".notes.txt.swp", UNDECIDED, T.PLAIN_TEXT),
    (".notes.txt.swx", UNDECIDED, T.PLAIN_TEXT),
    ("#notes.txt#", UNDECIDED, T.PLAIN_TEXT),
    (".#notes.txt", UNDECIDED, T.PLAIN_TEXT),
    (".goutputstream-7QWERT", UNDECIDED, None),
    ("Untitled", UNDECIDED, None),
    ("Untitled Document", UNDECIDED, None),
    ("Untitled Document 2", UNDECIDED, None),
    ("New File", UNDECIDED, None),
    ("download.tmp", UNDECIDED, None),
    ("clip.mp4.part", UNDECIDED, T.VIDEO),
    ("clip.mp4.crdownload", UNDECIDED, T.VIDEO),
    (".~lock.report.odt#", UNDECIDED, None),
    ("~$report.docx", UNDECIDED, None),
    # no or unknown extension: the content decides at close
    ("Makefile", UNDECIDED, None),
    (".bashrc", UNDECIDED, None),
    ("script.py", UNDECIDED, None),
    ("subtitles.srt", UNDECIDED, None),
]


@pytest.mark.parametrize(("name", "verdict", "item_type"), NAME_TABLE)
def test_judge_name_table(name: str, verdict: NameVerdict, item_type: T | None) -> None:
    assert judge_name(name) == (verdict, item_type)


@pytest.mark.parametrize(
    "name",
    [".a.jpg.Xy12Zq", "a~", ".a.swp", "#a#", ".goutputstream-ABCDEF", "Untitled", "New File", "x.part", "a.tmp"],
)
def test_temporary_names(name: str) -> None:
    assert is_temporary_name(name)


@pytest.mark.parametrize("name", ["photo.jpg", "Untitled.txt", "Makefile", ".bashrc", "a.zip", "brain.nii.gz"])
def test_final_names_are_not_temporary(name: str) -> None:
    assert not is_temporary_name(name)


# --- real bytes ----------------------------------------------------------------------------------


def _image(path: Path, fmt: str) -> Path:
    Image.new("RGB", (8, 6), (200, 30, 90)).save(path, format=fmt)
    return path


def _video(path: Path, fmt: str, codec: str) -> Path:
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=5)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_image(Image.new("RGB", (16, 16), (i * 80, 0, 0)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _audio(path: Path, fmt: str, codec: str, rate: int = 48000) -> Path:
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        formats = stream.codec_context.codec.audio_formats
        fmt_name = formats[0].name if formats else "s16"
        samples = 1152 * 4
        frame = av.AudioFrame(format=fmt_name, layout="mono", samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        container.mux(stream.encode())
    return path


def _nifti_header(version: int = 1, big_endian: bool = False) -> bytes:
    order = ">" if big_endian else "<"
    if version == 1:
        header = bytearray(352)
        struct.pack_into(order + "i", header, 0, 348)
        header[344:348] = b"n+1\0"
    else:
        header = bytearray(544)
        struct.pack_into(order + "i", header, 0, 540)
        header[4:12] = b"n+2\0\r\n\x1a\n"
    return bytes(header) + bytes(64)


def _pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


MEDIA = {
    "jpg": lambda p: _image(p, "JPEG"),
    "png": lambda p: _image(p, "PNG"),
    "gif": lambda p: _image(p, "GIF"),
    "bmp": lambda p: _image(p, "BMP"),
    "tiff": lambda p: _image(p, "TIFF"),
    "webp": lambda p: _image(p, "WEBP"),
    "mp4": lambda p: _video(p, "mp4", "mpeg4"),
    "mov": lambda p: _video(p, "mov", "mpeg4"),
    "webm": lambda p: _video(p, "webm", "libvpx"),
    "mkv": lambda p: _video(p, "matroska", "mpeg4"),
    "avi": lambda p: _video(p, "avi", "mpeg4"),
    "wav": lambda p: _audio(p, "wav", "pcm_s16le"),
    "mp3": lambda p: _audio(p, "mp3", "libmp3lame", 44100),
    "flac": lambda p: _audio(p, "flac", "flac"),
    "ogg": lambda p: _audio(p, "ogg", "libopus"),
    "m4a": lambda p: _audio(p, "ipod", "aac"),
    "pdf": _pdf,
    "nii": lambda p: write(p.parent, p.name, _nifti_header()),
    "nii.gz": lambda p: write(p.parent, p.name, gzip.compress(_nifti_header())),
    "txt": lambda p: write(p.parent, p.name, "héllo, wörld\n".encode()),
}
EXPECTED = {
    **dict.fromkeys(("jpg", "png", "gif", "bmp", "tiff", "webp"), T.IMAGE),
    **dict.fromkeys(("mp4", "mov", "webm", "mkv", "avi"), T.VIDEO),
    **dict.fromkeys(("wav", "mp3", "flac", "ogg", "m4a"), T.AUDIO),
    "pdf": T.PDF,
    "nii": T.NIFTI,
    "nii.gz": T.NIFTI,
    "txt": T.PLAIN_TEXT,
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("media")
    return {ext: make(directory / f"sample.{ext}") for ext, make in MEDIA.items()}


@pytest.mark.parametrize("ext", sorted(EXPECTED))
def test_detect_real_files_by_their_names(media: dict[str, Path], ext: str) -> None:
    assert detect(media[ext], f"sample.{ext}") is EXPECTED[ext]


@pytest.mark.parametrize("ext", sorted(EXPECTED))
def test_content_decides_when_the_name_is_silent(media: dict[str, Path], ext: str) -> None:
    assert detect(media[ext], "Untitled") is EXPECTED[ext]
    assert detect(media[ext], ".goutputstream-ABC123") is EXPECTED[ext]


def test_content_wins_over_a_wrong_storable_name(media: dict[str, Path]) -> None:
    assert detect(media["png"], "photo.jpg") is T.IMAGE
    assert detect(media["mp4"], "funny.gif") is T.VIDEO
    assert detect(media["wav"], "clip.mp4") is T.AUDIO
    assert detect(media["pdf"], "paper.txt") is T.PDF


def _movie_with_sound(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=5)
        video.width, video.height, video.pix_fmt = 16, 16, "yuv420p"
        sound = container.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for i in range(3):
            container.mux(video.encode(av.VideoFrame.from_image(Image.new("RGB", (16, 16), (i * 80, 0, 0)))))
        frame = av.AudioFrame(format=sound.codec_context.codec.audio_formats[0].name, layout="mono", samples=1024 * 4)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
        for packet in sound.encode(frame):
            container.mux(packet)
        container.mux(video.encode())
        container.mux(sound.encode())
    return path


def test_ambiguous_containers_are_what_their_streams_hold(media: dict[str, Path], tmp_path: Path) -> None:
    # the server would refuse a video-only MP4 as audio: it goes up as the video it is
    assert detect(media["mp4"], "song.m4a") is T.VIDEO
    assert detect(media["webm"], "voice.opus") is T.VIDEO
    assert detect(media["ogg"], "clip.webm") is T.AUDIO
    assert detect(media["m4a"], "song.m4a") is T.AUDIO
    movie = _movie_with_sound(tmp_path / "movie.mp4")  # both: the name decides
    assert detect(movie, "song.m4a") is T.AUDIO
    assert detect(movie, "clip.mp4") is T.VIDEO
    assert detect(movie, "Untitled") is T.VIDEO


def test_gzip_that_is_not_nifti_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x", gzip.compress(b"just some text\n" * 30))
    with pytest.raises(UnsupportedType, match="gzip"):
        detect(path, "volume.nii.gz")


@pytest.mark.parametrize(("version", "big_endian"), [(1, True), (2, False), (2, True)])
def test_nifti_variants(tmp_path: Path, version: int, big_endian: bool) -> None:
    header = _nifti_header(version, big_endian)
    assert detect(write(tmp_path, "a.nii", header), "a.nii") is T.NIFTI
    assert detect(write(tmp_path, "b.nii.gz", gzip.compress(header)), "b.nii.gz") is T.NIFTI


def test_header_sized_like_nifti_without_magic_is_not_nifti(tmp_path: Path) -> None:
    header = bytearray(_nifti_header())
    header[344:348] = b"xxxx"
    with pytest.raises(UnsupportedType):
        detect(write(tmp_path, "a.nii", bytes(header)), "a.nii")


UNSTORABLE_CONTENT = [
    (b"PK\x03\x04" + bytes(40), "ZIP"),
    (b"\x7fELF\x02\x01\x01" + bytes(60), "ELF"),
    (b"MZ\x90\x00" + bytes(60), "Windows executable"),
    (b"SQLite format 3\x00" + bytes(100), "SQLite"),
    (bytes(128) + b"DICM" + bytes(100), "DICOM"),
    (bytes(4) + b"ftypheic" + bytes(100), "HEIF"),
    (bytes(257) + b"ustar\x0000" + bytes(100), "tar"),
    (bytes(range(256)) * 4, "unknown"),
]


@pytest.mark.parametrize(("content", "found"), UNSTORABLE_CONTENT)
def test_unstorable_content_is_refused_naming_the_file(tmp_path: Path, content: bytes, found: str) -> None:
    path = write(tmp_path, "blob", content)
    with pytest.raises(UnsupportedType, match=found) as info:
        detect(path, "mystery")
    assert "'mystery'" in str(info.value)
    assert info.value.errno == 95  # ENOTSUP: "Operation not supported"


def test_zip_named_like_an_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedType, match="ZIP"):
        detect(write(tmp_path, "x", b"PK\x03\x04" + bytes(40)), "photo.jpg")


def test_an_unstorable_final_name_is_refused_whatever_the_content(media: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedType, match="name"):
        detect(media["jpg"], "photo.zip")


def test_text_named_as_media_is_refused(tmp_path: Path) -> None:
    page = write(tmp_path, "x", b"<html><body>403 Forbidden</body></html>\n")
    with pytest.raises(UnsupportedType, match="named as image"):
        detect(page, "photo.jpg")
    assert detect(page, "page.html") is T.PLAIN_TEXT


def test_text_under_an_unknown_or_missing_extension_is_text(tmp_path: Path) -> None:
    source = write(tmp_path, "x", b"print('hi')\n")
    assert detect(source, "script.py") is T.PLAIN_TEXT
    assert detect(source, "Makefile") is T.PLAIN_TEXT


def test_an_empty_file_is_text_or_refused_as_empty(tmp_path: Path) -> None:
    empty = write(tmp_path, "e", b"")
    assert detect(empty, "empty.txt") is T.PLAIN_TEXT
    assert detect(empty, "Untitled") is T.PLAIN_TEXT
    with pytest.raises(EmptyFile, match=r"'photo.jpg': named as image but empty"):
        detect(empty, "photo.jpg")


@pytest.mark.parametrize(
    "content",
    [b"abc\x00def", "café".encode("latin-1"), "text".encode("utf-16")],
    ids=["nul", "latin-1", "utf-16"],
)
def test_not_utf8_text_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(UnsupportedType):
        detect(write(tmp_path, "x", content), "notes.txt")


def test_utf8_split_across_read_chunks_is_text(tmp_path: Path) -> None:
    content = b"a" * ((1 << 20) - 1) + "é".encode() + b"\n"
    assert detect(write(tmp_path, "x", content), "big.txt") is T.PLAIN_TEXT


@pytest.mark.parametrize(
    "content",
    [b"MZ is not an executable here\n", b"BZh is a bzip2 magic\n", b"ID3 tags are metadata\n", b"OggS is ogg\n"],
)
def test_text_starting_like_a_signature_is_text(tmp_path: Path, content: bytes) -> None:
    assert detect(write(tmp_path, "x", content), "notes.txt") is T.PLAIN_TEXT


def test_a_pdf_must_start_with_its_header(tmp_path: Path) -> None:
    preamble = write(tmp_path, "x", b"\x00\x01junk\n%PDF-1.7\n%%EOF\n")  # the server refuses it
    with pytest.raises(UnsupportedType):
        detect(preamble, "paper.pdf")
    with pytest.raises(UnsupportedType):
        detect(preamble, "Untitled")
    doc = write(tmp_path, "y", b"# Notes\nA PDF starts with %PDF-1.4 on its first line.\n")
    assert detect(doc, "README.md") is T.PLAIN_TEXT


def test_text_starting_with_bm_is_not_bmp(tmp_path: Path) -> None:
    assert detect(write(tmp_path, "x", b"BMW and Audi cars, a list\n"), "cars") is T.PLAIN_TEXT


def test_binary_without_a_signature_under_an_av_name_is_what_ffmpeg_opens(tmp_path: Path) -> None:
    ts = tmp_path / "clip.ts"  # MPEG-TS: no signature at offset 0
    mediagen._encode_video(ts, "mpegts", "mpeg4", seconds=2.0, fps=10, width=32, height=32, seed=1)
    assert detect(ts, "clip.mp4") is T.VIDEO
    with pytest.raises(UnsupportedType):
        detect(ts, "photo.png")
    junk = write(tmp_path, "x", bytes([0x47, 0x40, 0x00, 0x10]) + bytes(range(256)) * 2)  # one TS header, then junk
    with pytest.raises(UnsupportedType, match="FFmpeg cannot open"):
        detect(junk, "clip.mp4")


def test_raw_mpeg_audio_frames_without_id3(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "raw.mp3"), mode="w", format="mp3", options={"id3v2_version": "0", "write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        frame = av.AudioFrame(format=stream.codec_context.codec.audio_formats[0].name, layout="mono", samples=1152 * 4)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 44100, 0, Fraction(1, 44100)
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode())
    raw = tmp_path / "raw.mp3"
    assert raw.read_bytes()[:1] == b"\xff"  # frames from the first byte, no ID3 tag
    assert detect(raw, "Untitled") is T.AUDIO
    adts = _audio(tmp_path / "raw.aac", "adts", "aac")
    assert detect(adts, "Untitled") is T.AUDIO
    lone = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413)
    with pytest.raises(UnsupportedType):
        detect(write(tmp_path, "z", lone), "Untitled")  # one lone header is too weak a signature


# --- Content-Type --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item_type", "name", "expected"),
    [
        (T.IMAGE, "a.jpg", "image/jpeg"),
        (T.IMAGE, "a.PNG", "image/png"),
        (T.IMAGE, "Untitled", "application/octet-stream"),
        (T.VIDEO, "a.mp4", "application/octet-stream"),
        (T.AUDIO, "a.mp3", "application/octet-stream"),
        (T.PDF, "a.pdf", "application/pdf"),
        (T.NIFTI, "a.nii.gz", "application/nifti"),
        (T.PLAIN_TEXT, "a.txt", "text/plain"),
        (T.PLAIN_TEXT, "a.json", "application/json"),
        (T.PLAIN_TEXT, "a.csv", "text/csv"),
        (T.PLAIN_TEXT, "a.md", "text/markdown"),
        (T.PLAIN_TEXT, "a.xml", "application/xml"),
        (T.PLAIN_TEXT, "a.html", "text/html"),
        (T.PLAIN_TEXT, "a.yaml", "text/yaml"),
        (T.PLAIN_TEXT, "Makefile", "text/plain"),
        (T.PLAIN_TEXT, "weird.jpg", "text/plain"),
    ],
)
def test_mime_type(item_type: T, name: str, expected: str) -> None:
    assert mime_type(item_type, name) == expected


def test_mime_type_refuses_composite_types() -> None:
    with pytest.raises(ValueError):
        mime_type(T.IMAGE_GROUP, "a.jpg")


# --- content the server would refuse is refused here (issue 9, deliver 4) ---------------------------

TEXT_CONTROLS = [bytes([c]) for c in (*range(0x01, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20))]


@pytest.mark.parametrize("control", TEXT_CONTROLS, ids=lambda b: f"0x{b[0]:02x}")
def test_text_with_a_control_byte_is_refused(tmp_path: Path, control: bytes) -> None:
    path = write(tmp_path, "x", b"abc" + control + b"def\n")
    with pytest.raises(UnsupportedType, match="control byte"):
        detect(path, "ctl.txt")
    with pytest.raises(UnsupportedType):
        detect(path, "Untitled")


def test_text_keeps_tabs_form_feeds_escapes_and_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "x", "\ufeffcol\tcol\r\n\x0b\x0c\x1b[1mbold\x1b[0m\n".encode())
    assert detect(path, "notes.txt") is T.PLAIN_TEXT


def _cut(source: Path, directory: Path, fraction: float) -> Path:
    data = source.read_bytes()
    return write(directory, f"cut-{fraction}-{source.name}", data[: int(len(data) * fraction)])


@pytest.mark.parametrize("ext", ["jpg", "png", "gif", "webp", "tiff", "mp4", "mov", "mkv", "webm", "avi"])
def test_truncated_media_is_refused(media: dict[str, Path], tmp_path: Path, ext: str) -> None:
    large = {"jpg": mediagen.jpeg, "png": mediagen.png}.get(ext)
    source = large(tmp_path / f"big.{ext}", width=320, height=240) if large else media[ext]
    with pytest.raises(UnsupportedType, match="but"):
        detect(_cut(source, tmp_path, 0.5), f"cut.{ext}")


def _corpus(media: dict[str, Path], directory: Path) -> list[tuple[Path, str]]:
    """(file, final name) pairs: every sample under its own name and a silent one, cut at 30% and
    90%, with bytes flipped in the middle, and texts with and without control bytes."""
    cases: list[tuple[Path, str]] = []
    for ext, path in media.items():
        cases += [(path, f"a.{ext}"), (path, "Untitled")]
        cases += [(_cut(path, directory, f), f"a.{ext}") for f in (0.3, 0.9)]
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 16] = bytes(16)
        cases.append((write(directory, f"flip-{ext}", bytes(data)), f"a.{ext}"))
    for i, text in enumerate([b"plain\n", b"tab\there\n", b"bell\x07\n", b"\x1f unit\n", b"\xff\xfe t\x00e\x00"]):
        cases.append((write(directory, f"text{i}", text), "notes.txt"))
    return cases


def test_what_detect_accepts_the_emulator_ingests_and_what_it_refuses_the_emulator_refuses(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """The emulator's ingest probes (encordfs/emulator/media.py) are what the server demands."""
    from encordfs.emulator.media import UnsupportedMedia, probe
    from encordfs.fs.filetypes import judge_name

    disagreements = []
    for path, name in _corpus(media, tmp_path):
        try:
            item_type = detect(path, name)
        except UnsupportedType as refusal:
            by_name = judge_name(name)[1]
            try:
                if by_name is not None:
                    probe(path, by_name)
                    disagreements.append((path.name, name, f"refused ({refusal.found}), the emulator ingests it"))
            except (UnsupportedMedia, AttributeError):  # AttributeError: the emulator's probe trips on a stream without a codec
                pass
            continue
        try:
            probe(path, item_type)
        except UnsupportedMedia as exc:
            disagreements.append((path.name, name, f"accepted as {item_type.value}, the emulator refuses: {exc}"))
    assert disagreements == []


@pytest.mark.parametrize(
    ("item_type", "size", "allowed"),
    [
        (T.IMAGE, 0, False),
        (T.VIDEO, 0, False),
        (T.AUDIO, 0, False),
        (T.PDF, 0, False),
        (T.NIFTI, 0, False),
        (T.IMAGE, 10, True),
        (T.PLAIN_TEXT, 0, True),
        (None, 0, True),
    ],
)
def test_only_text_may_be_truncated_to_nothing(item_type, size, allowed) -> None:
    assert may_truncate(item_type, size) is allowed


def test_type_of_name_is_only_for_storable_names() -> None:
    assert type_of_name("a.JPG") is T.IMAGE and type_of_name("scan.nii.gz") is T.NIFTI
    assert type_of_name(".a.jpg.Xy12Zq") is None and type_of_name("w.npy") is None and type_of_name("x.py") is None


@pytest.mark.parametrize("name", ["w.npy", "w.npz", "m.pt", "m.pth", "d.h5", "t.parquet", "o.pkl"])
def test_refusals_of_ml_formats_say_what_encord_stores(name) -> None:
    assert judge_name(name) == (UNSTORABLE, None)
    message = unstorable_name_message(name)
    assert f".{name.split('.')[-1]} files" in message
    assert "images (.jpg" in message and "NIfTI (.nii .nii.gz)" in message and "any UTF-8 text" in message


def test_content_refusals_say_what_encord_stores(tmp_path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"\x93NUMPY" + b"\0" * 64)
    with pytest.raises(UnsupportedType, match=r"a NumPy array; .*it stores images"):
        detect(path, "weights")
