"""Which files Encord can store, and as what: judged from the name early, decided from the bytes at close.

Two questions, asked at different moments:

* ``judge_name(name)`` at ``create``/``rename``: may this name be created at all? It answers from the
  name alone and refuses only names that clearly say "not storable", so temp names are never refused.
* ``detect(path, name)`` at ``close`` (or when a temp file is renamed to its final name): the final
  item type, from the content cross-checked with the name; raises ``UnsupportedType`` otherwise.

Name decision table (extensions are case-insensitive; ``.nii.gz`` is one extension):

=============================================  ============  =======================================
name                                           verdict       type
=============================================  ============  =======================================
``.jpg .jpeg .png .gif .bmp .tif .tiff .webp``  STORABLE      IMAGE
``.mp4 .mov .webm .mkv .avi .m4v``             STORABLE      VIDEO
``.wav .mp3 .flac .ogg .m4a .aac .opus``       STORABLE      AUDIO
``.txt .json .csv .tsv .md .xml .html .htm``   STORABLE      PLAIN_TEXT
``.yaml .yml .log``
``.pdf``                                       STORABLE      PDF
``.nii .nii.gz``                               STORABLE      NIFTI
archives, executables, office documents,       UNSTORABLE    None
disk images, DICOM, HEIC/AVIF/raw photos
(see ``UNSTORABLE_EXTENSIONS``)
OS metadata: ``.DS_Store``, ``._*`` (macOS     UNSTORABLE    None
AppleDouble), ``Thumbs.db``, ``desktop.ini``
temp names (``TEMP_PATTERNS``): rsync          UNDECIDED     hint: the type of the name inside, if
``.name.ext.XXXXXX``, ``name~``, vim                         any (``.a.jpg.Xy12Zq`` -> IMAGE)
``.name.swp/.swx``, emacs ``#name#``,
``.goutputstream-XXXXXX``, ``*.tmp``,
``*.part``, ``*.crdownload``, ``.~lock.*#``,
``Untitled``, ``New File`` (no extension)
no extension, or an unknown one (``.py``)      UNDECIDED     None
=============================================  ============  =======================================

Why: a dataset folder copied with ``cp -r`` may hold a README.md (stored as text) or a .DS_Store
(refused at create, so ``cp`` names it and exits non-zero rather than the file vanishing). DICOM is
refused because a single ``.dcm`` is not a single-file upload flow (DICOM goes up as series with the
SDK). Unknown extensions are left to the content: a ``.py`` or ``.srt`` that is UTF-8 text is stored
as plain text, a binary one is refused at close.

Content rules in ``detect`` (the content wins where the name is silent or wrong, if the content is clear):

* A clear media signature (JPEG, PNG, GIF, BMP, TIFF, WEBP, ISO-BMFF ``ftyp``, EBML, AVI, WAV, FLAC,
  Ogg, ID3/MPEG/ADTS audio, PDF, NIfTI-1/2 plain or gzip-wrapped) decides the type, even against a
  storable name of another type (a ``.gif`` that is really MP4 is a video). Containers that hold
  either audio or video (ISO-BMFF with a generic brand, EBML, Ogg) are what their streams hold (a
  video-only MP4 named ``.m4a`` is a video); one holding both follows an audio or video name.
* A known unstorable signature (ZIP, gzip, 7z, RAR, xz, bzip2, tar, ELF, PE, Mach-O, SQLite, OLE,
  DICOM, HEIF/AVIF) is refused whatever the name, unless the whole file is UTF-8 text (a text that
  happens to start with "MZ" or "BZh" is text).
* ``%PDF-`` must open the file.
* UTF-8 text without the control bytes text never holds (NUL, \x01-\x08, \x0e-\x1a, \x1c-\x1f:
  what the server refuses as "unrecognised bytes") is PLAIN_TEXT when the name is text or silent;
  under a media or PDF name it is refused (typically an HTML error page saved as ``photo.jpg``).
* An empty file is PLAIN_TEXT under a text or silent name; under a media or PDF name it raises
  ``EmptyFile`` (an ``UnsupportedType``).
* Unrecognised binary content is refused, except under an audio or video name (these formats are too
  varied to sniff exhaustively, e.g. MPEG-TS or MP3 with leading junk): then FFmpeg decides.
* A final name that is UNSTORABLE is refused whatever the content, as at create.
* Last, the file must decode as the type decided, as the server will check it
  (``encordfs.fs.decodable``): an image decodes in full, a video's first frame decodes, an audio
  container has an audio stream with a sample rate, a gzip'ed NIfTI decompresses; a truncated or
  corrupt file is refused here rather than by the server after ``close()`` returned 0.
"""

from __future__ import annotations

import errno
import functools
import logging
import mimetypes
import re
import struct
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from encordfs.fs import decodable
from encordfs.wire.enums import StorageItemType

log = logging.getLogger(__name__)

__all__ = [
    "STORABLE_EXTENSIONS",
    "UNSTORABLE_EXTENSIONS",
    "EmptyFile",
    "NameVerdict",
    "UnsupportedType",
    "detect",
    "is_temporary_name",
    "judge_name",
    "may_truncate",
    "mime_type",
    "stored_types",
    "type_of_name",
    "unstorable_name_message",
]


class NameVerdict(Enum):
    STORABLE = "storable"
    UNSTORABLE = "unstorable"
    UNDECIDED = "undecided"


class UnsupportedType(ValueError):
    """Encord cannot store this file. ``errno`` is what the filesystem should return (ENOTSUP)."""

    errno = errno.ENOTSUP

    def __init__(self, name: str, found: str) -> None:
        super().__init__(f"{name!r}: {found}; Encord storage cannot hold this type of file ({stored_types()})")
        self.name = name
        self.found = found


class EmptyFile(UnsupportedType):
    """A zero-byte file under a media or PDF name: no such item can exist (``touch photo.jpg``).

    A distinct class so the filesystem may choose to keep such a file local until it is written.
    """


_IMAGE = StorageItemType.IMAGE
_VIDEO = StorageItemType.VIDEO
_AUDIO = StorageItemType.AUDIO
_TEXT = StorageItemType.PLAIN_TEXT
_PDF = StorageItemType.PDF
_NIFTI = StorageItemType.NIFTI

STORABLE_EXTENSIONS: dict[str, StorageItemType] = {
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"), _IMAGE),
    **dict.fromkeys(("mp4", "mov", "webm", "mkv", "avi", "m4v"), _VIDEO),
    **dict.fromkeys(("wav", "mp3", "flac", "ogg", "m4a", "aac", "opus"), _AUDIO),
    **dict.fromkeys(("txt", "json", "csv", "tsv", "md", "xml", "html", "htm", "yaml", "yml", "log"), _TEXT),
    "pdf": _PDF,
    "nii": _NIFTI,
    "nii.gz": _NIFTI,
}

UNSTORABLE_EXTENSIONS: frozenset[str] = frozenset(
    {
        # archives and compressed files (``.nii.gz`` is matched before ``.gz``)
        "zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "jar", "whl",
        # executables and libraries
        "exe", "dll", "so", "dylib", "o", "a", "bin", "msi", "deb", "rpm", "apk", "pyc",
        # disk images
        "iso", "dmg", "img", "vmdk", "qcow2",
        # office documents
        "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "key", "pages", "numbers",
        # DICOM (series, not single files), photo formats Encord does not store as images
        "dcm", "dicom", "heic", "heif", "avif", "psd", "raw", "cr2", "nef", "arw", "dng", "svgz",
        # data files
        "db", "sqlite", "npy", "npz", "pkl", "pickle", "h5", "hdf5", "parquet", "pt", "pth", "onnx",
    }
)  # fmt: skip

_OS_METADATA_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})

TEMP_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\.(?P<inner>.+)\.[A-Za-z0-9]{6}$",  # rsync: .name.ext.XXXXXX
        r"^(?P<inner>.+)~$",  # backup files: name~
        r"^\.(?P<inner>.+)\.sw[a-px]$",  # vim swap: .name.swp/.swx/.swo
        r"^\.?#(?P<inner>.+)#$",  # emacs autosave #name#, lock .#name
        r"^\.#(?P<inner>.+)$",  # emacs lock file
        r"^\.goutputstream-[A-Za-z0-9]+$",  # GIO (GNOME) atomic replace
        r"^\.~lock\.(?P<inner>.+)#$",  # LibreOffice lock
        r"^(?P<inner>.+)\.(tmp|temp|part|partial|crdownload|download|filepart)$",
        r"^~\$(?P<inner>.+)$",  # MS Office owner file
    )
)

# A file manager's or editor's new file, renamed by the user later; only without an extension, as
# "Untitled.txt" is a perfectly good final name.
_PLACEHOLDER_NAME = re.compile(r"^(untitled|new file|new document|new text document)\b", re.IGNORECASE)


_TYPE_WORDS = {_IMAGE: "images", _VIDEO: "videos", _AUDIO: "audio", _TEXT: "text", _PDF: "PDF", _NIFTI: "NIfTI"}


@functools.cache
def stored_types() -> str:
    """What Encord stores, for refusal messages: "it stores images (.jpg ...), videos (...), ..."."""
    by_type: dict[StorageItemType, list[str]] = {}
    for ext, item_type in STORABLE_EXTENSIONS.items():
        by_type.setdefault(item_type, []).append("." + ext)
    by_type[_TEXT].append("or any UTF-8 text")
    kinds = ", ".join(f"{_TYPE_WORDS[t]} ({' '.join(exts)})" for t, exts in by_type.items())
    return f"it stores {kinds}; DICOM goes up as a series: encordfs group create NAME --dicom-series FILE..."


def unstorable_name_message(name: str) -> str:
    """Why a name is refused at create/rename (an UNSTORABLE verdict), saying what Encord stores, so
    a refused ``.npy`` or ``.parquet`` reads as a limit of Encord storage, not as a bug."""
    ext = _extension(name)
    what = f".{ext} files" if ext in UNSTORABLE_EXTENSIONS else "operating-system metadata files"
    return f"{name!r}: Encord storage cannot hold {what} ({stored_types()})"


def _extension(name: str) -> str:
    """The lower-case extension, ``nii.gz`` counted as one; "" when there is none (``.bashrc``)."""
    lower = name.lower()
    if lower.endswith(".nii.gz") and len(lower) > len(".nii.gz"):
        return "nii.gz"
    stem, dot, ext = lower.rpartition(".")
    return ext if dot and stem.strip(".") else ""


def _temp_inner(name: str) -> str | None:
    """The name inside a temp name ("" when the pattern has none), or None when not a temp name."""
    for pattern in TEMP_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.groupdict().get("inner") or ""
    if _PLACEHOLDER_NAME.match(name) and not _extension(name):
        return ""
    return None


def is_temporary_name(name: str) -> bool:
    """True for names that tools write and then rename (rsync, editors, browsers, file managers).

    The filesystem can use this to wait for the rename before uploading under such a name.
    """
    return _temp_inner(name) is not None


def judge_name(name: str) -> tuple[NameVerdict, StorageItemType | None]:
    """Judge a file name alone (see the module's decision table).

    STORABLE comes with the type; UNSTORABLE with None; UNDECIDED with a hint (the type the name
    inside a temp name says, e.g. IMAGE for rsync's ``.a.jpg.Xy12Zq``) or None.
    """
    inner = _temp_inner(name)
    if inner is not None:
        return NameVerdict.UNDECIDED, STORABLE_EXTENSIONS.get(_extension(inner))
    if name.lower() in _OS_METADATA_NAMES or name.startswith("._"):
        return NameVerdict.UNSTORABLE, None
    ext = _extension(name)
    if ext in STORABLE_EXTENSIONS:
        return NameVerdict.STORABLE, STORABLE_EXTENSIONS[ext]
    if ext in UNSTORABLE_EXTENSIONS:
        return NameVerdict.UNSTORABLE, None
    return NameVerdict.UNDECIDED, None


def type_of_name(name: str) -> StorageItemType | None:
    """The type a storable name says (``photo.jpg``: IMAGE); None for any other name."""
    verdict, item_type = judge_name(name)
    return item_type if verdict is NameVerdict.STORABLE else None


def may_truncate(item_type: StorageItemType | None, size: int) -> bool:
    """Whether a file of this type can be cut to ``size`` bytes and still be an item: only plain text
    (or a file whose type is not known yet) may be empty; no image, video, audio, PDF or NIfTI can."""
    return size > 0 or item_type in (None, StorageItemType.PLAIN_TEXT)


# --- content sniffing ---------------------------------------------------------------------------

_HEAD_BYTES = 4096


@dataclass(frozen=True)
class _Sniff:
    """What the bytes say: a type (None when not storable) and a human label for messages and logs."""

    item_type: StorageItemType | None
    label: str
    av_ambiguous: bool = False  # a container that may hold audio or video: the name may decide
    unknown: bool = False  # no signature and not text: only an audio/video name may vouch for it


_UNSTORABLE_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (0, b"PK\x05\x06", "an empty ZIP archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (0, b"Rar!\x1a\x07", "a RAR archive"),
    (0, b"\xfd7zXZ\x00", "an xz archive"),
    (0, b"BZh", "a bzip2 archive"),
    (0, b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (0, b"\x7fELF", "an ELF executable"),
    (0, b"MZ", "a Windows executable"),
    (0, b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (0, b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "a Mach-O/Java binary"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE document (old Office format)"),
    (0, b"\x93NUMPY", "a NumPy array"),
    (0, b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (0, b"8BPS", "a Photoshop document"),
    (128, b"DICM", "a DICOM file (upload DICOM as a series with the Encord SDK)"),
    (257, b"ustar", "a tar archive"),
)

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def _sniff_magic(head: bytes) -> _Sniff | None:
    """A media or known-unstorable signature at the start of the file, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return _Sniff(_IMAGE, "JPEG image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _Sniff(_IMAGE, "PNG image")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _Sniff(_IMAGE, "GIF image")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return _Sniff(_IMAGE, "TIFF image")
    if _is_bmp(head):
        return _Sniff(_IMAGE, "BMP image")
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {
            b"WEBP": _Sniff(_IMAGE, "WebP image"),
            b"AVI ": _Sniff(_VIDEO, "AVI video"),
            b"WAVE": _Sniff(_AUDIO, "WAV audio"),
        }.get(head[8:12], _Sniff(None, f"a RIFF {head[8:12]!r} file"))
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head[8:12])
    if head[4:8] in _QUICKTIME_ATOMS and struct.unpack(">I", head[:4])[0] >= 8:
        return _Sniff(_VIDEO, "QuickTime video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _Sniff(_VIDEO, "Matroska/WebM video", av_ambiguous=True)
    if head.startswith(b"OggS\x00"):
        return _Sniff(_AUDIO, "Ogg audio", av_ambiguous=True)
    if head.startswith(b"fLaC") and head[4:5] in (b"\x00", b"\x80"):  # STREAMINFO block first
        return _Sniff(_AUDIO, "FLAC audio")
    if head.startswith(b"ID3") and head[3:5] in (b"\x02\x00", b"\x03\x00", b"\x04\x00"):
        return _Sniff(_AUDIO, "MP3 audio (ID3)")
    if _is_mpeg_audio_frame(head):
        return _Sniff(_AUDIO, "MPEG/AAC audio")
    if head.startswith(b"%PDF-"):
        return _Sniff(_PDF, "PDF document")
    for offset, magic, label in _UNSTORABLE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return _Sniff(None, label)
    return None


def _sniff_ftyp(brand: bytes) -> _Sniff:
    if brand in _HEIF_BRANDS:
        return _Sniff(None, f"a HEIF/AVIF image (brand {brand.decode('latin-1').strip()!r})")
    if brand in _AUDIO_BRANDS:
        return _Sniff(_AUDIO, "MPEG-4 audio")
    if brand == b"crx ":
        return _Sniff(None, "a Canon raw photo")
    return _Sniff(_VIDEO, "MPEG-4/QuickTime video", av_ambiguous=True)


def _is_bmp(head: bytes) -> bool:
    """``BM`` is too short a signature: also require zero reserved bytes and a known DIB header size."""
    if not head.startswith(b"BM") or len(head) < 18:
        return False
    reserved, dib_size = head[6:10], struct.unpack("<I", head[14:18])[0]
    return reserved == b"\x00\x00\x00\x00" and dib_size in {12, 16, 40, 52, 56, 64, 108, 124}


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio layer II/III frame header (MP3) or an AAC ADTS header at offset 0, seen twice.

    Four bytes are a weak signature (a UTF-16 BOM passes for a layer I header), hence the second
    occurrence of the same sync bytes further on and no layer I.
    """
    if len(head) < 4 or head[0] != 0xFF or head.find(head[:2], 2) < 0:
        return False
    b1, b2 = head[1], head[2]
    if b1 & 0xF6 == 0xF0:  # ADTS: 12-bit sync, layer 00
        return True
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate, rate = b2 >> 4, (b2 >> 2) & 3
    return b1 & 0xE0 == 0xE0 and version != 1 and layer in (1, 2) and bitrate not in (0, 15) and rate != 3


def _nifti_label(header: bytes) -> str | None:
    """"NIfTI-1"/"NIfTI-2" when ``header`` starts with a NIfTI header (either byte order), else None."""
    if len(header) < 348:
        return None
    sizes = {struct.unpack("<i", header[:4])[0], struct.unpack(">i", header[:4])[0]}
    if 348 in sizes and header[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "NIfTI-1"
    if 540 in sizes and header[4:12] in (b"n+2\x00\r\n\x1a\n", b"ni2\x00\r\n\x1a\n"):
        return "NIfTI-2"
    return None


def _gunzip_head(head: bytes, size: int) -> bytes:
    """Up to ``size`` decompressed bytes of a gzip stream's start; b"" when it is not valid gzip."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, size)
    except zlib.error:
        return b""


def _sniff_nifti(path: Path, head: bytes) -> _Sniff | None:
    if head.startswith(b"\x1f\x8b"):
        with path.open("rb") as f:
            label = _nifti_label(_gunzip_head(f.read(1 << 16), 544))
        return _Sniff(_NIFTI, f"{label} volume (gzip)") if label else _Sniff(None, "a gzip archive")
    label = _nifti_label(head)
    return _Sniff(_NIFTI, f"{label} volume") if label else None


_EMPTY = _Sniff(_TEXT, "an empty file")


def _sniff(path: Path) -> _Sniff:
    """What the content of ``path`` is, from its signature, else whether it is text."""
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    found = _sniff_nifti(path, head) or _sniff_magic(head)
    if found and found.item_type is not None:
        return found
    # Short unstorable signatures ("MZ", "BZh") also start ordinary text: text wins.
    not_text = decodable.why_not(path, _TEXT)
    if not_text is None:
        return _Sniff(_TEXT, "UTF-8 text") if head else _EMPTY
    return found or _Sniff(None, f"binary content of an unknown type (not text: {not_text})", unknown=True)


def detect(path: Path, name: str) -> StorageItemType:
    """The item type to upload the staged file at ``path`` as, under its final ``name``.

    Raises ``UnsupportedType`` (naming the file and what was found) when Encord cannot store it.
    """
    verdict, by_name = judge_name(name)
    if verdict is NameVerdict.UNSTORABLE:
        raise UnsupportedType(name, "its name says a type Encord does not store")
    found = _sniff(path)
    item_type = _decodable_as(path, name, found, _decide(name, by_name, found))
    if by_name is not None and item_type is not by_name:
        log.info("%r: content is %s, uploading as %s despite its name", name, found.label, item_type.value)
    return item_type


def _decide(name: str, by_name: StorageItemType | None, found: _Sniff) -> StorageItemType:
    if found.item_type is None:
        if by_name in (_AUDIO, _VIDEO) and found.unknown:
            log.info("%r: no signature of a known %s format, asking FFmpeg", name, by_name.value)
            return by_name
        raise UnsupportedType(name, f"found {found.label}")
    if found is _EMPTY and by_name not in (None, _TEXT):
        raise EmptyFile(name, f"named as {by_name.value} but empty")
    if found.item_type is _TEXT and by_name not in (None, _TEXT):
        raise UnsupportedType(name, f"named as {by_name.value} but found {found.label}")
    if found.av_ambiguous and by_name in (_AUDIO, _VIDEO):
        return by_name
    return found.item_type


def _decodable_as(path: Path, name: str, found: _Sniff, item_type: StorageItemType) -> StorageItemType:
    """``item_type`` if the file decodes as one (as the server will check), else the other of
    audio/video when the container may be either (its streams decide); raises UnsupportedType."""
    candidates = [item_type]
    if item_type in (_AUDIO, _VIDEO) and (found.av_ambiguous or found.unknown):
        candidates.append(_VIDEO if item_type is _AUDIO else _AUDIO)
    problems = []
    for candidate in candidates:
        problem = decodable.why_not(path, candidate)
        if problem is None:
            return candidate
        problems.append(problem)
    raise UnsupportedType(name, f"found {found.label}, but {problems[0]}")


# --- upload Content-Type -------------------------------------------------------------------------

_TEXT_MIME_BY_EXTENSION = {
    "txt": "text/plain",
    "log": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html",
    "htm": "text/html",
    "yaml": "text/yaml",
    "yml": "text/yaml",
}


_FIXED_MIME = {
    _VIDEO: "application/octet-stream",
    _AUDIO: "application/octet-stream",
    _PDF: "application/pdf",
    _NIFTI: "application/nifti",
}


def mime_type(item_type: StorageItemType, name: str) -> str:
    """The upload Content-Type the SDK would send for ``name`` as ``item_type``.

    Text differs from the SDK in one way: where the SDK raises for a text file whose extension
    guesses no text type (``.yaml`` on some systems, ``.py``), this answers ``text/plain``.
    """
    if item_type is _IMAGE:
        return mimetypes.guess_type(name)[0] or "application/octet-stream"
    if item_type is _TEXT:
        return _text_mime(name)
    if item_type in _FIXED_MIME:
        return _FIXED_MIME[item_type]
    raise ValueError(f"{item_type.value} is not a single-file upload type")


def _text_mime(name: str) -> str:
    known = _TEXT_MIME_BY_EXTENSION.get(_extension(name))
    if known:
        return known
    guessed = mimetypes.guess_type(name)[0]
    if guessed and guessed.startswith(("text/", "application/json", "application/xml")):
        return guessed
    return "text/plain"
