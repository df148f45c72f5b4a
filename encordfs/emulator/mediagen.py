"""Real, valid media files made on the fly for tests, the demo tree and benchmarks.

Every generator is deterministic from its seed, writes one file (or a few) and returns the path(s).
Defaults are tiny so tests stay fast; sizes scale up for benchmarks.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from encordfs.wire.enums import StorageItemType

# Muxer options that leave out random IDs (Matroska segment UID, Ogg serial numbers): same seed, same bytes.
BITEXACT = {"fflags": "+bitexact"}


# --- images --------------------------------------------------------------------------------------


def _textured(width: int, height: int, seed: int, grain: int = 48) -> Image.Image:
    """A colour gradient with soft blobs and fine grain: compresses like a photo, not like flat colour."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    small = (max(1, width // 16), max(1, height // 16))
    blobs = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    picture = Image.blend(Image.blend(base, tint, 0.5), blobs, 0.5)
    if grain:
        noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        picture = Image.blend(picture, noise, grain / 255)
    return picture


def _save_image(path: Path, picture: Image.Image, **options: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, **options)
    return path


def jpeg(path: Path, width: int = 64, height: int = 48, seed: int = 0, quality: int = 85) -> Path:
    return _save_image(path, _textured(width, height, seed), format="JPEG", quality=quality)


def png(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    return _save_image(path, _textured(width, height, seed), format="PNG")


def jpeg_of_size(path: Path, approx_bytes: int, seed: int = 0) -> Path:
    """A photo-like JPEG within about 10% of `approx_bytes` (4:3, quality 85)."""
    area = max(64.0, approx_bytes / 0.35)  # grain-textured JPEG at q85 takes about 0.35 bytes per pixel
    for _attempt in range(4):
        width = max(8, round((area * 4 / 3) ** 0.5))
        height = max(6, round(width * 3 / 4))
        _save_image(path, _textured(width, height, seed), format="JPEG", quality=85)
        size = Path(path).stat().st_size
        if abs(size - approx_bytes) <= approx_bytes * 0.1:
            break
        area *= approx_bytes / size
    return Path(path)


# --- video ---------------------------------------------------------------------------------------


def _frames(count: int, width: int, height: int, seed: int) -> Iterable[av.VideoFrame]:
    """A picture panning sideways with a moving box, so consecutive frames differ like real footage."""
    scene = _textured(width * 2, height, seed, grain=16)
    for index in range(count):
        offset = (index * 3) % width
        picture = scene.crop((offset, 0, offset + width, height))
        box = (index * 2) % max(1, width - 8)
        ImageDraw.Draw(picture).rectangle((box, height // 3, box + 8, height // 3 + 8), fill=(255, 255, 255))
        yield av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]


# container format of each video suffix, and a codec PyAV's wheel can encode into it
VIDEO_FORMATS = {".mp4": ("mp4", "mpeg4"), ".mov": ("mov", "mpeg4"), ".mkv": ("matroska", "mpeg4"),
                 ".webm": ("webm", "libvpx"), ".avi": ("avi", "mpeg4")}


def _encode_video(path: Path, fmt: str, codec: str, seconds: float, fps: int, width: int, height: int, seed: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=fmt, options=BITEXACT) as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in _frames(round(seconds * fps), width, height, seed):
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def video(path: Path, seconds: float = 1.0, fps: int = 10, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    """A video of exactly round(seconds * fps) frames; the container follows the suffix (VIDEO_FORMATS)."""
    fmt, codec = VIDEO_FORMATS[Path(path).suffix.lower()]
    return _encode_video(path, fmt, codec, seconds, fps, width, height, seed)


def mp4(path: Path, seconds: float = 1.0, fps: int = 10, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    """An MPEG-4 Part 2 video in an MP4 container (whatever the suffix), exactly round(seconds * fps) frames."""
    return _encode_video(path, "mp4", "mpeg4", seconds, fps, width, height, seed)


def large_video(path: Path, approx_bytes: int, seed: int = 0, fps: int = 30) -> Path:
    """A valid MP4 of about `approx_bytes`, fast: a few intra-only noise frames encoded once, then
    their packets muxed again and again (every packet is a keyframe, so any repetition decodes)."""
    width, height, distinct = 1280, 720, 8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with av.open(str(path), mode="w", format="mp4", options=BITEXACT) as container:
        stream = container.add_stream("mpeg4", rate=fps, options={"g": "1", "qscale": "2"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.codec_context.gop_size = 1
        packets = []
        for index in range(distinct):
            noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
            frame = av.VideoFrame.from_image(noise)  # type: ignore[no-untyped-call]
            frame.pts = index
            packets.extend(stream.encode(frame))
        packets.extend(stream.encode())
        payloads = [bytes(packet) for packet in packets]
        written, index = 0, 0
        while written < approx_bytes or index < len(payloads):
            payload = payloads[index % len(payloads)]
            packet = av.Packet(payload)
            packet.stream = stream
            packet.pts = packet.dts = index
            packet.time_base = Fraction(1, fps)
            packet.is_keyframe = True
            container.mux(packet)
            written += len(payload)
            index += 1
    return path


# --- audio ---------------------------------------------------------------------------------------


def _tone(seconds: float, rate: int, channels: int, seed: int) -> list[list[float]]:
    """Per-channel samples in [-1, 1]: a seed-chosen pitch plus a little noise."""
    rng = random.Random(seed)
    pitch = 220.0 * 2 ** (rng.randrange(24) / 12)
    count = round(seconds * rate)
    return [
        [0.5 * math.sin(2 * math.pi * pitch * (ch + 1) * n / rate) + 0.05 * (rng.random() - 0.5) for n in range(count)]
        for ch in range(channels)
    ]


def _pcm(samples: list[list[float]], bits: int) -> bytes:
    """Interleaved little-endian PCM (8-bit is unsigned, as WAV wants)."""
    if bits == 8:
        return bytes(int((s + 1) * 127.5) for frame in zip(*samples) for s in frame)
    scale = (1 << (bits - 1)) - 1
    width = bits // 8
    return b"".join(int(s * scale).to_bytes(width, "little", signed=True) for frame in zip(*samples) for s in frame)


def wav(path: Path, seconds: float = 1.0, rate: int = 16000, channels: int = 1, bits: int = 16, seed: int = 0) -> Path:
    """A PCM WAV written with the stdlib (bits 8, 16, 24 or 32)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(rate)
        out.writeframes(_pcm(_tone(seconds, rate, channels, seed), bits))
    return path


# container format and encoder of each compressed-audio suffix
AUDIO_FORMATS = {".mp3": ("mp3", "libmp3lame"), ".flac": ("flac", "flac"), ".ogg": ("ogg", "libopus"),
                 ".m4a": ("ipod", "aac")}


def _encode_audio(path: Path, fmt: str, codec: str, seconds: float, rate: int, channels: int, seed: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = "mono" if channels == 1 else "stereo"
    samples = _tone(seconds, rate, channels, seed)
    with av.open(str(path), mode="w", format=fmt, options=BITEXACT) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame(format="s16", layout=layout, samples=len(samples[0]))
        frame.planes[0].update(_pcm(samples, 16))
        frame.sample_rate, frame.pts = rate, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def audio(path: Path, seconds: float = 1.0, rate: int = 48000, channels: int = 1, seed: int = 0) -> Path:
    """Compressed audio whose container and codec follow the suffix (AUDIO_FORMATS). Opus wants 48 kHz."""
    fmt, codec = AUDIO_FORMATS[Path(path).suffix.lower()]
    return _encode_audio(path, fmt, codec, seconds, rate, channels, seed)


def mp3(path: Path, seconds: float = 1.0, rate: int = 44100, channels: int = 1, seed: int = 0) -> Path:
    """An MP3 encoded by PyAV's libmp3lame (whatever the suffix)."""
    return _encode_audio(path, "mp3", "libmp3lame", seconds, rate, channels, seed)


# --- documents and volumes ---------------------------------------------------------------------


def text(path: Path, lines: Sequence[str] = ("hello", "world")) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pdf_escape(line: str) -> str:
    """PDF string-literal text: Latin-1 (the standard fonts' encoding) with \\, ( and ) escaped."""
    latin = line.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(path: Path, pages: int = 1, text: str = "Hello from the encordfs emulator") -> Path:
    """A minimal valid PDF 1.4 (one Helvetica text line per page), with a correct xref table."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for number in range(pages):
        content = f"BT /F1 18 Tf 72 720 Td ({_pdf_escape(text)} - page {number + 1}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * number} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def nifti(path: Path, shape: tuple[int, ...] = (4, 4, 4), seed: int = 0) -> Path:
    """A NIfTI-1 single-file volume of uint8 voxels; gzip-compressed when the name ends in .gz."""
    if not 1 <= len(shape) <= 7:
        raise ValueError(f"NIfTI has 1 to 7 dimensions, got {len(shape)}")
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, len(shape), *shape, *([1] * (7 - len(shape))))
    struct.pack_into("<hh", header, 70, 2, 8)  # datatype DT_UINT8, bitpix
    struct.pack_into("<8f", header, 76, 1.0, *([1.0] * 7))  # qfac, voxel sizes in mm
    struct.pack_into("<ff", header, 108, 352.0, 1.0)  # vox_offset, scl_slope
    header[123] = 10 | 8  # xyzt_units: mm and seconds
    struct.pack_into("<hh", header, 252, 0, 0)
    header[344:348] = b"n+1\0"
    voxels = 1
    for size in shape:
        voxels *= size
    body = bytes(header) + b"\0\0\0\0" + random.Random(seed).randbytes(voxels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body, mtime=0) if path.suffix == ".gz" else body)
    return path


def dicom_series(directory: Path, count: int = 3, seed: int = 0, size: int = 16) -> list[Path]:
    """`count` CT slices of one study and one series (deterministic UIDs), readable by pydicom."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    study = generate_uid(entropy_srcs=[f"encordfs-study-{seed}"])
    series = generate_uid(entropy_srcs=[f"encordfs-series-{seed}"])
    paths = []
    for index in range(count):
        instance = generate_uid(entropy_srcs=[f"encordfs-instance-{seed}-{index}"])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = instance
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, instance
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName, ds.PatientID = "Emulator^Phantom", f"PHANTOM{seed:04d}"
        ds.Modality, ds.StudyDate = "CT", date(2024, 1, 1 + seed % 28).strftime("%Y%m%d")
        ds.SeriesNumber, ds.InstanceNumber = 1, index + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(index)]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 1.0
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = b"".join(rng.randrange(4096).to_bytes(2, "little") for _ in range(size * size))
        path = directory / f"slice-{index + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def csv_timeseries(path: Path, rows: int = 50, channels: Sequence[str] = ("heart_rate", "spo2"), seed: int = 0) -> Path:
    """A time-series CSV: a `time` column in seconds and one numeric column per channel."""
    rng = random.Random(seed)
    lines = [",".join(("time", *channels))]
    lines += [",".join([f"{n / 10:.1f}", *(f"{rng.uniform(50, 100):.2f}" for _ in channels)]) for n in range(rows)]
    return text(path, lines)


def json_document(path: Path, payload: object) -> Path:
    return text(path, [json.dumps(payload, indent=2, ensure_ascii=False)])


# --- the demo tree -------------------------------------------------------------------------------


@dataclass
class SampleFile:
    title: str
    item_type: StorageItemType
    path: Path


@dataclass
class SampleGroup:
    title: str
    kind: StorageItemType  # IMAGE_GROUP | IMAGE_SEQUENCE | DICOM_SERIES
    frames: list[Path]


@dataclass
class SampleFolder:
    name: str
    description: str
    files: list[SampleFile] = field(default_factory=list)
    groups: list[SampleGroup] = field(default_factory=list)
    folders: list[SampleFolder] = field(default_factory=list)


_WORDS = ["camera", "lidar", "frame", "label", "annotate", "review", "queue", "batch", "export", "model", "train", "validate", "street", "car", "cyclist", "pedestrian", "lane", "signal", "night", "rain", "crossing", "dataset", "ontology", "workflow", "consensus", "ground", "truth"]


class _TreeWriter:
    """Writes sample files under `root`, one directory per folder, with seeds drawn from one RNG."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)

    def seed(self) -> int:
        return self.rng.randrange(1 << 30)

    def _sentence(self, words: int = 8) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(words)).capitalize() + "."

    def _free_path(self, directory: Path, title: str) -> Path:
        """Where to write `title` in `directory`: a duplicate title gets its own hidden subdirectory."""
        path = directory / title
        copy = 1
        while path.exists():
            path = directory / ".duplicates" / str(copy) / title
            copy += 1
        return path

    def file(self, directory: Path, title: str, item_type: StorageItemType) -> SampleFile:
        path = self._free_path(directory, title)
        self._write(path, item_type)
        return SampleFile(title, item_type, path)

    def _write(self, path: Path, item_type: StorageItemType) -> None:
        seed = self.seed()
        width, height = self.rng.choice(((64, 48), (80, 60), (96, 72), (48, 64)))
        suffix = path.name.lower().rsplit(".", 1)[-1]
        if item_type is StorageItemType.IMAGE:
            (png if suffix == "png" else jpeg)(path, width, height, seed=seed)
        elif item_type is StorageItemType.VIDEO:
            mp4(path, seconds=1.0, fps=10, width=width, height=height, seed=seed)
        elif item_type is StorageItemType.AUDIO:
            (mp3 if suffix == "mp3" else wav)(path, seconds=0.5, seed=seed)
        elif item_type is StorageItemType.PDF:
            pdf(path, pages=1 + seed % 3, text=self._sentence())
        elif item_type is StorageItemType.NIFTI:
            nifti(path, shape=(8, 8, 4 + seed % 4), seed=seed)
        else:
            self._write_text(path, suffix, seed)

    def _write_text(self, path: Path, suffix: str, seed: int) -> None:
        if suffix == "json":
            labels = sorted({self.rng.choice(_WORDS) for _ in range(4)})
            json_document(path, {"id": seed, "labels": labels, "note": self._sentence()})
        elif suffix == "csv":
            csv_timeseries(path, rows=20, seed=seed)
        elif suffix == "md":
            text(path, [f"# {self._sentence(3)[:-1]}", "", *(f"- {self._sentence()}" for _ in range(4))])
        else:
            text(path, [self._sentence() for _ in range(5)])

    def image_group(self, folder: SampleFolder, directory: Path, title: str, kind: StorageItemType, count: int) -> None:
        frame_dir = directory / f"{title}.frames"
        frames = [jpeg(frame_dir / f"frame-{n:04d}.jpg", seed=self.seed()) for n in range(1, count + 1)]
        folder.groups.append(SampleGroup(title, kind, frames))

    def folder(self, parent: Path, name: str, description: str) -> tuple[SampleFolder, Path]:
        directory = parent / name
        directory.mkdir(parents=True, exist_ok=True)
        return SampleFolder(name, description), directory

    def many(self, folder: SampleFolder, directory: Path, pattern: str, count: int, item_type: StorageItemType) -> None:
        folder.files += [self.file(directory, pattern.format(n), item_type) for n in range(1, count + 1)]


def _street_scenes(w: _TreeWriter) -> SampleFolder:
    top, top_dir = w.folder(w.root, "Street scenes", "Dashcam stills and clips from city drives")
    w.many(top, top_dir, "street-{:04d}.jpg", 75, StorageItemType.IMAGE)
    top.files.append(w.file(top_dir, "street-0007.jpg", StorageItemType.IMAGE))  # the same title twice in one folder
    w.image_group(top, top_dir, "crossing burst", StorageItemType.IMAGE_GROUP, 6)
    w.image_group(top, top_dir, "traffic-cam sequence", StorageItemType.IMAGE_SEQUENCE, 10)
    night, night_dir = w.folder(top_dir, "Night", "Low-light captures")
    w.many(night, night_dir, "night-{:04d}.png", 36, StorageItemType.IMAGE)
    w.many(night, night_dir, "night shot {}.png", 4, StorageItemType.IMAGE)
    rainy, rainy_dir = w.folder(night_dir, "Rainy", "Rain at night: reflections and glare")
    w.many(rainy, rainy_dir, "rain-{:04d}.jpg", 16, StorageItemType.IMAGE)
    w.many(rainy, rainy_dir, "Straße bei Nacht {:02d}.jpg", 4, StorageItemType.IMAGE)
    night.folders.append(rainy)
    clips, clips_dir = w.folder(top_dir, "Dashcam clips", "One-second clips")
    w.many(clips, clips_dir, "drive-{:03d}.mp4", 8, StorageItemType.VIDEO)
    top.folders += [night, clips]
    return top


def _medical(w: _TreeWriter) -> SampleFolder:
    top, top_dir = w.folder(w.root, "Medical", "Phantom scans and their reports")
    series = dicom_series(top_dir / "CT phantom series.frames", count=5, seed=w.seed())
    top.groups.append(SampleGroup("CT phantom series", StorageItemType.DICOM_SERIES, series))
    w.many(top, top_dir, "volume-{:02d}.nii", 6, StorageItemType.NIFTI)
    w.many(top, top_dir, "mri-brain-{:02d}.nii.gz", 2, StorageItemType.NIFTI)
    reports, reports_dir = w.folder(top_dir, "Reports", "Radiology reports")
    w.many(reports, reports_dir, "report-{:03d}.pdf", 15, StorageItemType.PDF)
    referrals, referrals_dir = w.folder(reports_dir, "2024 Überweisungen", "Referral letters")
    w.many(referrals, referrals_dir, "Überweisung {:02d}.pdf", 10, StorageItemType.PDF)
    reports.folders.append(referrals)
    top.folders.append(reports)
    return top


def _audio(w: _TreeWriter) -> SampleFolder:
    top, top_dir = w.folder(w.root, "Audio", "Field recordings and interviews")
    w.many(top, top_dir, "field-{:03d}.wav", 12, StorageItemType.AUDIO)
    interviews, interviews_dir = w.folder(top_dir, "Interviews", "Annotator interviews")
    w.many(interviews, interviews_dir, "interview-{:02d}.wav", 10, StorageItemType.AUDIO)
    w.many(interviews, interviews_dir, "podcast ep{:02d}.mp3", 6, StorageItemType.AUDIO)
    raw, raw_dir = w.folder(interviews_dir, "Raw takes", "Unedited takes")
    w.many(raw, raw_dir, "take-{:02d}.wav", 12, StorageItemType.AUDIO)
    interviews.folders.append(raw)
    top.folders.append(interviews)
    return top


def _documents(w: _TreeWriter) -> SampleFolder:
    top, top_dir = w.folder(w.root, "Documents", "Notes, configs and exports")
    w.many(top, top_dir, "notes-{:03d}.txt", 20, StorageItemType.PLAIN_TEXT)
    w.many(top, top_dir, "config-{:03d}.json", 15, StorageItemType.PLAIN_TEXT)
    w.many(top, top_dir, "sensor-log-{:03d}.csv", 15, StorageItemType.PLAIN_TEXT)
    w.many(top, top_dir, "README {}.md", 5, StorageItemType.PLAIN_TEXT)
    notes, notes_dir = w.folder(top_dir, "Meeting notes", "Weekly syncs")
    w.many(notes, notes_dir, "sync {:02d}.md", 12, StorageItemType.PLAIN_TEXT)
    w.many(notes, notes_dir, "café chat {:02d}.txt", 4, StorageItemType.PLAIN_TEXT)
    archive, archive_dir = w.folder(notes_dir, "日本語メモ", "Notes in Japanese names")
    w.many(archive, archive_dir, "メモ-{:02d}.txt", 6, StorageItemType.PLAIN_TEXT)
    notes.folders.append(archive)
    top.folders.append(notes)
    return top


def sample_tree(dest: Path, seed: int = 0) -> list[SampleFolder]:
    """Write the demo tree under `dest` and describe it: four top-level folders, three levels deep,
    about 300 items of every single-file type, an image group, an image sequence and a DICOM series.
    "Street scenes" holds the title "street-0007.jpg" twice, to exercise name clashes."""
    writer = _TreeWriter(Path(dest), seed)
    return [_street_scenes(writer), _medical(writer), _audio(writer), _documents(writer)]
