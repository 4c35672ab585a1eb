"""Front matter read without YAML (the `key: "text"` / `key: date` shortcut) means exactly
what YAML reads from it: on generated blocks, whenever the shortcut answers, YAML's own
loader gives the same mapping; and the blocks it leaves to YAML still go there."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from feeds.read.frontmatter import _Loader, _simple_yaml, read_header
from tests.hypothesis_profiles import PROPERTY

KEYS = ["title", "date", "draft", "tags", "summary", "featured_image", "lastmod", "status"]
OTHER_KEYS = ["Title", "yes", "on", "null", "series", "x-y", "", "title ", " title"]
TRICKY = "\"\\'#:{}[]&*!|>%@`,\t\r\x00\x1f\x7f\x85\xa0\u2028\u2029\ufeff\ufffe\uffff\U0001f600٣é"
DATES = [
    "2026-02-20",
    "2026-02-20T09:30",
    "2026-02-20 09:30:00",
    "2026-2-20",
    "20260220",
    "٢٠٢٦-02-20",
]


@st.composite
def value(draw: st.DrawFn) -> str:
    text = draw(st.text(alphabet=st.sampled_from(list(TRICKY)), max_size=3)) + draw(
        st.text(max_size=3)
    )
    return draw(
        st.sampled_from(
            [
                f'"{text}"',
                f"'{text}'",
                text,
                draw(st.sampled_from(DATES)),
                f'"{draw(st.sampled_from(DATES))}"',
                f"{draw(st.sampled_from(DATES))} # note",
                "true",
                "[a, b]",
            ]
        )
    )


@st.composite
def block(draw: st.DrawFn) -> str:
    lines = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KEYS) | st.sampled_from(KEYS) | st.sampled_from(OTHER_KEYS),
                st.sampled_from([": ", ": ", ": ", ":  ", ":", " : "]),
                value(),
            ),
            min_size=1,
            max_size=3,
        )
    )
    return "\n".join(f"{key}{colon}{text}" for key, colon, text in lines)


@PROPERTY
@given(block())
def test_the_shortcut_reads_what_yaml_reads(raw: str) -> None:
    simple = _simple_yaml(raw)
    if simple is not None:
        assert simple == yaml.load(raw, Loader=_Loader)


@st.composite
def shaped_block(draw: st.DrawFn) -> str:
    """Blocks of the shortcut's shape, their quoted text full of what YAML treats apart."""
    lines = []
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3)):
        text = draw(st.text(alphabet=st.sampled_from(list(TRICKY)), max_size=3)) + draw(
            st.text(max_size=3)
        )
        date = draw(st.sampled_from(DATES))
        lines.append(draw(st.sampled_from([f'{key}: "{text}"', f"{key}: {date}"])))
    return "\n".join(lines)


@PROPERTY
@given(shaped_block())
def test_the_shortcut_reads_what_yaml_reads_on_its_own_shape(raw: str) -> None:
    simple = _simple_yaml(raw)
    if simple is not None:  # YAML refusing such a block would be a difference too
        assert simple == yaml.load(raw, Loader=_Loader)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KEYS),
            st.text(
                alphabet=st.characters(exclude_characters='"\\', exclude_categories=["Cc", "Cs"]),
                max_size=30,
            ),
            st.sampled_from(DATES[:3]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_ordinary_front_matter_takes_the_shortcut(lines: list[tuple[str, str, str]]) -> None:
    raw = "\n".join(
        f'{key}: "{text}"' if n % 2 else f"{key}: {date}"
        for n, (key, text, date) in enumerate(lines)
    )
    if any(c in raw for c in "\x85\u2028\u2029\ufeff\ufffe\uffff"):
        return  # left to YAML on purpose (line breaks, BOM, non-characters)
    simple = _simple_yaml(raw)
    assert simple is not None, raw
    assert simple == yaml.load(raw, Loader=_Loader)


def test_blocks_yaml_reads_otherwise_are_left_to_it() -> None:
    for raw in [
        'title: "a\\tb"',  # an escape
        "title: yes",
        "Title: x",
        "title: 'x'",
        "tags: [a, b]",
        "date: 2026-02-20 # when",
        'title: "x"\r',
        "",
        'title: "x"\n\nsummary: "y"',
        'title: "a\u2028b"',
    ]:
        assert _simple_yaml(raw) is None, raw


def test_a_file_reads_the_same_through_the_shortcut() -> None:
    text = '---\ntitle: "Прем\'єр: #1"\ndate: 2026-02-20 09:30:00\ndraft: "no"\n---\n\nBody.'
    header = read_header("a.md", text)
    assert header.values == {"title": "Прем'єр: #1", "date": "2026-02-20 09:30:00"}
    assert header.draft is False
    assert header.body == "\nBody."
