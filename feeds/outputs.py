"""A planned output file: its path, the key of its inputs, and how to render it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    """One file of the publish folder, rendered only when its key changed."""

    path: str
    key: str
    render: Callable[[], bytes]


def make_key(*parts: str) -> str:
    """A short stable hash of a render's inputs."""
    joined = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]
