"""Does a file decode as the item type it would be uploaded as? The content checks Encord applies
to an upload's bytes, run at ``close()`` so that what the server would refuse is refused there
(ENOTSUP) instead of failing in the background after ``close()`` returned 0.

Each check mirrors what the emulator's ingest probes (``encordfs/emulator/media.py``) demand,
without importing the emulator:

* image: Pillow opens it as JPEG/PNG/GIF/BMP/TIFF/WEBP and decodes it in full (a JPEG at 1/8
  scale: the whole entropy-coded stream is still parsed), within Pillow's decompression-bomb limit;
* video: FFmpeg opens a video container (mp4/mov/matroska/webm/avi/mpegts/mpeg/flv/ogg) holding a
  video stream whose first frame decodes within 100 packets;
* audio: FFmpeg opens an audio container (wav/mp3/flac/ogg/mov/mp4/m4a/aac/matroska/webm) holding
  an audio stream with a sample rate;
* PDF: ``%PDF-`` opens the file;
* NIfTI: a gzip'ed volume decompresses as far as its header (544 bytes);
* plain text: UTF-8 (a leading BOM allowed) without the C0 control bytes text never holds (all but
  tab, LF, VT, FF, CR and ESC).

What only the server can judge (quotas, permissions, a folder deleted meanwhile, its own limits on
sizes and durations) stays for the upload. Blocking: file reads and a little decoding.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError

from encordfs.wire.enums import StorageItemType

__all__ = ["IMAGE_FORMATS", "why_not"]

IMAGE_FORMATS = ("BMP", "GIF", "JPEG", "PNG", "TIFF", "WEBP")
_VIDEO_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "ogg"})
_AUDIO_CONTAINERS = frozenset({"wav", "mp3", "flac", "ogg", "mov", "mp4", "m4a", "aac", "matroska", "webm"})
_FIRST_FRAME_PACKETS = 100
_NIFTI_HEADER = 544
_TEXT_CHUNK = 1 << 20
_BINARY_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")  # ASCII: never inside a UTF-8 sequence


def why_not(path: Path, item_type: StorageItemType) -> str | None:
    """Why the file at ``path`` would be refused as ``item_type`` (a short phrase), or None."""
    check = _CHECKS.get(item_type)
    return check(path) if check is not None else None


def _image(path: Path) -> str | None:
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Image.DecompressionBombError:
        return f"an image of more than {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels"
    except UnidentifiedImageError:
        return "an image Pillow cannot identify"
    except (OSError, ValueError, SyntaxError) as exc:
        return f"an image that does not decode ({exc})"
    return None


def _container(path: Path, allowed: frozenset[str]) -> av.container.InputContainer | str:
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, OSError, ValueError) as exc:
        return f"a file FFmpeg cannot open ({_reason(exc)})"
    if not allowed.intersection(container.format.name.split(",")):
        container.close()
        return f"a {container.format.name} container"
    return container


def _reason(exc: Exception) -> str:
    """FFmpeg's reason without the file's path (a staged file's name means nothing to the user)."""
    return getattr(exc, "strerror", None) or type(exc).__name__


def _video(path: Path) -> str | None:
    container = _container(path, _VIDEO_CONTAINERS)
    if isinstance(container, str):
        return container
    with container:
        if not container.streams.video:
            return "a container without a video stream"
        if container.streams.video[0].codec_context is None:
            return "a video stream FFmpeg has no decoder for"
        try:
            for index, packet in enumerate(container.demux(container.streams.video[0])):
                if index >= _FIRST_FRAME_PACKETS:
                    break
                for _frame in packet.decode():
                    return None
        except av.FFmpegError as exc:
            return f"a video whose first frame does not decode ({_reason(exc)})"
    return "a video whose first frame does not decode"


def _audio(path: Path) -> str | None:
    container = _container(path, _AUDIO_CONTAINERS)
    if isinstance(container, str):
        return container
    with container:
        if not container.streams.audio:
            return "a container without an audio stream"
        context = container.streams.audio[0].codec_context  # None when FFmpeg has no decoder for it
        if context is None or not context.sample_rate:
            return "an audio stream without a sample rate"
    return None


def _pdf(path: Path) -> str | None:
    with path.open("rb") as f:
        return None if f.read(5) == b"%PDF-" else "a PDF whose first bytes are not %PDF-"


def _nifti(path: Path) -> str | None:
    """The header is checked when the type is sniffed; a gzip'ed volume must also decompress as
    far as its header's 544 bytes (or its end) without an error."""
    with path.open("rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return None
    try:
        with gzip.open(path, "rb") as volume:
            volume.read(_NIFTI_HEADER)
    except (OSError, EOFError, zlib.error) as exc:
        return f"a gzip stream that does not decompress ({exc})"
    return None


def _text(path: Path) -> str | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_TEXT_CHUNK):
                if control := _BINARY_CONTROL.search(chunk):
                    return f"control byte {control.group()!r}"
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "bytes that are not UTF-8"
    return None


_CHECKS = {
    StorageItemType.IMAGE: _image,
    StorageItemType.VIDEO: _video,
    StorageItemType.AUDIO: _audio,
    StorageItemType.PDF: _pdf,
    StorageItemType.NIFTI: _nifti,
    StorageItemType.PLAIN_TEXT: _text,
}
