"""The one configuration object, loaded from feeds.toml and passed explicitly everywhere."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feeds.config import checks as check
from feeds.config.checks import WEEKDAYS as WEEKDAYS  # re-exported: slots and tests use it
from feeds.errors import ConfigError

DEFAULT_IGNORE = (".*", "*~", "*.swp", "*.tmp", "*.part", "*.crdownload")
CONFIG_ENV = "FEEDS_CONFIG"
CONFIG_NAME = "feeds.toml"
WHOLE = "a whole number"


@dataclass(frozen=True)
class SiteConfig:
    """Who publishes, where, in which language and timezone."""

    title: str = field(default="feeds", metadata=check.text(1, 200, "a title"))
    base_url: str = field(default="http://localhost:8000/", metadata=check.base_url())
    language: str = field(default="en", metadata=check.language())
    timezone: str = field(default="UTC", metadata=check.timezone())
    author: str = field(default="feeds", metadata=check.text(1, 200, "a name"))
    # Empty: "Latest articles" in the site's language (labels.toml).
    description: str = field(default="", metadata=check.text(0, 2000))
    id_year: int = field(default=2000, metadata=check.whole(1000, 2999, "a year"))

    @property
    def tz(self) -> ZoneInfo:
        """The site timezone as a tzinfo."""
        return ZoneInfo(self.timezone)

    @property
    def host(self) -> str:
        """Host name of base_url (used in tag: ids and Message-IDs)."""
        return urlsplit(self.base_url).hostname or "localhost"


@dataclass(frozen=True)
class PathsConfig:
    """Where seeds are read, pages written and state kept (absolute once loaded)."""

    seeds: Path = field(default=Path("seeds"), metadata=check.path())
    out: Path = field(default=Path("public"), metadata=check.path())
    state: Path = field(default=Path(".feeds-state"), metadata=check.path())
    templates: Path | None = field(default=None, metadata=check.path())


@dataclass(frozen=True)
class SeedsConfig:
    """Limits and ignore patterns for the seeds folder."""

    max_bytes: int = field(
        default=2 * 1024 * 1024, metadata=check.whole(1, 2**30, "a number of bytes")
    )
    ignore: tuple[str, ...] = field(default=(), metadata=check.patterns())
    # Tags past this are dropped, with a `SEEDS/NAME: ...` line.
    max_tags: int = field(default=20, metadata=check.whole(0, 1000, WHOLE))
    # Characters; longer titles and summaries are cut on a word boundary.
    max_title: int = field(default=200, metadata=check.whole(10, 10_000, "a number of characters"))
    max_summary: int = field(
        default=1000, metadata=check.whole(10, 100_000, "a number of characters")
    )


@dataclass(frozen=True)
class FeedConfig:
    """What the feeds carry."""

    max_items: int = field(default=50, metadata=check.whole(1, 10_000, WHOLE))
    full_content: bool = field(default=True, metadata=check.flag())
    websub_hub: str = field(default="", metadata=check.url(optional=True))
    page_size: int = field(default=20, metadata=check.whole(1, 10_000, WHOLE))


@dataclass(frozen=True)
class DigestConfig:
    """When the weekly digest goes out and how it is addressed."""

    weekday: str = field(default="fri", metadata=check.choice(WEEKDAYS))
    time: str = field(default="17:00", metadata=check.clock_time())
    from_: str = field(default="feeds@localhost", metadata=check.address())
    subject: str = field(default="{title}: {range}", metadata=check.text(1, 200, "a subject"))
    unsubscribe_url: str = field(default="", metadata=check.url(optional=True, token=True))

    @property
    def hour_minute(self) -> tuple[int, int]:
        """digest.time as (hour, minute)."""
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class SmtpConfig:
    """How mail leaves: server, security and where the secrets are."""

    host: str = field(default="localhost", metadata=check.host())
    port: int = field(default=587, metadata=check.whole(1, 65535, "a port number"))
    security: str = field(default="starttls", metadata=check.choice(("starttls", "tls", "none")))
    user: str = field(default="", metadata=check.text(0, 256, "a user name"))
    password_env: str = field(default="FEEDS_SMTP_PASSWORD", metadata=check.env_name())
    timeout: float = field(default=30.0, metadata=check.seconds(1, 600))
    dkim_selector: str = field(default="", metadata=check.dns_labels())
    dkim_key_env: str = field(default="", metadata=check.env_name(empty=True))


@dataclass(frozen=True)
class WatchConfig:
    """The watch daemon's scan interval in seconds."""

    interval: float = field(default=1.0, metadata=check.seconds(0.05, 3600))


@dataclass(frozen=True)
class StateConfig:
    """Where state lives: "" keeps it in SQLite in paths.state; a postgresql:// URL puts it
    in PostgreSQL, shared by several hosts (paths.state then holds only per-host caches)."""

    url: str = field(default="", metadata=check.database_url())
    password_env: str = field(default="FEEDS_PG_PASSWORD", metadata=check.env_name())


@dataclass(frozen=True)
class PublishConfig:
    """S3-compatible storage, used when paths.out is s3://bucket/prefix/: where the service
    is (empty: AWS), its region, and the Cache-Control of each kind of object. Credentials
    come from boto3's standard chain (AWS_* environment, ~/.aws, instance roles)."""

    endpoint_url: str = field(default="", metadata=check.url(optional=True))
    region: str = field(default="", metadata=check.text(0, 64, "a region name"))
    cache_feeds: str = field(default="public, max-age=300", metadata=check.text(1, 200))
    cache_pages: str = field(default="public, max-age=3600", metadata=check.text(1, 200))
    cache_media: str = field(default="public, max-age=604800", metadata=check.text(1, 200))


@dataclass(frozen=True)
class LockConfig:
    """How long a run may hold the lock before `feeds run` reports it as stuck."""

    max_age: float = field(default=1800.0, metadata=check.seconds(1, 7 * 86400))


@dataclass(frozen=True)
class Preview:
    """A live-preview build (`feeds serve --watch`): never set by feeds.toml, never in a
    publish folder. With drafts, drafts and articles dated after `now` are built too, and
    marked as such in pages and lists."""

    drafts: bool
    now: datetime


@dataclass(frozen=True)
class WebConfig:
    """The readers' endpoint (`feeds web`): sign-up, confirm, unsubscribe."""

    # "" = no endpoint; else where the reverse proxy passes subscribe/, confirm/, unsubscribe/.
    base_url: str = field(default="", metadata=check.url(optional=True))
    signups_per_hour: int = field(default=10, metadata=check.whole(1, 100_000, WHOLE))
    # The key of the hash that stands for a client's IP address in the proof of consent.
    secret_env: str = field(default="FEEDS_WEB_SECRET", metadata=check.env_name())
    footer_form: bool = field(default=False, metadata=check.flag())

    @property
    def subscribe_url(self) -> str:
        """Where the sign-up form posts ("" without an endpoint)."""
        return self.base_url + "subscribe" if self.base_url else ""


@dataclass(frozen=True)
class BouncesConfig:
    """The IMAP mailbox that receives bounces and mailed unsubscribes (none by default)."""

    imap_host: str = field(default="", metadata=check.pattern(check.HOST, "a host name", True))
    imap_port: int = field(default=993, metadata=check.whole(1, 65535, "a port number"))
    imap_security: str = field(default="tls", metadata=check.choice(("tls", "starttls", "none")))
    imap_user: str = field(default="", metadata=check.text(0, 256, "a user name"))
    password_env: str = field(default="FEEDS_IMAP_PASSWORD", metadata=check.env_name())
    folder: str = field(default="INBOX", metadata=check.text(1, 200, "a folder name"))

    @property
    def configured(self) -> bool:
        """Whether `feeds run`/`watch` read the mailbox."""
        return bool(self.imap_host)


@dataclass(frozen=True)
class Config:
    """Everything a command needs to know, resolved to absolute paths."""

    site: SiteConfig = field(default_factory=SiteConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    seeds: SeedsConfig = field(default_factory=SeedsConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    lock: LockConfig = field(default_factory=LockConfig)
    state: StateConfig = field(default_factory=StateConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    out_url: str = ""  # paths.out as written when it is s3://bucket/prefix/ (else "")
    web: WebConfig = field(default_factory=WebConfig)
    bounces: BouncesConfig = field(default_factory=BouncesConfig)
    source: Path | None = None
    seeds_label: str = "seeds"  # paths.seeds as written, for `SEEDS/NAME: reason` lines
    # Out of repr: repr(config) is part of a build's signature, and a normal build's
    # signature must not change because this field exists.
    preview: Preview | None = field(default=None, repr=False)

    @property
    def ignore_patterns(self) -> tuple[str, ...]:
        """Built-in ignore patterns plus the configured ones."""
        return DEFAULT_IGNORE + self.seeds.ignore

    def replace_paths(self, **changes: Path) -> Config:
        """A copy with some paths replaced (command-line overrides), checked like the file's."""
        paths = dataclasses.replace(self.paths, **changes)
        _check_paths(paths, self.source)
        out_url = "" if "out" in changes else self.out_url  # --out: a local folder
        return dataclasses.replace(self, paths=paths, out_url=out_url)

    @property
    def out_name(self) -> str:
        """Where the site is published: the s3:// URL, or the resolved local folder."""
        return self.out_url or str(self.paths.out.resolve())


_SECTIONS: dict[str, type[Any]] = {
    "site": SiteConfig,
    "paths": PathsConfig,
    "seeds": SeedsConfig,
    "feed": FeedConfig,
    "digest": DigestConfig,
    "smtp": SmtpConfig,
    "watch": WatchConfig,
    "lock": LockConfig,
    "state": StateConfig,
    "publish": PublishConfig,
    "web": WebConfig,
    "bounces": BouncesConfig,
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_HEADER_SAFE = {("site", "title"), ("site", "author"), ("digest", "from"), ("digest", "subject")}
_MULTILINE = {("site", "description")}  # the only value that may hold a line break


def find_config_file(explicit: str | None, start: Path | None = None) -> Path | None:
    """--config, else FEEDS_CONFIG, else feeds.toml in the current folder or the nearest parent.

    The parents are searched as git and ruff do, so a command run in a site's subfolder
    finds the site, and one run outside any site finds none instead of inventing one.
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    """Read and validate feeds.toml; relative paths are taken relative to the file."""
    if path is None:
        return _build({}, Path.cwd(), None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _build(raw, path.resolve().parent, path)


def _build(raw: dict[str, Any], base: Path, source: Path | None) -> Config:
    where = str(source) if source else "config"
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}]")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _section(where, name, _SECTIONS[name], value)
    site: SiteConfig = sections.get("site", SiteConfig())
    if not site.base_url.endswith("/"):
        site = dataclasses.replace(site, base_url=site.base_url + "/")
    paths: PathsConfig = sections.get("paths", PathsConfig())
    out_url = _bucket_url(where, raw.get("paths", {}).get("out"))
    state_dir = _absolute(base, paths.state)
    paths = PathsConfig(
        seeds=_absolute(base, paths.seeds),
        # publishing to a bucket: the local folder is a per-host scratch place, never served
        out=state_dir / "s3-out" if out_url else _absolute(base, paths.out),
        state=_absolute(base, paths.state),
        templates=_absolute(base, paths.templates) if paths.templates else None,
    )
    web: WebConfig = sections.get("web", WebConfig())
    if web.base_url and not web.base_url.endswith("/"):
        web = dataclasses.replace(web, base_url=web.base_url + "/")
    digest: DigestConfig = sections.get("digest", DigestConfig())
    if web.base_url and not digest.unsubscribe_url:
        # The endpoint answers RFC 8058 one-click posts: every digest links to it.
        digest = dataclasses.replace(digest, unsubscribe_url=web.base_url + "unsubscribe/{token}")
    config = Config(
        site=site,
        paths=paths,
        seeds=sections.get("seeds", SeedsConfig()),
        feed=sections.get("feed", FeedConfig()),
        digest=digest,
        smtp=sections.get("smtp", SmtpConfig()),
        watch=sections.get("watch", WatchConfig()),
        lock=sections.get("lock", LockConfig()),
        state=sections.get("state", StateConfig()),
        publish=sections.get("publish", PublishConfig()),
        out_url=out_url,
        web=web,
        bounces=_bounces(where, sections.get("bounces", BouncesConfig())),
        source=source,
        seeds_label=str(raw.get("paths", {}).get("seeds", "seeds")).rstrip("/") or "seeds",
    )
    _check_paths(config.paths, source)
    return config


_BUCKET_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/((?:[A-Za-z0-9!_.*'()-]+/)*)")


def _bucket_url(where: str, value: object) -> str:
    """paths.out as an s3://bucket/prefix/ URL ("" for a local folder)."""
    if not isinstance(value, str) or not value.startswith("s3://"):
        return ""
    if not _BUCKET_URL.fullmatch(value):
        raise ConfigError(
            f"{where}: paths.out = {value!r}: expected s3://bucket/ or s3://bucket/prefix/"
            " (a bucket name, then folder names each ending in /)"
        )
    return value
def _bounces(where: str, bounces: BouncesConfig) -> BouncesConfig:
    if bounces.imap_host and not bounces.imap_user:
        raise ConfigError(f"{where}: bounces.imap_user must be set when bounces.imap_host is")
    return bounces


def _absolute(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()


def _section(where: str, name: str, cls: type[Any], values: dict[str, Any]) -> Any:
    fields = {f.name.rstrip("_"): f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        spec = fields.get(key)
        if spec is None:
            raise ConfigError(f"{where}: unknown key {name}.{key}")
        dotted = f"{name}.{key}"
        if isinstance(value, str):
            _check_text(where, (name, key), value)
        kwargs[spec.name] = _checked(where, dotted, spec, value)
    return cls(**kwargs)


def _check_text(where: str, key: tuple[str, str], value: str) -> None:
    """What no string value may hold, whatever its key.

    An encoded word (=?utf-8?...?=) in a title or subject is plain text: the mail headers
    encode it again (feeds.mail.headers). digest.from refuses one (check.address).
    """
    dotted = ".".join(key)
    breaks = r"[\r\n\x00\x85\u2028\u2029]" if key in _HEADER_SAFE else r"[\r\n\x00]"
    if (key in _HEADER_SAFE or key not in _MULTILINE) and re.search(breaks, value):
        # A line break in a mail header or an SMTP command would start a new one.
        raise ConfigError(f"{where}: {dotted} must not contain line breaks")
    if _CONTROL.search(value):
        # These cannot be written into XML: the feeds would fail, so say so here.
        raise ConfigError(f"{where}: {dotted} must not contain control characters")


def _checked(where: str, dotted: str, spec: dataclasses.Field[Any], value: Any) -> Any:
    """The value as the program uses it, or a ConfigError naming the key and what it expects."""
    rule: check.Rule = spec.metadata["rule"]
    try:
        return rule.check(value)
    except ValueError:
        got = _short(value)
        raise ConfigError(f"{where}: {dotted} must be {rule.expected}, got {got}") from None


def _short(value: Any) -> str:
    """A value for an error line: one line, not too long (repr escapes line breaks)."""
    shown = repr(value) if not isinstance(value, bool) else str(value).lower()
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _check_paths(paths: PathsConfig, source: Path | None) -> None:
    """The folders must not overlap in ways that publish or delete what they should not.

    Compared as resolved real paths (symlinks followed), so `out = "."` or a link to the
    seeds folder is seen for what it is.
    """
    out = paths.out.resolve()
    state = paths.state.resolve()
    seeds = paths.seeds.resolve()
    if state == out or out in state.parents:
        raise ConfigError(f"paths.state ({state}) must not be inside the publish folder ({out})")
    if out == seeds or seeds in out.parents:
        raise ConfigError(f"paths.out ({out}) must not be inside the seeds folder ({seeds})")
    if out in seeds.parents:
        raise ConfigError(f"paths.out ({out}) must not contain the seeds folder ({seeds})")
    if source is not None and out in source.resolve().parents:
        raise ConfigError(
            f"paths.out ({out}) must not contain the config file ({source.resolve()})"
        )
