"""A minimal signed client for the few Encord storage calls the harness makes outside the mount:
bulk loading, finding what a write workload put on the server, and the raw-limit measurements.

It is deliberately separate from ``encordfs.storage``: the benchmark must not measure the client
under test with itself. It speaks the wire protocol (docs: /work/shared/encord-storage-protocol.md)
and uses only ``encordfs.wire.signing`` from the project.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from encordfs.wire.signing import sign_headers

PAGE_SIZE = 1000
UPLOAD_BATCH = 500
PUT_WORKERS = 8
JOB_POLL_SECONDS = 60
_ENTRY = {"image": ("images", "IMAGE", "image/jpeg"), "video": ("videos", "VIDEO", "application/octet-stream")}
_ALL_ITEM_LISTS = ("videos", "images", "audio", "text", "pdf", "nifti", "timeSeries", "imageGroups",
                   "imageGroupsFromItems", "dicomSeries", "scenes")


class UploadJobFailed(RuntimeError):
    """The emulator finished an upload job with ERROR or CANCELLED."""


class _Signed(httpx.Auth):
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(sign_headers(request.method, request.url.raw_path.decode("ascii"), request.content, self.key))
        yield request


def signed_auth(key: Ed25519PrivateKey) -> httpx.Auth:
    return _Signed(key)


class EncordApi:
    def __init__(self, domain: str, key: Ed25519PrivateKey, timeout: float = 120.0) -> None:
        self.api = httpx.Client(base_url=domain.rstrip("/") + "/v2/public/", auth=_Signed(key), timeout=timeout)
        self.blobs = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=PUT_WORKERS))

    def close(self) -> None:
        self.api.close()
        self.blobs.close()

    def __enter__(self) -> EncordApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self._call("GET", path, params={**params, **({"pageToken": token} if token else {}), "pageSize": PAGE_SIZE})
            yield from page["results"]
            token = page.get("nextPageToken")
            if not token:
                return

    # --- folders ---------------------------------------------------------------------------------
    def create_folder(self, name: str, parent: str | None) -> str:
        body: dict[str, Any] = {"name": name}
        if parent:
            body["parent"] = parent
        return self._call("POST", "storage/folders", json=body)["uuid"]

    def subfolders(self, parent: str | None) -> list[dict[str, Any]]:
        params = {"isRecursive": "False", "order": "name", "desc": "False"}
        return list(self._pages(f"storage/folders/{parent}/folders" if parent else "storage/folders", params))

    def folder_by_path(self, *names: str) -> str | None:
        parent: str | None = None
        for name in names:
            match = [f for f in self.subfolders(parent) if f["name"] == name]
            if not match:
                return None
            parent = match[0]["uuid"]
        return parent

    def delete_folder(self, folder: str) -> None:
        """Delete a folder with everything in it (the API deletes only empty folders)."""
        for sub in self.subfolders(folder):
            self.delete_folder(sub["uuid"])
        items = [item["uuid"] for item in self.items(folder)]
        for start in range(0, len(items), PAGE_SIZE):
            self._call("POST", f"storage/folders/{folder}/items/delete",
                       json={"childUuids": items[start : start + PAGE_SIZE], "removeUnusedFrames": True})
        self._call("DELETE", f"storage/folders/{folder}")

    # --- items -----------------------------------------------------------------------------------
    def items(self, folder: str, sign_urls: bool = False) -> list[dict[str, Any]]:
        params = {"isRecursive": "False", "order": "name", "desc": "False", "signUrls": str(sign_urls),
                  "includeClientMetadata": "False"}
        return list(self._pages(f"storage/folders/{folder}/items", params))

    def item(self, uuid: str, sign_url: bool = True) -> dict[str, Any]:
        return self._call("GET", f"storage/items/{uuid}", params={"signUrl": str(sign_url)})

    # --- uploads ---------------------------------------------------------------------------------
    def upload(self, folder: str, paths: list[Path], item_type: str) -> list[str]:
        """Upload files as items titled by their names, in bulk; returns the new items' UUIDs."""
        uuids: list[str] = []
        for start in range(0, len(paths), UPLOAD_BATCH):
            uuids += self._upload_batch(folder, paths[start : start + UPLOAD_BATCH], item_type)
        return uuids

    def _upload_batch(self, folder: str, paths: list[Path], item_type: str) -> list[str]:
        list_key, file_type, content_type = _ENTRY[item_type]
        slots = self._call("POST", f"storage/folders/{folder}/upload-signed-urls",
                           json={"itemType": item_type, "count": len(paths)})["results"]
        with ThreadPoolExecutor(PUT_WORKERS) as pool:
            list(pool.map(lambda pair: self._put(pair[0], pair[1], content_type), zip(paths, slots)))
        entries = [{"objectUrl": slot["objectKey"], "title": path.name, "clientMetadata": {},
                    "externalFileType": file_type, "placeholderItemUuid": slot["itemUuid"]}
                   for path, slot in zip(paths, slots)]
        items: dict[str, Any] = {key: [] for key in _ALL_ITEM_LISTS}
        items[list_key] = entries
        job = self._call("POST", f"storage/folders/{folder}/data-upload-jobs",
                         json={"dataItems": {**items, "skipDuplicateUrls": False, "upsertMetadata": False},
                               "ignoreErrors": False})
        state = self._wait_job(folder, job)
        return [entry["itemUuid"] for entry in state["itemsWithNames"]]

    def _put(self, path: Path, slot: dict[str, Any], content_type: str) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(path.stat().st_size), **slot.get("uploadHeaders", {})}
        with path.open("rb") as body:
            self.blobs.put(slot["signedUrl"], content=body, headers=headers).raise_for_status()

    def _wait_job(self, folder: str, job: str) -> dict[str, Any]:
        while True:
            state = self._call("GET", f"storage/folders/{folder}/data-upload-jobs/{job}",
                               params={"timeoutSeconds": JOB_POLL_SECONDS})
            if state["status"] == "DONE":
                return state
            if state["status"] in ("ERROR", "CANCELLED"):
                raise UploadJobFailed(f"upload job {job}: {state['status']} {state.get('errors')}")
            time.sleep(0.05)
