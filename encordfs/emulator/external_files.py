"""The private-data JSON Encord documents for imports (``externalFiles``), as ``dataItems`` lists.

The documented file has snake_case keys (``videos``, ``images``, ``audio``, ``text``, ``pdf``,
``nifti``, ``image_groups``, ``dicom_series``) whose entries name their objects with
``objectUrl`` or, for image groups/sequences and DICOM series, ``objectUrl_0``, ``objectUrl_1``...
in frame order, plus top-level ``skip_duplicate_urls`` / ``upsert_metadata``. The DataUploadItems
spelling (camelCase keys, ``images`` / ``dicomFiles`` lists) is accepted too, as it is in
``dataItems``.
"""

from __future__ import annotations

import re
from typing import Any

from .ingest import MalformedJob

_LISTS = {"image_groups": "imageGroups", "dicom_series": "dicomSeries", "pdfs": "pdf"}
_FLAGS = {"skip_duplicate_urls": "skipDuplicateUrls", "upsert_metadata": "upsertMetadata"}
_FRAMES = {"imageGroups": "images", "dicomSeries": "dicomFiles"}
_FRAME_URL = re.compile(r"^objectUrl_(\d+)$")


def as_data_items(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise MalformedJob("externalFiles must be a JSON object")
    items: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _FLAGS or key in _FLAGS.values():
            items[_FLAGS.get(key, key)] = value
            continue
        key = _LISTS.get(key, key)
        if key in _FRAMES and isinstance(value, list):
            value = [_with_frames(entry, _FRAMES[key]) for entry in value]
        items[key] = value
    return items


def _with_frames(entry: Any, frames_key: str) -> Any:
    """An entry with ``objectUrl_N`` keys gets them as its frame list, in N order."""
    if not isinstance(entry, dict) or frames_key in entry:
        return entry
    numbered = sorted((int(m.group(1)), value) for key, value in entry.items() if (m := _FRAME_URL.match(key)))
    rest = {k: v for k, v in entry.items() if not _FRAME_URL.match(k)}
    return {**rest, frames_key: [{"url": url} for _, url in numbered]}
