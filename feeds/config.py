"""The one configuration object, loaded from feeds.toml and passed explicitly everywhere."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_IGNORE = (".*", "*~", "*.swp", "*.tmp", "*.part", "*.crdownload")
CONFIG_ENV = "FEEDS_CONFIG"


@dataclass(frozen=True)
class SiteConfig:
    """Who publishes, where, in which language and timezone."""

    title: str = "feeds"
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    timezone: str = "UTC"
    author: str = "feeds"
    description: str = "Latest articles"
    id_year: int = 2000

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

    seeds: Path = Path("seeds")
    out: Path = Path("public")
    state: Path = Path(".feeds-state")
    templates: Path | None = None


@dataclass(frozen=True)
class SeedsConfig:
    """Limits and ignore patterns for the seeds folder."""

    max_bytes: int = 2 * 1024 * 1024
    ignore: tuple[str, ...] = ()
    max_tags: int = 20  # tags past this are dropped, with a `SEEDS/NAME: ...` line
    max_title: int = 200  # characters; longer titles are cut on a word boundary
    max_summary: int = 1000  # characters; longer summaries are cut on a word boundary


@dataclass(frozen=True)
class FeedConfig:
    """What the feeds carry."""

    max_items: int = 50
    full_content: bool = True
    websub_hub: str = ""
    page_size: int = 20


@dataclass(frozen=True)
class DigestConfig:
    """When the weekly digest goes out and how it is addressed."""

    weekday: str = "fri"
    time: str = "17:00"
    from_: str = "feeds@localhost"
    subject: str = "{title}: {range}"
    unsubscribe_url: str = ""

    @property
    def hour_minute(self) -> tuple[int, int]:
        """digest.time as (hour, minute)."""
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class SmtpConfig:
    """How mail leaves: server, security and where the secrets are."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    user: str = ""
    password_env: str = "FEEDS_SMTP_PASSWORD"
    timeout: float = 30.0
    dkim_selector: str = ""
    dkim_key_env: str = ""


@dataclass(frozen=True)
class WatchConfig:
    """The watch daemon's scan interval in seconds."""

    interval: float = 1.0


@dataclass(frozen=True)
class LockConfig:
    """How long a run may hold the lock before `feeds run` reports it as stuck."""

    max_age: float = 1800.0  # seconds


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
    source: Path | None = None
    seeds_label: str = "seeds"  # paths.seeds as written, for `SEEDS/NAME: reason` lines

    @property
    def ignore_patterns(self) -> tuple[str, ...]:
        """Built-in ignore patterns plus the configured ones."""
        return DEFAULT_IGNORE + self.seeds.ignore

    def replace_paths(self, **changes: Path) -> Config:
        """A copy with some paths replaced (command-line overrides)."""
        paths = dataclasses.replace(self.paths, **changes)
        _check_paths(paths)
        return dataclasses.replace(self, paths=paths)


_SECTIONS: dict[str, type[Any]] = {
    "site": SiteConfig,
    "paths": PathsConfig,
    "seeds": SeedsConfig,
    "feed": FeedConfig,
    "digest": DigestConfig,
    "smtp": SmtpConfig,
    "watch": WatchConfig,
    "lock": LockConfig,
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_NOT_IN_URL = re.compile(r"[\s\"<>\\^`{|}]")  # RFC 3986 never allows these in a URL
_HEADER_SAFE = {("site", "title"), ("site", "author"), ("digest", "from"), ("digest", "subject")}


def find_config_file(explicit: str | None) -> Path | None:
    """--config, else FEEDS_CONFIG, else ./feeds.toml when present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path("feeds.toml")
    return local if local.is_file() else None


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
    paths = PathsConfig(
        seeds=_absolute(base, paths.seeds),
        out=_absolute(base, paths.out),
        state=_absolute(base, paths.state),
        templates=_absolute(base, paths.templates) if paths.templates else None,
    )
    config = Config(
        site=site,
        paths=paths,
        seeds=sections.get("seeds", SeedsConfig()),
        feed=sections.get("feed", FeedConfig()),
        digest=sections.get("digest", DigestConfig()),
        smtp=sections.get("smtp", SmtpConfig()),
        watch=sections.get("watch", WatchConfig()),
        lock=sections.get("lock", LockConfig()),
        source=source,
        seeds_label=str(raw.get("paths", {}).get("seeds", "seeds")).rstrip("/") or "seeds",
    )
    _validate(config, where)
    return config


def _absolute(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()


def _section(where: str, name: str, cls: type[Any], values: dict[str, Any]) -> Any:
    fields = {f.name.rstrip("_"): f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        spec = fields.get(key)
        if spec is None:
            raise ConfigError(f"{where}: unknown key {name}.{key}")
        kwargs[spec.name] = _coerce(where, f"{name}.{key}", spec, value)
        if (name, key) in _HEADER_SAFE and re.search("[\r\n\x00\x85\u2028\u2029]", str(value)):
            raise ConfigError(f"{where}: {name}.{key} must not contain line breaks")
        if isinstance(value, str) and _CONTROL.search(value):
            # These cannot be written into XML: the feeds would fail, so say so here.
            raise ConfigError(f"{where}: {name}.{key} must not contain control characters")
    return cls(**kwargs)


def _coerce(where: str, dotted: str, spec: dataclasses.Field[Any], value: Any) -> Any:
    kind = str(spec.type)
    bad = ConfigError(f"{where}: {dotted} has a bad value {value!r}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if "Path" in kind:
        if not isinstance(value, str) or not value:
            raise bad
        return Path(value)
    if "tuple" in kind:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        return tuple(value)
    if not isinstance(value, str):
        raise bad
    return value


def _validate(config: Config, where: str) -> None:
    site = config.site
    url = urlsplit(site.base_url)
    if url.scheme not in ("http", "https") or not url.hostname or _NOT_IN_URL.search(site.base_url):
        raise ConfigError(
            f"{where}: site.base_url must be an absolute http(s) URL, got {site.base_url!r}"
        )
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: site.timezone {site.timezone!r} is not a known timezone"
        ) from None
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(site.language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ConfigError(
            f"{where}: site.language {site.language!r} is not a known language"
        ) from None
    if not 1000 <= site.id_year <= 2999:
        raise ConfigError(f"{where}: site.id_year must be a year, got {site.id_year}")
    if config.seeds.max_bytes <= 0:
        raise ConfigError(f"{where}: seeds.max_bytes must be positive")
    if config.feed.max_items <= 0 or config.feed.page_size <= 0:
        raise ConfigError(f"{where}: feed.max_items and feed.page_size must be positive")
    if config.feed.websub_hub and urlsplit(config.feed.websub_hub).scheme not in ("http", "https"):
        raise ConfigError(f"{where}: feed.websub_hub must be an http(s) URL")
    digest = config.digest
    if digest.weekday not in WEEKDAYS:
        raise ConfigError(f"{where}: digest.weekday must be one of {', '.join(WEEKDAYS)}")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", digest.time):
        raise ConfigError(f"{where}: digest.time must be HH:MM, got {digest.time!r}")
    _check_from(digest.from_, where)
    if digest.unsubscribe_url and "{token}" not in digest.unsubscribe_url:
        raise ConfigError(f"{where}: digest.unsubscribe_url must contain {{token}}")
    if config.smtp.security not in ("starttls", "tls", "none"):
        raise ConfigError(f"{where}: smtp.security must be starttls, tls or none")
    if not 0 < config.smtp.port < 65536:
        raise ConfigError(f"{where}: smtp.port is out of range")
    if config.watch.interval <= 0:
        raise ConfigError(f"{where}: watch.interval must be positive")
    _check_paths(config.paths)


def _check_from(value: str, where: str) -> None:
    """digest.from: one plain address, bare or as `Name <address>` (the name is any text)."""
    from feeds.headers import HeaderError, check_address, split_mailbox

    address = split_mailbox(value)[1]
    try:
        check_address(address)
    except HeaderError:
        raise ConfigError(
            f"{where}: digest.from must be an e-mail address or Name <address>, got {value!r}"
        ) from None


def _check_paths(paths: PathsConfig) -> None:
    out = paths.out.resolve()
    state = paths.state.resolve()
    if state == out or out in state.parents:
        raise ConfigError(f"paths.state ({state}) must not be inside the publish folder ({out})")
    seeds = paths.seeds.resolve()
    if out == seeds or seeds in out.parents:
        raise ConfigError(f"paths.out ({out}) must not be inside the seeds folder ({seeds})")
