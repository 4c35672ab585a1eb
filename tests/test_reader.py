"""Reading one seed (SPEC 2): header, encodings, body blocks, title and summary."""

from __future__ import annotations

import codecs
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.errors import SeedError
from feeds.model import Article, Block
from feeds.read.reader import TITLE_MAX, decode, derive_title, parse
from tests.conftest import SHARED_SEED

KYIV = ZoneInfo("Europe/Kyiv")
SEED_TITLE = "Україна пропонує Японії започаткувати оборонне партнерство"


def read(data: str | bytes, stem: str = "001_test") -> Article:
    """Decode and parse seed bytes as the build does."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse(f"{stem}.txt", stem, decode(raw), KYIV)


# Header ----------------------------------------------------------------------------------------


def test_colon_header_keys_are_read_in_any_case() -> None:
    article = read(
        "Date: 2026-02-20\nTITLE: Заголовок статті\nAuthor: Олена\nTaGs: один, два\n"
        "SUMMARY: Коротко.\nLang: en\nSlug: my-slug\nImage: https://example.org/a.jpg\n\nТекст."
    )
    assert article.date == datetime(2026, 2, 20, tzinfo=KYIV)
    assert article.title == "Заголовок статті"
    assert article.author == "Олена"
    assert article.tags == ("один", "два")
    assert article.summary == "Коротко."
    assert article.lang == "en"
    assert article.slug_hint == "my-slug"
    assert article.image == "https://example.org/a.jpg"


def test_lowercase_space_header_keys_are_read() -> None:
    article = read(
        "date 2026-02-20\ntitle Заголовок статті\nauthor Олена Коваль\ntags Київ, транспорт\n\n"
        "Текст статті."
    )
    assert article.title == "Заголовок статті"
    assert article.author == "Олена Коваль"
    assert article.tags == ("Київ", "транспорт")
    assert article.blocks == (Block("p", "Текст статті."),)


def test_capitalised_space_line_is_body_not_header() -> None:
    article = read("date: 2026-02-20\nTitle Without Colon is text\n\nMore.")
    assert article.blocks[0] == Block("p", "Title Without Colon is text")
    assert article.title == "Title Without Colon is text"


def test_unknown_colon_key_ends_the_header() -> None:
    article = read("date: 2026-02-20\nNote: this is the lead, not a header.")
    assert article.blocks == (Block("p", "Note: this is the lead, not a header."),)


def test_header_ends_at_blank_line() -> None:
    article = read("date: 2026-02-20\n\ntitle: not a header any more\n\nMore.")
    assert article.blocks[0] == Block("p", "title: not a header any more")


def test_date_line_with_text_starts_the_body() -> None:
    article = read("date 2026-02-20 Перший абзац, що йде одразу після дати.\n\nДругий абзац.")
    assert article.date == datetime(2026, 2, 20, tzinfo=KYIV)
    assert article.blocks == (
        Block("p", "Перший абзац, що йде одразу після дати."),
        Block("p", "Другий абзац."),
    )


def test_header_after_a_date_line_with_text_is_body() -> None:
    article = read("date 2026-02-20 Lead sentence here.\ntitle: Not a title\n\nMore.")
    assert article.title == "Lead sentence here"
    assert article.blocks[0] == Block("p", "Lead sentence here. title: Not a title")


def test_leading_whitespace_and_blank_lines_are_tolerated() -> None:
    article = read("\n\n   date 2026-02-20\n\t title: Відступи\n\nТекст.")
    assert article.title == "Відступи"
    assert article.date == datetime(2026, 2, 20, tzinfo=KYIV)


def test_tags_are_comma_separated_trimmed_and_deduplicated() -> None:
    article = read("date: 2026-02-20\ntags: Київ ,  транспорт,, київ, Метро \n\nТекст.")
    assert article.tags == ("Київ", "транспорт", "Метро")


def test_missing_date_is_an_error() -> None:
    with pytest.raises(SeedError, match="no date"):
        read("title: Без дати\n\nТекст.")


def test_invalid_date_is_an_error_naming_it() -> None:
    with pytest.raises(SeedError, match="2026-02-30"):
        read("date: 2026-02-30\n\nТекст.")


def test_date_without_title_or_text_is_an_error() -> None:
    with pytest.raises(SeedError, match="no title and no text"):
        read("date: 2026-02-20\n")


def test_title_without_body_is_enough() -> None:
    article = read("date: 2026-02-20\ntitle: Лише заголовок\n")
    assert article.title == "Лише заголовок"
    assert article.blocks == ()


@pytest.mark.parametrize("value", ["", "true", "yes", "True", "1", "on"])
def test_draft_header_true_forms_make_a_draft(value: str) -> None:
    assert read(f"date 2026-02-20\ndraft {value}\n\nТекст.").draft


@pytest.mark.parametrize("value", ["false", "no", "0", "off"])
def test_draft_header_false_forms_publish(value: str) -> None:
    assert not read(f"date 2026-02-20\ndraft: {value}\n\nТекст.").draft


def test_draft_header_with_other_word_is_an_error() -> None:
    with pytest.raises(SeedError, match="draft"):
        read("date 2026-02-20\ndraft: maybe\n\nТекст.")


# Encodings -------------------------------------------------------------------------------------

UKRAINIAN = "date 2026-02-20\n\nЦі новини з Києва: уряд ухвалив рішення про підтримку енергетики.\n"


def test_utf8_bom_is_stripped() -> None:
    article = read(codecs.BOM_UTF8 + "date: 2026-02-20\n\nТекст з BOM.".encode())
    assert article.date == datetime(2026, 2, 20, tzinfo=KYIV)
    assert article.blocks == (Block("p", "Текст з BOM."),)


def test_crlf_line_ends_read_like_lf() -> None:
    lf = read("date: 2026-02-20\ntitle: Заголовок\n\nПерший.\n\nДругий.\n")
    crlf = read("date: 2026-02-20\r\ntitle: Заголовок\r\n\r\nПерший.\r\n\r\nДругий.\r\n")
    assert crlf == lf


def test_legacy_cp1251_file_is_detected_and_decoded() -> None:
    assert decode(UKRAINIAN.encode("cp1251")) == UKRAINIAN


def test_cp1251_seed_gives_the_same_article_as_utf8() -> None:
    assert read(UKRAINIAN.encode("cp1251")) == read(UKRAINIAN)


def test_mostly_utf8_file_with_a_broken_byte_is_an_error() -> None:
    data = UKRAINIAN.encode("utf-8").replace("уряд".encode(), b"\xd3\xff")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        decode(data)


def test_truncated_utf8_sequence_is_an_error() -> None:
    data = UKRAINIAN.encode("utf-8") + "ї".encode()[:1]
    with pytest.raises(ValueError, match="not valid UTF-8"):
        decode(data)


def test_nul_byte_means_binary() -> None:
    with pytest.raises(ValueError, match="binary"):
        decode(b"date 2026-02-20\n\ntext\x00more")


@pytest.mark.parametrize("char", ["\x0c", "\x0b", "\x01", "\x1f", "\ufffe", "\uffff"])
def test_xml_illegal_characters_are_dropped(char: str) -> None:
    article = read(f"date 2026-02-20\ntitle: Заго{char}ловок\n\nТе{char}кст.")
    assert article.title == "Заголовок"
    assert article.blocks == (Block("p", "Текст."),)


def test_tabs_and_newlines_survive_decoding() -> None:
    assert decode(b"a\tb\nc") == "a\tb\nc"


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_decoded_utf8_never_holds_xml_illegal_characters(text: str) -> None:
    data = text.encode("utf-8")
    if b"\x00" in data:
        return
    decoded = decode(data)
    for char in decoded:
        code = ord(char)
        assert (
            code in (0x9, 0xA)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or (0x10000 <= code <= 0x10FFFF)
        )
    assert "\r" not in decoded


# Body blocks -----------------------------------------------------------------------------------


def test_short_unpunctuated_line_between_paragraphs_is_a_subheading() -> None:
    article = read("date 2026-02-20\n\nЛід статті.\n\nЩо відомо\n\nТекст далі.")
    assert article.blocks[1] == Block("h2", "Що відомо")


def test_shared_seed_subheading_keeps_its_colon() -> None:
    article = read(SHARED_SEED.read_bytes(), SHARED_SEED.stem)
    assert Block("h2", "Оборонна співпраця України та Японії: що відомо") in article.blocks


def test_lead_and_last_paragraph_are_never_subheadings() -> None:
    article = read("date 2026-02-20\n\nКороткий лід\n\nТекст.\n\nФото: Reuters")
    assert [b.kind for b in article.blocks] == ["p", "p", "p"]


def test_line_ending_in_punctuation_is_not_a_subheading() -> None:
    article = read("date 2026-02-20\n\nЛід.\n\nКоротке речення.\n\nТекст.")
    assert article.blocks[1].kind == "p"


def test_dash_paragraph_is_a_quotation() -> None:
    article = read("date 2026-02-20\n\nЛід.\n\n— Ми готові, — сказав він.")
    assert article.blocks[1] == Block("quote", "— Ми готові, — сказав він.")


def test_angle_bracket_lines_are_one_quotation_without_markers() -> None:
    article = read("date 2026-02-20\n\nЛід.\n\n> Перший рядок\n> другий рядок.")
    assert article.blocks[1] == Block("quote", "Перший рядок другий рядок.")


def test_hash_line_is_a_subheading() -> None:
    article = read("date 2026-02-20\n\nЛід.\n\n## Розділ\n\nТекст.")
    assert article.blocks[1] == Block("h2", "Розділ")


def test_lines_of_a_paragraph_are_joined_with_spaces() -> None:
    article = read("date 2026-02-20\n\nПерший рядок\n   другий   рядок.\n")
    assert article.blocks == (Block("p", "Перший рядок другий рядок."),)


def test_several_blank_lines_separate_only_once() -> None:
    article = read("date 2026-02-20\n\nОдин.\n\n\n\n  \nДва.")
    assert article.blocks == (Block("p", "Один."), Block("p", "Два."))


# Title and summary -----------------------------------------------------------------------------


def test_shared_seed_title_is_derived_exactly() -> None:
    article = read(SHARED_SEED.read_bytes(), SHARED_SEED.stem)
    assert article.title == SEED_TITLE


def test_title_header_wins_over_the_lead() -> None:
    article = read("date 2026-02-20\ntitle: Власний заголовок\n\nЛід статті, що довгий.")
    assert article.title == "Власний заголовок"


@pytest.mark.parametrize(
    ("lead", "title"),
    [
        ("Уряд ухвалив бюджет, повідомили в Мінфіні.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет; депутати проти.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет: що змінилося.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет — так повідомили.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет – так повідомили.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет. Депутати проти.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет! Депутати проти.", "Уряд ухвалив бюджет"),
        ("Чи ухвалить уряд бюджет? Депутати проти.", "Чи ухвалить уряд бюджет"),
        ("Уряд ухвалив бюджет… Депутати проти.", "Уряд ухвалив бюджет"),
        ("Уряд ухвалив бюджет", "Уряд ухвалив бюджет"),
    ],
    ids=[
        "comma",
        "semicolon",
        "colon",
        "em-dash",
        "en-dash",
        "period",
        "bang",
        "question",
        "ellipsis",
        "no-punctuation",
    ],
)
def test_title_is_the_lead_up_to_the_first_clause_end(lead: str, title: str) -> None:
    assert derive_title(lead) == title


def test_comma_between_digits_does_not_end_the_title() -> None:
    lead = "Порти обробили 9,1 млн тонн вантажів, повідомили в міністерстві."
    assert derive_title(lead) == "Порти обробили 9,1 млн тонн вантажів"


def test_period_between_digits_does_not_end_the_title() -> None:
    lead = "Інфляція сповільнилася до 7.5 відсотка у січні, за даними НБУ."
    assert derive_title(lead) == "Інфляція сповільнилася до 7.5 відсотка у січні"


def test_hyphen_inside_a_word_does_not_end_the_title() -> None:
    lead = "Кіловат-година подорожчала вдвічі з понеділка, повідомили в уряді."
    assert derive_title(lead) == "Кіловат-година подорожчала вдвічі з понеділка"


def test_clause_under_three_words_gives_the_whole_first_sentence() -> None:
    lead = "Нарешті, уряд ухвалив бюджет на наступний рік. Депутати проти."
    assert derive_title(lead) == "Нарешті, уряд ухвалив бюджет на наступний рік"


def test_long_title_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    words = ["слово" + str(n) for n in range(40)]
    title = derive_title(" ".join(words))
    assert len(title) <= TITLE_MAX
    assert title.endswith("…")
    assert title[:-1].split() == words[: len(title[:-1].split())]


def test_long_word_without_spaces_is_cut_to_the_limit() -> None:
    title = derive_title("x" * 300)
    assert title == "x" * (TITLE_MAX - 1) + "…"


def test_title_of_exactly_the_limit_is_not_cut() -> None:
    lead = ("слово " * 30)[:TITLE_MAX].strip()
    assert len(lead) <= TITLE_MAX
    assert derive_title(lead) == lead


@given(st.text(min_size=1).filter(lambda s: any(c.isalnum() for c in s)))
def test_derived_title_of_a_lead_with_words_is_never_empty_or_too_long(lead: str) -> None:
    title = derive_title(lead)
    assert 0 < len(title) <= TITLE_MAX


def test_punctuation_before_the_first_word_is_skipped() -> None:
    assert derive_title("... І ось головна новина дня. Далі.") == "І ось головна новина дня"


def test_lead_without_words_is_an_error_not_an_empty_title() -> None:
    with pytest.raises(SeedError, match="no title"):
        read("date 2026-02-20\n\n...\n\nДалі текст.")


def test_summary_is_the_lead_paragraph_without_a_header() -> None:
    article = read("date 2026-02-20\n\nЛід статті, повний абзац.\n\nДругий.")
    assert article.summary == "Лід статті, повний абзац."


def test_summary_header_wins_over_the_lead() -> None:
    article = read("date 2026-02-20\nsummary: Власний опис.\n\nЛід статті.")
    assert article.summary == "Власний опис."


def test_id_is_the_file_stem() -> None:
    assert read("date 2026-02-20\n\nТекст.", stem="000_91005bd04970e0af").id == (
        "000_91005bd04970e0af"
    )


@given(st.binary(max_size=300))
def test_any_bytes_give_an_article_with_a_title_or_a_seed_error(data: bytes) -> None:
    try:
        article = read(b"date 2026-02-20\n" + data)
    except (SeedError, ValueError) as exc:
        assert str(exc)
        assert "\n" not in str(exc)
        return
    assert article.title.strip()


# Summary and metadata hygiene (issues 14.7, 13.11) ----------------------------------------------


def test_summary_is_the_first_paragraph_not_a_heading() -> None:
    article = read(
        "date 2026-02-20\n\n# Про що говорили\n\nПрезиденти обговорили оборону.\n\nДалі.", "a"
    )
    assert article.title == "Про що говорили"
    assert article.summary == "Президенти обговорили оборону."


def test_summary_skips_a_subheading_and_a_quote_before_the_first_paragraph() -> None:
    article = read("date 2026-02-20\n\n## Розділ\n\n### Підрозділ\n\nТекст статті.\n")
    assert article.summary == "Текст статті."


@pytest.mark.parametrize(
    "title",
    ["\u202eevil\u202c", "\u2066a\u2069b", "\ufeffTitle", "\u200bTitle\u200e"],
)
def test_bidi_and_invisible_controls_are_stripped_from_titles(title: str) -> None:
    article = read(f"date 2026-02-20\ntitle {title}\nauthor \u202eЯ\ntags \u2067x\u2069\n\nТекст.")
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in article.title)
    assert "\ufeff" not in article.title and "\u200b" not in article.title
    assert article.author == "Я" and article.tags == ("x",)


def test_a_title_of_invisible_characters_falls_back_to_the_lead() -> None:
    article = read(
        "date 2026-02-20\ntitle \u200b\u200f\u2060\u00ad\n\nСправжній заголовок статті тут."
    )
    assert article.title == "Справжній заголовок статті тут"


def test_a_tag_of_invisible_characters_is_dropped() -> None:
    article = read("date 2026-02-20\ntags один, \u200b\u202e, два\n\nТекст.")
    assert article.tags == ("один", "два")


def test_emoji_joiners_inside_visible_text_stay() -> None:
    article = read("date 2026-02-20\ntitle Сім'я 👩\u200d👩\u200d👧\n\nТекст.")
    assert "\u200d" in article.title


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        'https://x.org/a".jpg',
        "https://x.org/a b.jpg",
        "https://x.org/<a>.jpg",
    ],
)
def test_image_that_is_not_a_clean_http_url_is_dropped_with_a_warning(value: str) -> None:
    article = read(f"date 2026-02-20\nimage {value}\n\nТекст.")
    assert article.image == ""
    assert len(article.warnings) == 1 and "image" in article.warnings[0]


@pytest.mark.parametrize("value", ["https://x.org/a.jpg", "pic.jpg", "img/pic.png"])
def test_clean_image_values_are_kept(value: str) -> None:
    article = read(f"date 2026-02-20\nimage {value}\n\nТекст.")
    assert article.image == value and article.warnings == ()
