"""One seed file's bytes -> Article: decoding, header, body blocks, title and summary."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, tzinfo

from feeds.errors import SeedError
from feeds.model import Article, Block, BlockKind
from feeds.read.dates import DateError, parse_date_prefix

# Bump when parsing changes, so cached parses in existing state databases are redone.
READER_REVISION = 4
KEYS = ("date", "title", "author", "tags", "summary", "image", "lang", "slug", "draft")
TITLE_MAX = 110
HEADING_MAX = 100
TAG_MAX = 100  # characters of one tag: it names a folder and a feed
SLUG_HINT_MAX = 200  # characters of a slug header looked at (a slug keeps 80)

_COLON_HEADER = re.compile(r"\s*([A-Za-z]+)\s*:\s*(.*)$")
_SPACE_HEADER = re.compile(r"\s*(" + "|".join(KEYS) + r")(?:\s+(.*))?$")
# Characters XML 1.0 forbids (and C1 controls, which readers choke on); tab/newline stay.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_CLAUSE_END = re.compile(r"(?<!\d)[,;:]|[,;:](?!\d)|\s[—–]\s|[.!?…](?=\s|$)")
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")
_END_PUNCTUATION = ".,;:!?…"
_QUOTE_START = ("— ", "– ", "- ", "> ", "—", "–")
_LEGACY = ["cp1251", "koi8_u", "cp1252", "iso8859_5", "mac_cyrillic"]
# Invisible format characters that only ever hide or reorder text in a title, tag or author:
# bidi embeddings, overrides, isolates and marks, zero-width space, word joiner and
# invisible operators, BOM, Mongolian vowel separator, interlinear annotation marks.
# ZWJ/ZWNJ (emoji sequences, Persian) and the soft hyphen stay inside visible text.
_INVISIBLE = re.compile(
    "[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_NOTHING_VISIBLE = re.compile("[\\s\u00ad\u200c\u200d\u034f]*")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_URL_UNSAFE = re.compile(r"[\s\"'<>\\`{}|^]")


@dataclass(frozen=True)
class Limits:
    """What one article may carry (seeds.max_tags, max_title, max_summary); the excess is
    cut and reported, so that no seed can make a build slow or a feed huge."""

    tags: int = 20
    title: int = 200
    summary: int = 1000


DEFAULT_LIMITS = Limits()


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM optional) or detected legacy single-byte text.

    Raises ValueError with the reason for binary or broken UTF-8 input.
    """
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes)")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data):
            raise ValueError(
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
            ) from None
        text = _decode_legacy(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _XML_ILLEGAL.sub("", text)


def _mostly_utf8(data: bytes) -> bool:
    """True when most non-ASCII bytes form valid UTF-8 sequences (so it is UTF-8, broken)."""
    high = len(_HIGH_BYTE.findall(data))
    in_sequences = sum(len(m) for m in _UTF8_MULTIBYTE.findall(data))
    return in_sequences * 2 > high


def _decode_legacy(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY).best()
    encoding = best.encoding if best is not None else "cp1251"
    return data.decode(encoding, errors="replace")


def parse(
    source: str, stem: str, text: str, tz: tzinfo, limits: Limits = DEFAULT_LIMITS
) -> Article:
    """Parse decoded seed text into an Article; SeedError says what is wrong.

    What exceeds the limits is cut, and each cut is one of the Article's warnings: the
    article is published, and the warning is reported like a skipped file.
    """
    lines = text.split("\n")
    header, body_lines = _split_header(source, lines)
    if "date" not in header:
        raise SeedError(source, "no date line")
    try:
        when, lead = parse_date_prefix(header["date"], tz)
    except DateError as exc:
        raise SeedError(source, str(exc)) from None
    if lead:
        body_lines.insert(0, lead)
    blocks = _blocks(body_lines)
    warnings: list[str] = []
    title = visible(header.get("title", ""))
    lead_text = blocks[0].text if blocks else ""
    if not title:
        if not lead_text:
            raise SeedError(source, "no title and no text")
        title = visible(derive_title(lead_text))
        if not title:
            raise SeedError(source, "no title: the lead has no words to make one; add a title line")
    title, summary = title_and_summary(
        title, header.get("summary", ""), _first_paragraph(blocks), limits, warnings
    )
    return Article(
        id=stem,
        source=source,
        date=when,
        title=title,
        summary=summary,
        blocks=tuple(blocks),
        author=capped(visible(header.get("author", "")), limits.title, "author", "", warnings),
        tags=tag_list(header.get("tags", ""), limits.tags, warnings),
        image=image_value(header.get("image", ""), warnings),
        lang=_clean(header.get("lang", ""))[:35],  # BCP 47 tags are short
        slug_hint=_clean(header.get("slug", "")[: SLUG_HINT_MAX * 4])[:SLUG_HINT_MAX],
        draft=_draft(source, header.get("draft")),
        warnings=tuple(warnings),
    )


def _first_paragraph(blocks: list[Block]) -> str:
    """The summary SPEC 2 derives: the first paragraph of text (not a heading or quote)."""
    for block in blocks:
        if block.kind == "p":
            return block.text
    return blocks[0].text if blocks else ""


def capped(text: str, limit: int, what: str, key: str, warnings: list[str]) -> str:
    """text cut on a word boundary to limit characters, with a warning when it was longer."""
    if len(text) <= limit:
        return text
    setting = f" ({key})" if key else ""
    warnings.append(f"{what} is {len(text)} characters, cut to {limit}{setting}")
    return shorten(text, limit)


def title_and_summary(
    title: str, summary: str, derived: str, limits: Limits, warnings: list[str]
) -> tuple[str, str]:
    """The title cut to seeds.max_title, and the summary: the `summary` header cut to
    seeds.max_summary (each cut a warning), else the derived one (the first paragraph), cut
    quietly: a long first paragraph is no mistake. For `.txt` and `.md` seeds alike."""
    title = capped(title, limits.title, "title", "seeds.max_title", warnings)
    given = visible(summary)
    if given:
        return title, capped(given, limits.summary, "summary", "seeds.max_summary", warnings)
    return title, shorten(visible(derived), limits.summary)


def visible(text: str) -> str:
    """Whitespace collapsed and invisible format characters removed; '' when nothing
    visible is left (a title of zero-width spaces is no title)."""
    text = _clean(_INVISIBLE.sub("", text))
    return "" if _NOTHING_VISIBLE.fullmatch(text) else text


def image_value(value: str, warnings: list[str]) -> str:
    """The image header: a file next to the seed or an http(s) URL that needs no escaping."""
    value = value.strip()
    scheme = _URL_SCHEME.match(value)
    if scheme is None or len(scheme.group(0)) == 2:  # no scheme, or a drive letter (C:)
        return value
    if scheme.group(0).lower() not in ("http:", "https:"):
        warnings.append(f"image {value[:80]!r} is not an http(s) URL; no image")
        return ""
    if _URL_UNSAFE.search(value):
        warnings.append(f"image URL {value[:80]!r} holds spaces or quotes; no image")
        return ""
    return value


def _split_header(source: str, lines: list[str]) -> tuple[dict[str, str], list[str]]:
    header: dict[str, str] = {}
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            break
        match = _COLON_HEADER.match(line)
        if match and match.group(1).lower() in KEYS:
            key, value = match.group(1).lower(), match.group(2)
        else:
            match = _SPACE_HEADER.match(line)
            if not match:
                break
            key, value = match.group(1), match.group(2) or ""
        header[key] = value.strip()
        index += 1
        if key == "date" and _date_has_text(value):
            break
    return header, lines[index:]


def _date_has_text(value: str) -> bool:
    try:
        _, rest = parse_date_prefix(value, UTC)
    except DateError:
        return False
    return bool(rest)


def _blocks(lines: list[str]) -> list[Block]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(_clean(line))
        elif paragraphs[-1]:
            paragraphs.append([])
    texts = [p for p in paragraphs if p]
    blocks: list[Block] = []
    for position, lines_of in enumerate(texts):
        text = " ".join(lines_of)
        kind: BlockKind = "p"
        if text.startswith("#"):
            kind, text = "h2", text.lstrip("#").strip()
        elif position > 0 and text.startswith(_QUOTE_START):
            kind = "quote"
            if text.startswith(">"):
                text = " ".join(line.lstrip(">").strip() for line in lines_of)
        elif 0 < position < len(texts) - 1 and _is_heading(lines_of):
            kind = "h2"
        if text:
            blocks.append(Block(kind, text))
    return blocks


def _is_heading(lines_of: list[str]) -> bool:
    text = lines_of[0]
    return len(lines_of) == 1 and len(text) <= HEADING_MAX and text[-1] not in _END_PUNCTUATION


def derive_title(lead: str) -> str:
    """The title SPEC 2 derives from a lead paragraph."""
    # Punctuation before the first word ("... and then") would end the title at once.
    text = " ".join(lead.split()).lstrip(_END_PUNCTUATION + " ")
    match = _CLAUSE_END.search(text)
    title = text[: match.start()] if match else text
    if len(title.split()) < 3:
        sentence = _SENTENCE_END.search(text)
        title = text[: sentence.start() + 1] if sentence else text
        title = title.rstrip(".")
    return shorten(title.strip(), TITLE_MAX)


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary to at most limit characters, marking the cut with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:—–-") + "…"


def _clean(text: str) -> str:
    return " ".join(text.split())


def tag_list(value: str, limit: int, warnings: list[str]) -> tuple[str, ...]:
    """The distinct tags, at most limit of them, each at most TAG_MAX characters."""
    seen: dict[str, str] = {}
    extra = 0
    for raw in value.split(","):
        tag = visible(raw)
        if not tag or tag.casefold() in seen:
            continue
        if len(seen) >= limit:
            extra += 1
            continue
        if len(tag) > TAG_MAX:
            tag = capped(tag, TAG_MAX, "a tag", "", warnings)
        seen.setdefault(tag.casefold(), tag)
    if extra:
        warnings.append(f"{limit + extra} tags, the last {extra} dropped (seeds.max_tags {limit})")
    return tuple(seen.values())


def _draft(source: str, value: str | None) -> bool:
    if value is None:
        return False
    word = value.strip().lower()
    if word in ("", "true", "yes", "1", "on"):
        return True
    if word in ("false", "no", "0", "off"):
        return False
    raise SeedError(source, f"draft must be true or false, got {value!r}")
