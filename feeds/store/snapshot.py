"""The last build's view of the seeds, kept next to the state database.

A build with something to do needs every seed's stat and Meta, every permanent slug and
the publication order. Loading those from SQLite (a JSON document per article) costs
about a second at 100 000 articles; this marshal blob loads in 0.3 s. The snapshot is
only a cache: it counts when its token matches the one the database recorded in the
same build's last transaction, and a build without it reads the database instead.
"""

from __future__ import annotations

import marshal
import os
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

from feeds.model import Meta, SeedRow

FORMAT = 3  # bump when the layout of what is saved changes


@dataclass(frozen=True)
class Snapshot:
    """What the last complete build knew."""

    render: str  # the build's render fingerprint (config, templates, version, publish folder)
    rows: dict[str, SeedRow]  # every seed, by path
    slugs: dict[str, str]  # every permanent slug, by article id
    sequence: dict[str, int]  # article id -> place in the order of first publication
    order: list[str]  # ids of the published articles, newest first
    images: dict[str, str]  # article id -> repr of its image, for articles that have one


def new_token(previous: str | None) -> str:
    """A fresh token for the snapshot about to be written, naming the other of two slots.

    Two files take turns: the one written is never the one the database points to,
    and it is overwritten in place (replacing a 40 MB file frees its blocks, which
    costs this disk 0.15 s; overwriting costs 0.006 s).
    """
    slot = "1" if previous is not None and previous.startswith("0:") else "0"
    return f"{slot}:{secrets.token_hex(16)}"


def _path(state_dir: Path, token: str) -> Path:
    return state_dir / f"snapshot-{token[:1]}.bin"


def load(state_dir: Path, token: str | None) -> Snapshot | None:
    """The snapshot written with token, or None (missing, torn, old format, other token)."""
    if token is None:
        return None
    try:
        data = _path(state_dir, token).read_bytes()
    except OSError:
        return None
    payload = memoryview(data)[4:]
    if len(data) < 4 or zlib.crc32(payload) != int.from_bytes(data[:4], "big"):
        return None
    try:
        fmt, saved_token, render, raw_rows, slugs, sequence, order, images = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if fmt != FORMAT or saved_token != token:
        return None
    width, meta_width = len(SeedRow._fields), len(Meta._fields)
    if any(
        len(raw) != width or (raw[5] is not None and len(raw[5]) != meta_width)
        for raw in raw_rows[:1]
    ):
        return None  # the layout changed without FORMAT following: never misread it
    new = tuple.__new__  # what Meta._make calls, without a Python frame per row
    try:
        rows = {
            raw[0]: new(SeedRow, (*raw[:5], None if raw[5] is None else new(Meta, raw[5]), raw[6]))
            for raw in raw_rows
        }
    except (TypeError, ValueError, IndexError):
        return None
    return Snapshot(render, rows, slugs, sequence, order, images)


def save(state_dir: Path, token: str, snapshot: Snapshot) -> None:
    """Write the snapshot into the slot token names (not synced: a torn one fails its
    checksum and is ignored)."""
    raw_rows = [
        (*row[:5], None if row.meta is None else tuple(row.meta), row.error)
        for row in snapshot.rows.values()
    ]
    payload = marshal.dumps(
        (
            FORMAT,
            token,
            snapshot.render,
            raw_rows,
            snapshot.slugs,
            snapshot.sequence,
            snapshot.order,
            snapshot.images,
        ),
        2,  # version 2 keeps no back-references: twice as fast to write
    )
    fd = os.open(_path(state_dir, token), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for part in (zlib.crc32(payload).to_bytes(4, "big"), payload):  # no 45 MB copy
            view = memoryview(part)
            while view:
                view = view[os.write(fd, view) :]
        os.ftruncate(fd, 4 + len(payload))
    finally:
        os.close(fd)
