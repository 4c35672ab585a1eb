"""Mail header lines we write ourselves, and the check of the bytes that go on the wire.

Why not let the email package fold our values: it parses what it is given, so an RFC 2047
encoded word in a subscriber's name or the site title (``=?utf-8?q?=0D=0ABcc:...?=``) was
decoded, and on some Python versions re-folded with the CR/LF it held: header injection.
Here every value is first normalised (:func:`header_text`), then written either as plain
ASCII words or entirely as our own encoded words, so any ``=?`` in the input is itself
encoded and a reader decodes exactly the text we were given. Lines stay within 78 columns.

:func:`check_wire` is the final gate: it parses the exact bytes about to be sent and
refuses them unless every line is within 998 octets, the header names are exactly the
expected ones, and each value decodes to what we meant to write.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import Group
from email.parser import BytesParser
from functools import lru_cache
from typing import Literal

from feeds.errors import FeedsError

MAX_TEXT = 2000  # characters of one header text; a longer one is cut, with "…"
LINE = 78  # columns of a header line we write (RFC 5322's "SHOULD")
MAX_LINE = 998  # octets of any line on the wire (RFC 5322's "MUST")
_WORD = 64  # columns of one unsplittable token: fits after "Subject: " in 78
_EW_BYTES = 39  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 base64 + "?=" = 64

# Controls (C0, DEL, C1) and the Unicode line and paragraph separators: never in a header.
_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_ATOMS = re.compile(rf"{_ATEXT}+( {_ATEXT}+)*")
_PRINTABLE = re.compile(r"[ -~]*")
_ADDRESS = re.compile(rf"{_ATEXT}+(\.{_ATEXT}+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")  # fmt: skip
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_MAILBOX = re.compile(r"\s*(.*?)\s*<([^<>]*)>\s*", re.DOTALL)
_UNFOLD = re.compile(r"\r\n(?=[ \t])")
_EW = r"=\?utf-8\?b\?[A-Za-z0-9+/]*={0,2}\?="
_ENCODED_PHRASE = re.compile(rf"{_EW}( {_EW})*")


class HeaderError(FeedsError):
    """A header value cannot be written safely, or the wire bytes failed the final check;
    `header` names the header when one is to blame."""

    def __init__(self, message: str, header: str = "") -> None:
        super().__init__(message)
        self.header = header


def header_text(value: str) -> str:
    """The documented normalisation of any text bound for a header.

    Control characters (CR, LF, NUL, tab, ...) and U+2028/U+2029 become a space, runs of
    white space one space, the ends are stripped, lone surrogates become U+FFFD, and text
    past MAX_TEXT characters is cut with "…". Idempotent.
    """
    # Only ASCII white space folds: U+00A0 and U+202F belong in dates and names (Babel puts
    # them there) and are encoded like any other character.
    text = _ASCII_SPACE.sub(" ", _BREAKING.sub(" ", _SURROGATE.sub("\ufffd", value))).strip(" ")
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1].rstrip() + "…"
    return text


def split_mailbox(value: str) -> tuple[str, str]:
    """``Name <address>`` (the name optionally in double quotes) or a bare address, as
    (name, address). Encoded words in the name are not decoded: they are text."""
    match = _MAILBOX.fullmatch(value)
    if match is None:
        return "", value.strip()
    name = match.group(1)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = re.sub(r"\\(.)", r"\1", name[1:-1], flags=re.DOTALL)
    return name, match.group(2).strip()


def check_address(address: str, header: str = "") -> str:
    """address itself when it is a plain ASCII addr-spec a header can carry as is."""
    if len(address) > 254 or "=?" in address or not _ADDRESS.fullmatch(address):
        where = f"{header}: " if header else ""
        raise HeaderError(f"{where}not a plain e-mail address: {address[:100]!r}", header)
    return address


Kind = Literal["raw", "text", "phrase", "mailbox"]


@dataclass(frozen=True)
class Field:
    """One header as we mean it: raw (ASCII, written as is), text (unstructured),
    phrase (a display name then raw `value`), or mailbox (display name `text` and address)."""

    name: str
    kind: Kind
    text: str = ""
    value: str = ""

    @property
    def decoded(self) -> str:
        """What a reader's parser must give back for a text or phrase header."""
        if self.kind == "phrase":
            return f"{self.text} {self.value}" if self.text else self.value
        return self.text if self.kind == "text" else self.value

    def line(self) -> bytes:
        """The header folded to lines of at most 78 columns, ending in CRLF."""
        if self.kind == "raw":
            tokens = _raw_tokens(self.name, self.value)
        elif self.kind == "text":
            tokens = _text_tokens(self.text)
        elif self.kind == "phrase":
            tokens = _phrase_tokens(self.text, quote=False) + _raw_tokens(self.name, self.value)
        else:
            tokens = _mailbox_tokens(self.text, check_address(self.value, self.name))
        return fold(self.name, tokens).encode("ascii")


def raw(name: str, value: str) -> Field:
    """A header written exactly as given (ASCII, no line break)."""
    return Field(name, "raw", value=value)


def text(name: str, value: str) -> Field:
    """An unstructured header (Subject) from any text."""
    return Field(name, "text", text=header_text(value))


def phrase(name: str, words: str, value: str) -> Field:
    """A display phrase from any text followed by a raw part (List-Id)."""
    return Field(name, "phrase", text=header_text(words), value=value)


def mailbox(name: str, display: str, address: str) -> Field:
    """An address header with one mailbox (From, To); display from any text."""
    return Field(name, "mailbox", text=header_text(display), value=address)


def fold(name: str, tokens: Sequence[str]) -> str:
    """name: tokens joined by spaces, folded before a token that would pass 78 columns."""
    line, lines = f"{name}:", []
    for token in tokens:
        if len(line) + 1 + len(token) > LINE and line != f"{name}:" and line:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _raw_tokens(name: str, value: str) -> list[str]:
    if not _PRINTABLE.fullmatch(value):
        raise HeaderError(f"{name}: only printable ASCII can go into it: {value[:100]!r}", name)
    return [token for token in value.split(" ") if token]


def _plain(words: str) -> bool:
    """Text a reader takes back literally: ASCII, no encoded-word opener, short words."""
    return (
        _PRINTABLE.fullmatch(words) is not None
        and "=?" not in words
        and all(len(word) <= _WORD for word in words.split(" "))
    )


def _text_tokens(words: str) -> list[str]:
    if not words:
        return []
    return words.split(" ") if _plain(words) else encoded_words(words)


def _phrase_tokens(words: str, *, quote: bool) -> list[str]:
    if not words:
        return []
    if _plain(words) and _ATOMS.fullmatch(words):
        return words.split(" ")
    quoted = '"' + words.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if quote and _plain(words) and len(quoted) <= _WORD:
        return [quoted]
    return encoded_words(words)


def _mailbox_tokens(display: str, address: str) -> list[str]:
    if not display:
        return [address]
    return [*_phrase_tokens(display, quote=True), f"<{address}>"]


def encoded_words(words: str) -> list[str]:
    """words as RFC 2047 "B" encoded words of whole characters, each at most 64 columns.

    Readers drop the white space between two encoded words, so the text, spaces included,
    comes back exactly. "B" (base64) has none of the characters a phrase must avoid.
    """
    result: list[str] = []
    chunk = b""
    for char in words:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _EW_BYTES:
            result.append(_ew(chunk))
            chunk = b""
        chunk += data
    if chunk:
        result.append(_ew(chunk))
    return result


def _ew(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


_PARSER = BytesParser(policy=policy.default)


def check_wire(data: bytes, fields: Iterable[Field], *, signed: bool = False) -> None:
    """Refuse (HeaderError) wire bytes that are not exactly the message we meant.

    Every line within 998 octets, CRLF only, no NUL, an ASCII header block whose header
    names are exactly those of fields (each once; plus one DKIM-Signature when signed),
    each decoding to its intended value, and one mailbox in From and in To.
    """
    head, blank, _ = data.partition(b"\r\n\r\n")
    if not blank:
        raise HeaderError("the message has no end of headers")
    if b"\0" in data:
        raise HeaderError("the message holds a NUL byte")
    if not data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n"):
        raise HeaderError("the message holds a line break that is not CRLF")
    longest = max(map(len, data.split(b"\r\n")))
    if longest > MAX_LINE:
        raise HeaderError(f"a line of {longest} octets (at most {MAX_LINE} may go on the wire)")
    if not head.isascii():
        raise HeaderError("a header holds a byte that is not ASCII")
    wanted = list(fields)
    parsed = _PARSER.parsebytes(head + b"\r\n\r\n", headersonly=True)
    names = Counter(name for name, _ in parsed.raw_items())
    expected = Counter(field.name for field in wanted)
    if signed:
        expected["DKIM-Signature"] += 1
    if names != expected:
        extra = sorted((names - expected) | (expected - names))
        raise HeaderError(f"the headers are not the expected ones ({', '.join(extra)})")
    raws = {name: _UNFOLD.sub("", value).strip(" \t") for name, value in parsed.raw_items()}
    for field in wanted:
        if not _reads_back(field, raws[field.name]):
            raise HeaderError(f"the {field.name} header does not read back as written", field.name)


@lru_cache(maxsize=1024)
def _reads_back(field: Field, raw_value: str) -> bool:
    """Whether a reader's parser gives field's value back from the unfolded raw_value.
    Cached: the site's own headers are the same bytes in every message of a run."""
    if field.kind == "raw":
        return raw_value == field.value
    header = policy.default.header_factory(field.name, raw_value)
    if field.kind != "mailbox":
        return str(header) == field.decoded
    groups: tuple[Group, ...] = getattr(header, "groups", ())
    mailboxes = [a for group in groups for a in group.addresses]
    if not (
        len(groups) == 1
        and groups[0].display_name is None
        and len(mailboxes) == 1
        and mailboxes[0].addr_spec == field.value
    ):
        return False
    return display_name(raw_value, mailboxes[0].display_name) == field.text


def display_name(raw_value: str, parsed_name: str) -> str:
    """The display name a reader shows for an unfolded `phrase <address>` value.

    A phrase of encoded words is decoded by RFC 2047 (email.header.decode_header): the
    white space between two encoded words is dropped (section 6.2). Python's address
    parser keeps it as a space (3.11 to 3.13), so its display_name is used only for a
    phrase without encoded words.
    """
    phrase = raw_value.rpartition("<")[0].strip()
    if not _ENCODED_PHRASE.fullmatch(phrase):
        return parsed_name
    return str(make_header(decode_header(phrase)))
