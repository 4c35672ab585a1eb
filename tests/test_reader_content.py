"""Article text to HTML (SPEC 2, 3): everything escaped, URLs in the text become links."""

from __future__ import annotations

import lxml.html
from hypothesis import given
from hypothesis import strategies as st

from feeds.model import Block
from feeds.site.content import blocks_to_html, linkify


def test_plain_text_is_escaped() -> None:
    assert str(linkify("<b>\"a\" & 'b'</b>")) == "&lt;b&gt;&#34;a&#34; &amp; &#39;b&#39;&lt;/b&gt;"


def test_url_becomes_a_link_to_itself() -> None:
    assert str(linkify("See https://example.org/a/b now")) == (
        'See <a href="https://example.org/a/b">https://example.org/a/b</a> now'
    )


def test_ampersand_in_a_url_is_escaped_in_href_and_text() -> None:
    html = str(linkify("https://example.org/?a=1&b=2"))
    assert html == (
        '<a href="https://example.org/?a=1&amp;b=2">https://example.org/?a=1&amp;b=2</a>'
    )


def test_sentence_punctuation_after_a_url_is_not_part_of_it() -> None:
    html = str(linkify("Details: https://example.org/page. More, https://example.org/x!"))
    assert '<a href="https://example.org/page">' in html
    assert '<a href="https://example.org/x">' in html
    assert html.endswith("</a>!")


def test_closing_parenthesis_around_a_url_stays_outside() -> None:
    html = str(linkify("(see https://example.org/a)"))
    assert html == '(see <a href="https://example.org/a">https://example.org/a</a>)'


def test_balanced_parentheses_inside_a_url_stay_in_it() -> None:
    url = "https://en.wikipedia.org/wiki/Kyiv_(city)"
    assert f'<a href="{url}">' in str(linkify(f"Read {url}."))


def test_url_stops_at_a_quote_so_it_cannot_break_out_of_href() -> None:
    html = str(linkify('https://example.org/?q="><script>x</script>'))
    assert html.startswith('<a href="https://example.org/?q=">')
    assert "<script>" not in html


def test_url_in_ukrainian_quotes_excludes_them() -> None:
    html = str(linkify("Сайт «https://example.org/uk» працює."))
    assert '<a href="https://example.org/uk">https://example.org/uk</a>»' in html


def test_only_http_and_https_become_links() -> None:
    for text in ("javascript:alert(1)", "ftp://example.org/x", "mailto:a@example.org"):
        assert "<a" not in str(linkify(text))


def test_blocks_become_paragraph_subheading_and_blockquote() -> None:
    html = str(blocks_to_html([Block("p", "Один."), Block("h2", "Два"), Block("quote", "— Три.")]))
    assert html == "<p>Один.</p>\n<h2>Два</h2>\n<blockquote><p>— Три.</p></blockquote>"


# Seed text after decoding: no control characters (decode drops those illegal in XML).
SEED_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff")
)


@given(SEED_TEXT)
def test_any_text_gives_no_element_but_links(text: str) -> None:
    html = str(linkify(text))
    if not html.strip():
        return
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert {element.tag for element in root.iterdescendants()} <= {"a"}
    for link in root.iterdescendants("a"):
        assert set(link.attrib) == {"href"}
        assert link.get("href", "").lower().startswith(("http://", "https://"))
