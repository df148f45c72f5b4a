"""Small real media files for the SDK upload tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from encordfs.emulator import mediagen


@dataclass(frozen=True)
class Media:
    jpeg: Path
    png: Path
    mp4: Path
    wav: Path
    text: Path
    pdf: Path
    nifti: Path
    dicom: list[Path]
    frames: list[Path]


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    d = tmp_path_factory.mktemp("media")
    return Media(
        jpeg=mediagen.jpeg(d / "photo.jpg", 40, 30, seed=1),
        png=mediagen.png(d / "pic.png", 20, 10, seed=2),
        mp4=mediagen.mp4(d / "clip.mp4", seconds=1.0, fps=10, width=32, height=24),
        wav=mediagen.wav(d / "tone.wav", seconds=0.5, rate=16000, channels=2),
        text=mediagen.text(d / "note.txt", ["hello", "emulator"]),
        pdf=mediagen.pdf(d / "doc.pdf", pages=2),
        nifti=mediagen.nifti(d / "vol.nii", shape=(4, 4, 3)),
        dicom=mediagen.dicom_series(d / "series", count=3),
        frames=[mediagen.jpeg(d / f"frame-{n}.jpg", 16, 12, seed=n) for n in range(3)],
    )
