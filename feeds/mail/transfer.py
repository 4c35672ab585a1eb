"""Which Content-Transfer-Encoding a digest part is sent in, and its size on the wire.

Measured on the 400-article Ukrainian digest of the tests (HTML part, 89 990 bytes of
UTF-8): base64 122 KB, quoted-printable 170 KB (each Cyrillic byte is three characters),
8bit 90 KB. So: 8bit (7bit when ASCII) whenever the server offers 8BITMIME and no line
passes 998 octets; otherwise the shorter of quoted-printable (markup and English) and
base64 (Cyrillic text), chosen up front from byte counts rather than by encoding twice.
"""

from __future__ import annotations

import base64
from email import quoprimime

MAX_LINE = 998  # octets of a line on the wire, CRLF not counted (RFC 5322)
B64_LINE = 57  # bytes of data on each 76-character base64 line

# Bytes that quoted-printable writes as they are (others become =XX).
_QP_LITERAL = bytes(range(0x20, 0x7F)).replace(b"=", b"") + b"\t\r\n"


def transfer_encoding(text: str, eight_bit: bool = False) -> str:
    """7bit/8bit when the server takes 8BITMIME and the lines fit, else the shorter of
    quoted-printable (mostly-ASCII text) and base64 (once the bytes quoted-printable must
    escape, three characters for one, outweigh base64's third more on every byte).

    Chosen up front: left to itself the email package encodes every part both ways to
    keep the shorter one, which doubles the cost of each message.
    """
    if eight_bit and fits_8bit(text):
        return "7bit" if text.isascii() else "8bit"
    return choose(stats(text))


def fits_8bit(text: str) -> bool:
    """Whether text can go unencoded: no NUL, no line longer than 998 octets."""
    if "\0" in text:
        return False
    return longest_line(text.encode("utf-8")) <= MAX_LINE


def longest_line(data: bytes) -> int:
    """The longest line of data in bytes (0 when empty)."""
    return max(map(len, data.splitlines()), default=0)


def stats(text: str) -> tuple[int, int]:
    """(UTF-8 bytes, those quoted-printable escapes): additive over concatenation."""
    data = text.encode("utf-8")
    return len(data), len(data.translate(None, _QP_LITERAL))


def choose(counts: tuple[int, int]) -> str:
    """base64 or quoted-printable, whichever is shorter for text with these counts."""
    size, escaped = counts
    # base64: 4/3 of the size; quoted-printable: the size plus two more for each escape.
    return "base64" if 4 * size < 3 * (size + 2 * escaped) else "quoted-printable"


def encoded_size(text: str) -> int:
    """An upper estimate of the bytes text takes on the wire when the server does not offer
    8BITMIME (the larger case): the chosen encoding with its line breaks."""
    size, escaped = stats(text)
    if choose((size, escaped)) == "base64":
        chars = (size + 2) // 3 * 4
        return chars + 2 * (chars // 76 + 1)
    chars = size + 2 * escaped + text.count("\n")  # LF becomes CRLF
    return chars + 3 * (chars // 75 + 1)  # a soft line break "=" CRLF every 75 or fewer


def b64_lines(data: bytes) -> bytes:
    """base64 in lines of 76 characters ending in CRLF, as the email package writes it."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def qp_line(line: bytes) -> bytes:
    """One line quoted-printable as the email package writes it: 78 columns, CRLF."""
    return quoprimime.body_encode(line.decode("latin-1") + "\n", 78, "\r\n").encode("ascii")
