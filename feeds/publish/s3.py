"""Publishing to S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Ceph) with the publish
folder's interface (feeds.publish.folder.Publisher).

stage() runs in the build's worker processes, which never touch boto3: it writes the bytes
to a spool file in paths.state (a per-host cache), unless they equal the object already in
the bucket (its ETag, the MD5 of a single-part upload, known from the listing the build
makes). commit() uploads in phases, each finished before the next starts: media, article
pages, the other pages, the feeds, the sitemaps and robots.txt, so no reader follows a link
to an object not there yet; then it deletes what remove() queued. Every PUT replaces its
object whole, so a build killed at any point leaves each object old or new, and the next
one converges like a local build.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import mimetypes
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any

from feeds.config import Config, PublishConfig
from feeds.errors import PublishError
from feeds.publish.folder import safe_join

S3Staged = tuple[str, Path, str]
"""An object to upload: (publish path, spool file, MD5 hex of its bytes)."""

_TYPES = {
    "rss.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".xsl": "application/xslt+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".eml": "message/rfc822",
}


def content_type(rel: str) -> str:
    """The Content-Type an object is served with (feeds with their own types)."""
    name = PurePosixPath(rel).name
    if name in _TYPES:
        return _TYPES[name]
    if rel.startswith("archive/feed-") and rel.endswith(".xml"):
        return _TYPES["atom.xml"]  # the archived feed pages (RFC 5005) are Atom
    suffix = PurePosixPath(rel).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def phase(rel: str) -> int:
    """Upload order: what is linked to goes up before what links to it."""
    name = PurePosixPath(rel).name
    if rel.startswith("media/"):
        return 0
    if rel.startswith("articles/"):
        return 1
    if name in ("rss.xml", "atom.xml", "feed.json", "opml.xml") or rel.startswith("archive/feed-"):
        return 3
    if name.startswith("sitemap") or name == "robots.txt":
        return 4
    return 2  # home, archive, month and group pages, digests


def cache_control(settings: PublishConfig, rel: str) -> str:
    """Short for feeds and index pages, longer for article pages, long for media."""
    number = phase(rel)
    if number == 0:
        return settings.cache_media
    return settings.cache_pages if number == 1 else settings.cache_feeds


_SPOOL_NUMBERS = itertools.count()


class S3Publisher:
    """Writes objects under s3://bucket/prefix/, skipping those whose bytes are unchanged."""

    THREADS = 16
    DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys

    def __init__(self, config: Config) -> None:
        bucket, _, prefix = config.out_url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix
        self.settings = config.publish
        self.spool = config.paths.state / "s3-spool"
        self.written: list[str] = []
        self.known: dict[str, str] = {}  # key -> ETag, from the last listing
        self._pending: list[S3Staged] = []
        self._removed: list[str] = []
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            self._client = boto3.client(
                "s3",
                endpoint_url=self.settings.endpoint_url or None,
                region_name=self.settings.region or None,
                config=BotoConfig(max_pool_connections=self.THREADS, retries={"mode": "standard"}),
            )
        return self._client

    def stage(self, rel: str, data: bytes) -> S3Staged | None:
        """A spool file holding data, unless the bucket already holds exactly data at rel."""
        safe_join(self.spool, rel)  # the same refusal of paths leaving the site
        md5 = hashlib.md5(data).hexdigest()
        if self.known.get(rel) == md5:
            return None
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
            tmp = self.spool / f"{os.getpid()}-{next(_SPOOL_NUMBERS)}.tmp"
            tmp.write_bytes(data)
        except OSError as exc:
            raise PublishError(f"{self.spool}: cannot write: {exc.strerror or exc}") from None
        return (rel, tmp, md5)

    def adopt(self, items: Iterable[S3Staged]) -> None:
        """Take staged objects (possibly from worker processes) for the next commit."""
        self._pending.extend(items)

    def write(self, rel: str, data: bytes) -> bool:
        """Stage rel if its bytes differ; True if it will change."""
        staged = self.stage(rel, data)
        if staged is not None:
            self.adopt([staged])
        return staged is not None

    def remove(self, rel: str) -> None:
        """Delete the object at rel in commit(), after every upload."""
        self._removed.append(rel)

    def flush(self) -> None:
        """Nothing goes up before commit(): the phases need the whole set."""

    def abort(self) -> None:
        """Drop staged objects not uploaded yet (the bucket keeps its old versions)."""
        for _, tmp, _ in self._pending:
            with suppress(OSError):
                tmp.unlink()
        self._pending = []
        self._removed = []

    def commit(self) -> None:
        """Upload phase by phase, then delete the removed objects."""
        by_phase: dict[int, list[S3Staged]] = {}
        for item in self._pending:
            by_phase.setdefault(phase(item[0]), []).append(item)
        try:
            with ThreadPoolExecutor(self.THREADS) as pool:
                for number in sorted(by_phase):  # each phase complete before the next
                    for rel in pool.map(self._upload, by_phase[number]):
                        self.written.append(rel)
            self._pending = []
            removed, self._removed = self._removed, []
            for start in range(0, len(removed), self.DELETE_BATCH):
                chunk = removed[start : start + self.DELETE_BATCH]
                self._s3().delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.prefix + r} for r in chunk], "Quiet": True},
                )
                for rel in chunk:
                    self.known.pop(rel, None)
        except _client_errors() as exc:
            raise PublishError(f"s3://{self.bucket}/{self.prefix}: {exc}") from None

    def _upload(self, item: S3Staged) -> str:
        rel, tmp, md5 = item
        with tmp.open("rb") as body:
            self._s3().put_object(
                Bucket=self.bucket,
                Key=self.prefix + rel,
                Body=body,
                ContentType=content_type(rel),
                CacheControl=cache_control(self.settings, rel),
                ContentMD5=base64.b64encode(bytes.fromhex(md5)).decode(),  # checked by S3
            )
        with suppress(OSError):
            tmp.unlink()
        self.known[rel] = md5
        return rel

    def listing(self) -> set[str]:
        """Every object under the prefix (and their ETags, kept for stage())."""
        known: dict[str, str] = {}
        try:
            pages = self._s3().get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    known[item["Key"][len(self.prefix) :]] = str(item["ETag"]).strip('"')
        except _client_errors() as exc:
            raise PublishError(f"s3://{self.bucket}/{self.prefix}: {exc}") from None
        self.known = known
        return set(known)

    def folder_times(self, folders: Iterable[str]) -> list[tuple[str, int]]:
        """No folders, no times: presence comes from listing()."""
        return []

    def untouched_since(self, recorded: Sequence[Sequence[str | int]], wall_now: float) -> bool:
        """Never known: a build with work to do lists the bucket."""
        return False

    def exists(self, rel: str) -> bool:
        """Whether the object at rel is there (one HEAD)."""
        try:
            self._s3().head_object(Bucket=self.bucket, Key=self.prefix + rel)
        except _client_errors() as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise PublishError(f"s3://{self.bucket}/{self.prefix}{rel}: {exc}") from None
        return True

    def sweep(self) -> int:
        """Drop spool files a killed build left; how many."""
        found = 0
        with suppress(OSError):
            for tmp in self.spool.iterdir():
                with suppress(OSError):
                    tmp.unlink()
                found += 1
        return found


def _client_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
