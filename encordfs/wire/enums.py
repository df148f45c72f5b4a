"""Encord storage enums with their exact wire spellings (case-sensitive on the wire)."""

from __future__ import annotations

from enum import Enum


class StorageItemType(str, Enum):
    VIDEO = "video"
    IMAGE = "image"
    GROUP = "group"
    IMAGE_GROUP = "imageGroup"
    IMAGE_SEQUENCE = "imageSequence"
    DICOM_FILE = "dicomFile"
    DICOM_SERIES = "dicomSeries"
    AUDIO = "audio"
    TIMESERIES = "timeseries"
    NIFTI = "nifti"
    PLAIN_TEXT = "plainText"
    PDF = "pdf"
    SCENE = "scene"

    @property
    def is_composite(self) -> bool:
        """Items whose content is a list of child items (frames or files), not one blob."""
        return self in COMPOSITE_ITEM_TYPES


COMPOSITE_ITEM_TYPES = frozenset(
    {StorageItemType.GROUP, StorageItemType.IMAGE_GROUP, StorageItemType.IMAGE_SEQUENCE, StorageItemType.DICOM_SERIES}
)


class SortBy(str, Enum):
    NAME = "name"
    CREATED_AT = "createdAt"


class StorageUserRole(str, Enum):
    USER = "user"
    ADMIN = "admin"


class StorageFolderType(str, Enum):
    GENERIC = "generic"
    CLOUD_LINKED = "cloudLinked"
    SYNTHETIC = "synthetic"


class StorageLocationName(str, Enum):
    ENCORD = "encord"
    GCP = "gcp"
    S3 = "s3"
    AZURE = "azure"
    OPEN_TELEKOM = "openTelekom"
    DIRECT_ACCESS = "directAccess"
    S3_COMPATIBLE = "s3Compatible"


class UploadJobStatus(str, Enum):
    """Upload-job long-polling status: upper case on the wire, unlike most enums."""

    PENDING = "PENDING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self is not UploadJobStatus.PENDING


class ReencodeStatus(str, Enum):
    SUBMITTED = "submitted"
    DONE = "done"
    ERROR = "error"


class ExternalFileType(str, Enum):
    """The ``externalFileType`` literal of upload-job entries (upper case)."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    PLAIN_TEXT = "PLAIN_TEXT"
    PDF = "PDF"
    NIFTI = "NIFTI"
    TIMESERIES = "TIMESERIES"
    SCENE = "SCENE"
    IMG_GROUP = "IMG_GROUP"
    IMG_GROUP_FROM_ITEMS = "IMG_GROUP_FROM_ITEMS"
    DICOM = "DICOM"


# Single-file item types: the upload-signed-urls itemType, the dataUploadItems key and the
# externalFileType of a job entry for each.
UPLOAD_FLOWS: dict[StorageItemType, tuple[str, ExternalFileType]] = {
    StorageItemType.IMAGE: ("images", ExternalFileType.IMAGE),
    StorageItemType.VIDEO: ("videos", ExternalFileType.VIDEO),
    StorageItemType.AUDIO: ("audio", ExternalFileType.AUDIO),
    StorageItemType.PLAIN_TEXT: ("text", ExternalFileType.PLAIN_TEXT),
    StorageItemType.PDF: ("pdf", ExternalFileType.PDF),
    StorageItemType.NIFTI: ("nifti", ExternalFileType.NIFTI),
}

DATA_UPLOAD_ITEM_KEYS = (
    "videos",
    "imageGroups",
    "dicomSeries",
    "images",
    "imageGroupsFromItems",
    "audio",
    "timeSeries",
    "nifti",
    "text",
    "pdf",
    "scenes",
)
