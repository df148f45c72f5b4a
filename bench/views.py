"""What each server holds, seen from outside the mount: to tell when an upload has landed, to
check the bytes that landed, and to prepare and clean up the write workloads' folders."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

import httpx

from bench.encord_api import EncordApi

_DAV = "{DAV:}"


class ServerView(Protocol):
    def sizes(self, *folders: str) -> dict[str, int]:
        """File name -> size of the files directly in the folder path; {} when it does not exist."""
        ...

    def read(self, *path: str) -> bytes: ...

    def make_folder(self, *folders: str) -> None: ...

    def remove_folder(self, *folders: str) -> None: ...


class WebdavView:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=120)

    def _url(self, parts: tuple[str, ...], folder: bool) -> str:
        return self.url + "/" + "/".join(quote(p) for p in parts) + ("/" if folder else "")

    def sizes(self, *folders: str) -> dict[str, int]:
        response = self.http.request("PROPFIND", self._url(folders, True), headers={"Depth": "1"})
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        found: dict[str, int] = {}
        for entry in ET.fromstring(response.content).iter(f"{_DAV}response"):
            length = entry.find(f".//{_DAV}getcontentlength")
            if length is not None and entry.find(f".//{_DAV}collection") is None:
                href = unquote(urlsplit(entry.findtext(f"{_DAV}href", "")).path)
                found[href.rstrip("/").rsplit("/", 1)[-1]] = int(length.text or 0)
        return found

    def read(self, *path: str) -> bytes:
        response = self.http.get(self._url(path, False))
        response.raise_for_status()
        return response.content

    def make_folder(self, *folders: str) -> None:
        self.http.request("MKCOL", self._url(folders, True)).raise_for_status()

    def remove_folder(self, *folders: str) -> None:
        response = self.http.request("DELETE", self._url(folders, True))
        if response.status_code != 404:
            response.raise_for_status()


class EmulatorView:
    """The emulator through its API. A folder's UUID is remembered once found, so polling for an
    upload costs one API call, as a PROPFIND does on the WebDAV side."""

    def __init__(self, api: EncordApi) -> None:
        self.api = api
        self._folders: dict[tuple[str, ...], str] = {}
        self._items: dict[tuple[str, ...], dict[str, str]] = {}  # folder path -> name -> item UUID, as last listed

    def _folder(self, folders: tuple[str, ...]) -> str | None:
        if folders not in self._folders:
            found = self.api.folder_by_path(*folders)
            if found is None:
                return None
            self._folders[folders] = found
        return self._folders[folders]

    def sizes(self, *folders: str) -> dict[str, int]:
        folder = self._folder(folders)
        if folder is None:
            return {}
        items = self.api.items(folder)
        self._items[folders] = {item["name"]: item["uuid"] for item in items}
        return {item["name"]: item["fileSize"] for item in items}

    def read(self, *path: str) -> bytes:
        if path[-1] not in self._items.get(path[:-1], {}):
            self.sizes(*path[:-1])
        uuid = self._items.get(path[:-1], {}).get(path[-1])
        if uuid is None:
            raise FileNotFoundError(f"{'/'.join(path)} is not on the emulator")
        response = self.api.blobs.get(self.api.item(uuid, sign_url=True)["signedUrl"])
        response.raise_for_status()
        return response.content

    def make_folder(self, *folders: str) -> None:
        parent = self.api.folder_by_path(*folders[:-1]) if len(folders) > 1 else None
        self.api.create_folder(folders[-1], parent)

    def remove_folder(self, *folders: str) -> None:
        folder = self._folder(folders)
        if folder is not None:
            self.api.delete_folder(folder)
            self._folders = {path: uuid for path, uuid in self._folders.items() if path[: len(folders)] != folders}
            self._items = {path: names for path, names in self._items.items() if path[: len(folders)] != folders}
