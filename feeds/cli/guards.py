"""What a command checks before it touches subscribers, mail or the publish folder."""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeds.cli.context import Context
from feeds.config import Config, StateConfig
from feeds.errors import ConfigError
from feeds.store.schema import DB_NAME, copy_to_sqlite, open_readonly, open_state

NO_SITE = "no feeds.toml here or in a parent folder; run feeds init DIR or pass --config"


def require_site(ctx: Context) -> None:
    """Subscribers and mail belong to a site: never invent an empty state folder for them."""
    if ctx.config.source is None:
        raise ConfigError(NO_SITE)


def refuse_clock_ahead(ctx: Context, what: str) -> None:
    """A clock set ahead of the real one never reaches subscribers or the publish folder."""
    if ctx.ahead:
        raise ConfigError(f"--now {ctx.now:%Y-%m-%d %H:%M} is ahead of the real clock: {what}")


@contextmanager
def scratch_state(config: Config, *, out: bool = False) -> Iterator[Config]:
    """The config on a copy of the state (and with out, a throwaway publish folder).

    A run with the clock ahead may look at the future, but what it records (slugs, published
    articles, a future week's digest) must not stay: the real state would then believe in a
    future that has not come, and hold back the real digests until it does.
    """
    with tempfile.TemporaryDirectory(prefix="feeds-ahead-") as folder:
        state = Path(folder) / "state"
        state.mkdir()
        if config.state.url:
            real = open_state(config)
            try:
                copy_to_sqlite(real, state)
            finally:
                real.close()
            config = dataclasses.replace(config, state=StateConfig())
        elif (config.paths.state / DB_NAME).is_file():
            source = open_readonly(config.paths.state)
            copy = sqlite3.connect(state / DB_NAME)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        changes = {"state": state, **({"out": Path(folder) / "out"} if out else {})}
        yield config.replace_paths(**changes)
