"""One seed file's bytes -> Article: decoding, header, body blocks, title and summary."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, tzinfo

from feeds.dates import DateError, parse_date_prefix
from feeds.errors import SeedError
from feeds.model import Article, Block, BlockKind

# Bump when parsing changes, so cached parses in existing state databases are redone.
READER_REVISION = 3
KEYS = ("date", "title", "author", "tags", "summary", "image", "lang", "slug", "draft")
TITLE_MAX = 110
HEADING_MAX = 100

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


def parse(source: str, stem: str, text: str, tz: tzinfo) -> Article:
    """Parse decoded seed text into an Article; SeedError says what is wrong."""
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
    title = _clean(header.get("title", ""))
    lead_text = blocks[0].text if blocks else ""
    if not title:
        if not lead_text:
            raise SeedError(source, "no title and no text")
        title = derive_title(lead_text)
        if not title:
            raise SeedError(source, "no title: the lead has no words to make one; add a title line")
    return Article(
        id=stem,
        source=source,
        date=when,
        title=title,
        summary=_clean(header.get("summary", "")) or lead_text,
        blocks=tuple(blocks),
        author=_clean(header.get("author", "")),
        tags=_tags(header.get("tags", "")),
        image=_clean(header.get("image", "")),
        lang=_clean(header.get("lang", "")),
        slug_hint=_clean(header.get("slug", "")),
        draft=_draft(source, header.get("draft")),
    )


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


def _tags(value: str) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in value.split(","):
        tag = _clean(tag)
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
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
