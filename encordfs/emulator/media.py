"""Probe uploaded bytes for the metadata the hosted Encord service reports, and refuse impostors.

Each single-file item type has one probe that either returns a `MediaInfo` or raises
`UnsupportedMedia`. Probes read headers only (a video's container header and first frame, never the
whole stream), so they stay fast on gigabyte files.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import mimetypes
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import mutagen.flac
import pydicom
import pydicom.errors
from PIL import Image, UnidentifiedImageError

from encordfs.wire.enums import StorageItemType

log = logging.getLogger(__name__)


class UnsupportedMedia(ValueError):
    """The bytes are not a valid file of the claimed type."""


@dataclass(frozen=True)
class MediaInfo:
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    frame_count: int | None = None
    audio_sample_rate: int | None = None
    audio_bit_depth: int | None = None
    audio_codec: str | None = None
    audio_num_channels: int | None = None
    dicom_instance_uid: str | None = None
    dicom_study_uid: str | None = None
    dicom_series_uid: str | None = None
    page_count: int | None = None


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


class _Mismatch(Exception):
    """Raised inside probes; `probe` turns it into UnsupportedMedia naming what was found instead."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _describe(path: Path) -> str:
    """A short human guess of what the bytes really are, for error messages."""
    found = sniff_item_type(path)
    if found is not None:
        return f"{found.value} data"
    head = _head(path, 8)
    return "an empty file" if not head else f"unrecognised bytes starting {head!r}"


# --- images -----------------------------------------------------------------------------------

IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"})


def _open_image(path: Path) -> tuple[str, int, int]:
    """(format, width, height) of a fully decodable image; raises OSError/ValueError otherwise."""
    with Image.open(path, formats=sorted(IMAGE_FORMATS)) as img:
        fmt, (width, height) = img.format or "", img.size
        if fmt in ("JPEG", "MPO"):
            img.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # 1/8-scale DCT: cheap, still full parse
        img.load()
    return fmt, width, height


def _probe_image(path: Path) -> MediaInfo:
    try:
        fmt, width, height = _open_image(path)
    except Image.DecompressionBombError as exc:
        raise _Mismatch(f"an image of at most {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels") from exc
    except (OSError, ValueError, UnidentifiedImageError, SyntaxError) as exc:
        raise _Mismatch("an image (jpeg/png/gif/bmp/tiff/webp)") from exc
    mime = "image/jpeg" if fmt == "MPO" else Image.MIME.get(fmt)
    return MediaInfo(mime_type=mime, width=width, height=height)


# --- video and audio (PyAV: container header, never a full decode) --------------------------------

VIDEO_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "ogg"})
AUDIO_CONTAINERS = frozenset({"wav", "mp3", "flac", "ogg", "mov", "mp4", "m4a", "aac", "matroska", "webm"})
WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "aac": "audio/aac"}


def _open_container(path: Path, allowed: frozenset[str], expected: str) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.FFmpegError as exc:
        raise _Mismatch(expected) from exc
    if not allowed.intersection(container.format.name.split(",")):
        container.close()
        raise _Mismatch(expected)
    return container


def _container_mime(container: av.container.InputContainer, kind: str) -> str:
    names = container.format.name.split(",")
    codecs_used = {
        s.codec_context.codec.canonical_name
        for s in container.streams
        if s.type in ("video", "audio") and s.codec_context is not None and s.codec_context.codec is not None
    }
    if "matroska" in names:
        return f"{kind}/webm" if codecs_used <= WEBM_CODECS else f"{kind}/x-matroska"
    if "mov" in names:
        brand = container.metadata.get("major_brand", "").strip()
        if brand == "qt":
            return "video/quicktime"
        return f"{kind}/mp4"
    if "avi" in names:
        return "video/x-msvideo"
    if "mpegts" in names:
        return "video/mp2t"
    if "flv" in names:
        return "video/x-flv"
    if kind == "audio":
        return AUDIO_MIME.get(names[0], f"audio/{names[0]}")
    return f"video/{names[0]}"


def _duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


_FIRST_FRAME_PACKETS = 100  # more than any decoder's delay; bounds the read when nothing decodes


def _decodes_first_frame(container: av.container.InputContainer, stream: av.stream.Stream) -> bool:
    for index, packet in enumerate(container.demux(stream)):
        if index >= _FIRST_FRAME_PACKETS:
            return False
        for _frame in packet.decode():
            return True
    return False


def _probe_video(path: Path) -> MediaInfo:
    expected = "a video (mp4/mov/webm/mkv/avi)"
    container = _open_container(path, VIDEO_CONTAINERS, expected)
    with container:
        if not container.streams.video:
            raise _Mismatch(expected)
        stream = container.streams.video[0]
        ctx = stream.codec_context
        duration = _duration(container, stream)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        frames = stream.frames or (round(duration * fps) if duration and fps else None)
        mime = _container_mime(container, "video")
        try:
            if not _decodes_first_frame(container, stream):
                raise _Mismatch(expected)
        except av.FFmpegError as exc:
            raise _Mismatch(expected) from exc
    return MediaInfo(mime_type=mime, width=ctx.width, height=ctx.height, duration=duration, fps=fps, frame_count=frames)


_PCM_BITS = re.compile(r"pcm_[suf](\d+)")


def _audio_bit_depth(path: Path, codec: str) -> int | None:
    """Bits per sample of lossless audio; lossy codecs have none (like ffprobe)."""
    if pcm := _PCM_BITS.match(codec):
        return int(pcm.group(1))
    if codec in ("pcm_alaw", "pcm_mulaw"):
        return 8
    if codec == "flac":
        try:
            bits: int = mutagen.flac.FLAC(path).info.bits_per_sample  # type: ignore[no-untyped-call]
            return bits
        except mutagen.MutagenError:
            return None
    return None


def _probe_audio(path: Path) -> MediaInfo:
    expected = "audio (wav/mp3/flac/ogg/m4a/aac)"
    container = _open_container(path, AUDIO_CONTAINERS, expected)
    with container:
        if not container.streams.audio:
            raise _Mismatch(expected)
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if not ctx.sample_rate:
            raise _Mismatch(expected)
        codec = ctx.codec.canonical_name  # "mp3", as ffprobe says, not the decoder's "mp3float"
        return MediaInfo(
            mime_type=_container_mime(container, "audio"),
            duration=_duration(container, stream),
            audio_sample_rate=ctx.sample_rate,
            audio_bit_depth=_audio_bit_depth(path, codec),
            audio_codec=codec,
            audio_num_channels=ctx.layout.nb_channels,
        )


# --- text, time series -------------------------------------------------------------------------

TEXT_MIMES = frozenset({"application/json", "application/xml"})
_CHUNK = 1 << 20
_TEXT_GUESS_LIMIT = 16 << 20
_BINARY_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")  # C0 controls text never holds (not \t\n\v\f\r ESC)
_MARKDOWN = re.compile(r"^(#{1,6} |```|[-*] \[[ x]\] )", re.MULTILINE)


def _read_utf8(path: Path) -> str:
    """The first 16 MiB as text; raises UnicodeDecodeError/ValueError unless the whole file is UTF-8 text
    (binary control characters such as NUL make it binary even when they decode)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    head: list[str] = []
    kept = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            text = decoder.decode(chunk)
            if _BINARY_CONTROL.search(text):
                raise ValueError("binary control character")
            if kept < _TEXT_GUESS_LIMIT:
                head.append(text)
                kept += len(text)
        head.append(decoder.decode(b"", final=True))
    return "".join(head)


def _looks_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return len(widths) == 1 and widths.pop() > 1


def _guess_text_mime(path: Path, text: str) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed and (guessed.startswith("text/") or guessed in TEXT_MIMES):
        return guessed
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(text)
            return "application/json"
        except ValueError:
            pass
    if stripped.startswith("<?xml"):
        return "application/xml"
    if _MARKDOWN.search(text):
        return "text/markdown"
    if _looks_csv(text):
        return "text/csv"
    return "text/plain"


def _probe_text(path: Path) -> MediaInfo:
    try:
        text = _read_utf8(path)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Mismatch("UTF-8 text") from exc
    return MediaInfo(mime_type=_guess_text_mime(path, text))


def _probe_timeseries(path: Path) -> MediaInfo:
    """A CSV with a header row and numeric data rows (the first 100 are checked)."""
    expected = "a time-series CSV (header row, numeric columns)"
    try:
        text = _read_utf8(path)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Mismatch(expected) from exc
    rows = [row for row in csv.reader(text.splitlines()[:101]) if row]
    if len(rows) < 2 or len(rows[0]) < 2 or any(len(row) != len(rows[0]) for row in rows):
        raise _Mismatch(expected)
    if not all(_is_number(cell) for row in rows[1:] for cell in row):
        raise _Mismatch(expected)
    return MediaInfo(mime_type="text/csv")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- PDF, NIfTI, DICOM ---------------------------------------------------------------------------

_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_PDF_COUNT_LIMIT = 64 << 20


def _probe_pdf(path: Path) -> MediaInfo:
    if _head(path, 5) != b"%PDF-":
        raise _Mismatch("a PDF (%PDF- header)")
    pages = None
    if path.stat().st_size <= _PDF_COUNT_LIMIT:
        # Page objects inside compressed object streams are invisible here: then the count is unknown.
        pages = len(_PDF_PAGE.findall(path.read_bytes())) or None
    return MediaInfo(mime_type="application/pdf", page_count=pages)


def _nifti_header(path: Path) -> bytes:
    head = _head(path, 2)
    if head == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                return f.read(544)
        except (OSError, EOFError, zlib.error):
            return b""
    return _head(path, 544)


def _nifti_dims(header: bytes) -> tuple[int, int] | None:
    """(width, height) of a NIfTI-1/2 header, or None when the header is not NIfTI."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack_from(endian + "i", header)[0] == 348 and header[344:348] in (b"n+1\0", b"ni1\0"):
            dims = struct.unpack_from(endian + "8h", header, 40)
            return dims[1], dims[2]
        if len(header) >= 540 and struct.unpack_from(endian + "i", header)[0] == 540 and header[4:8] in (b"n+2\0", b"ni2\0"):
            dims = struct.unpack_from(endian + "8q", header, 16)
            return dims[1], dims[2]
    return None


def _probe_nifti(path: Path) -> MediaInfo:
    dims = _nifti_dims(_nifti_header(path))
    if dims is None:
        raise _Mismatch("a NIfTI volume (.nii/.nii.gz header)")
    return MediaInfo(mime_type="application/nifti", width=dims[0], height=dims[1])


def _probe_dicom(path: Path) -> MediaInfo:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (pydicom.errors.InvalidDicomError, OSError, ValueError, EOFError, struct.error) as exc:
        raise _Mismatch("a DICOM file (DICM preamble)") from exc
    if "SOPInstanceUID" not in ds:  # truncated, or not an image instance at all (e.g. a DICOMDIR)
        raise _Mismatch("a DICOM instance (SOP Instance UID)")
    frames = ds.get("NumberOfFrames")
    return MediaInfo(
        mime_type="application/dicom",
        width=ds.get("Columns"),
        height=ds.get("Rows"),
        frame_count=int(frames) if frames else None,
        dicom_instance_uid=_optional_str(ds.get("SOPInstanceUID")),
        dicom_study_uid=_optional_str(ds.get("StudyInstanceUID")),
        dicom_series_uid=_optional_str(ds.get("SeriesInstanceUID")),
    )


def _optional_str(value: object) -> str | None:
    """pydicom's UID is a str subclass; callers get a plain str (or None when the tag is absent)."""
    return None if value is None else str(value)


# --- dispatch ------------------------------------------------------------------------------------

PROBES: dict[StorageItemType, Callable[[Path], MediaInfo]] = {
    StorageItemType.IMAGE: _probe_image,
    StorageItemType.VIDEO: _probe_video,
    StorageItemType.AUDIO: _probe_audio,
    StorageItemType.PLAIN_TEXT: _probe_text,
    StorageItemType.PDF: _probe_pdf,
    StorageItemType.NIFTI: _probe_nifti,
    StorageItemType.DICOM_FILE: _probe_dicom,
    StorageItemType.TIMESERIES: _probe_timeseries,
}


def probe(path: Path, item_type: StorageItemType) -> MediaInfo:
    """Metadata of the file at `path` as `item_type`; raises UnsupportedMedia if it is not one.

    Blocking (file reads and a little decoding): async callers run it in a worker thread."""
    probe_as = PROBES.get(item_type)
    if probe_as is None:
        raise UnsupportedMedia(f"expected a single-file item type, found {item_type.value!r} which has no bytes")
    try:
        info = probe_as(path)
    except _Mismatch as exc:
        raise UnsupportedMedia(f"expected {exc.expected}, found {_describe(path)}") from exc
    log.debug("probed %s as %s: %s", path.name, item_type.value, info)
    return info


def _is_pdf(path: Path) -> bool:
    return _head(path, 5) == b"%PDF-"


def _is_nifti(path: Path) -> bool:
    return _nifti_dims(_nifti_header(path)) is not None


def _succeeds(probe_as: Callable[[Path], MediaInfo]) -> Callable[[Path], bool]:
    def check(path: Path) -> bool:
        try:
            probe_as(path)
        except _Mismatch:
            return False
        return True

    return check


# Cheap magic-number checks first; the decoders that accept the most go last (text accepts any UTF-8).
_SNIFF_ORDER: tuple[tuple[StorageItemType, Callable[[Path], bool]], ...] = (
    (StorageItemType.PDF, _is_pdf),
    (StorageItemType.DICOM_FILE, _succeeds(_probe_dicom)),
    (StorageItemType.NIFTI, _is_nifti),
    (StorageItemType.IMAGE, _succeeds(_probe_image)),
    (StorageItemType.VIDEO, _succeeds(_probe_video)),
    (StorageItemType.AUDIO, _succeeds(_probe_audio)),
    (StorageItemType.PLAIN_TEXT, _succeeds(_probe_text)),
)


def sniff_item_type(path: Path) -> StorageItemType | None:
    """The single-file Encord item type the bytes at `path` are, or None."""
    if path.stat().st_size == 0:
        return None
    for item_type, matches in _SNIFF_ORDER:
        if matches(path):
            return item_type
    return None
