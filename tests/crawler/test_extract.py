"""extract_article: the article text and its metadata from English and Persian pages, hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trafilatura

from crawler.encoding import decode_body
from crawler.extract import (
    TRAFILATURA_OPTIONS,
    ZWNJ,
    Extracted,
    ExtractionOverrides,
    canonicalize_url,
    extract_article,
    guess_language,
)

ENCODING_DATA = Path(__file__).resolve().parents[1] / "data" / "encoding"

EN_PARAGRAPHS = [
    "The Supreme Court has rejected the request for a judicial review filed by the lawyers of a political "
    "prisoner sentenced to death for moharebeh, his family said on Tuesday.",
    "According to the family, the prisoner was transferred from the general ward to solitary confinement on "
    "Monday night, a move that has preceded executions in previous cases documented by rights groups.",
    "Human rights organisations called on the judiciary to halt the execution and to grant the prisoner a "
    "fair retrial with a lawyer of his own choosing, citing confessions obtained under duress.",
]
FA_PARAGRAPHS = [
    "دیوان عالی کشور درخواست اعاده دادرسی یک زندانی سیاسی را که به اتهام محاربه به اعدام محکوم شده است "
    "رد کرد. خانواده او روز سه‌شنبه این خبر را تأیید کردند.",
    "به گفته خانواده، این زندانی شب دوشنبه از بند عمومی به سلول انفرادی منتقل شده است؛ انتقالی که در "
    "پرونده‌های پیشین گروه‌های حقوق بشری پیش از اجرای حکم دیده شده بود.",
    "سازمان‌های حقوق بشری از قوه قضاییه خواسته‌اند اجرای حکم را متوقف کند و به این زندانی اجازه دهد "
    "با وکیل انتخابی خود در دادگاهی عادلانه محاکمه شود. آنها می‌گویند اعترافات زیر فشار گرفته شده است.",
]
AR_PARAGRAPHS = ["قالت مصادر حقوقية إن المحكمة العليا رفضت طلب إعادة المحاكمة للسجين السياسي المحكوم عليه."]
ES_PARAGRAPHS = ["La corte suprema rechazó la solicitud de revisión judicial presentada por los abogados."]


def article_page(
    paragraphs: list[str],
    *,
    lang: str | None = "en",
    head: str = "",
    title: str = "Court rejects judicial review",
    byline: str = "",
    header: str = "",
) -> str:
    """A news page with the clutter real sites have around the article."""
    lang_attr = f' lang="{lang}"' if lang else ""
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(12))
    related = "".join(f'<li><a href="/news/{i}">Related story number {i}</a></li>' for i in range(8))
    return f"""<!DOCTYPE html>
<html{lang_attr}><head><meta charset="utf-8"><title>{title} - Example News</title>{head}</head>
<body>
<header><div class="site-date">{header}</div><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{title}</h1>
{byline}
{body}
</article>
<aside class="sidebar"><h3>Most read</h3><ul>{related}</ul></aside>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>This comment is reader chatter and must not be part of the article text.</p></div>
</section></main>
<footer><p>Copyright Example News. All rights reserved.</p></footer>
<script>var tracking = "never shown";</script>
</body></html>"""


ENGLISH_HEAD = """
<meta property="og:title" content="Supreme Court rejects review for prisoner facing execution">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2025-07-21T14:45:00+04:30">
<link rel="canonical" href="/news/court-rejects-review?utm_source=feed&amp;id=7">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "Example News"},
  {"@type": "NewsArticle", "headline": "JSON-LD headline",
   "author": [{"@type": "Person", "name": "Jane Roe"}, {"@type": "Person", "name": "John Doe"}]}]}
</script>
"""


def test_english_article_text_and_metadata() -> None:
    html = article_page(EN_PARAGRAPHS, head=ENGLISH_HEAD)

    result = extract_article(html, "https://www.example.com/news/court-rejects-review")

    assert result == Extracted(
        title="Supreme Court rejects review for prisoner facing execution",
        text="\n".join(["Court rejects judicial review", *EN_PARAGRAPHS]),  # trafilatura keeps the <h1>
        author="Jane Roe, John Doe",
        published_at=datetime(2025, 7, 21, 10, 15, tzinfo=UTC),
        lang="en",
        canonical_url="https://www.example.com/news/court-rejects-review?id=7",
    )


def test_text_is_exactly_what_trafilatura_returns() -> None:
    """The wrapper adds metadata but never changes or drops article text."""
    html = article_page(EN_PARAGRAPHS, head=ENGLISH_HEAD)
    url = "https://www.example.com/a"

    direct = trafilatura.extract(html, url=url, **TRAFILATURA_OPTIONS)

    assert extract_article(html, url).text == direct


def test_persian_article_keeps_zwnj_and_loses_nothing_else() -> None:
    html = article_page(FA_PARAGRAPHS, lang="fa", title="رد درخواست اعاده دادرسی")
    url = "https://fa.example.com/news/1"

    result = extract_article(html, url)
    direct = trafilatura.extract(html, url=url, **TRAFILATURA_OPTIONS) or ""

    assert result.text == "\n".join(["رد درخواست اعاده دادرسی", *FA_PARAGRAPHS])
    assert "می‌گویند" in result.text and "پرونده‌های" in result.text
    assert ZWNJ not in direct  # the trafilatura behaviour we work around
    assert result.text.replace(ZWNJ, "") == direct
    assert result.lang == "fa"
    assert result.title == "رد درخواست اعاده دادرسی"


@pytest.mark.parametrize("entity", ["&zwnj;", "&#8204;", "&#x200C;"])
def test_zwnj_written_as_an_entity_is_kept(entity: str) -> None:
    paragraphs = [p.replace(ZWNJ, entity) for p in FA_PARAGRAPHS]

    result = extract_article(article_page(paragraphs, lang="fa"), "https://fa.example.com/n/2")

    assert "گروه‌های حقوق بشری" in result.text


def test_zwnj_kept_when_the_page_already_contains_the_placeholder() -> None:
    paragraphs = [*FA_PARAGRAPHS, "A Cyrillic multiocular o: \ua66e appears in this page."]

    result = extract_article(article_page(paragraphs, lang="fa"), "https://fa.example.com/n/3")

    assert "می‌گویند" in result.text
    assert "\ua66e appears" in result.text


def test_visible_jalali_date_is_used_when_there_is_no_metadata() -> None:
    byline = '<div class="news-date">تاریخ انتشار: سه‌شنبه ۳۱ تیر ۱۴۰۴ - ۱۳:۴۵</div>'
    html = article_page(FA_PARAGRAPHS, lang="fa", byline=byline, header="امروز: پنجشنبه ۹ مرداد ۱۴۰۴")

    result = extract_article(html, "https://fa.example.com/news/2")

    assert result.published_at == datetime(2025, 7, 22, 10, 15, tzinfo=UTC)


def test_metadata_date_beats_visible_date() -> None:
    byline = '<span class="date">۳۱ تیر ۱۴۰۴</span>'
    head = '<meta property="article:published_time" content="2025-07-21T06:00:00Z">'

    result = extract_article(
        article_page(FA_PARAGRAPHS, lang="fa", byline=byline, head=head), "https://x.ir/a"
    )

    assert result.published_at == datetime(2025, 7, 21, 6, 0, tzinfo=UTC)


def test_time_element_and_unparseable_meta() -> None:
    head = '<meta property="article:published_time" content="not a date">'
    byline = '<time datetime="2025-07-21T08:30:00+00:00">Monday</time>'

    result = extract_article(article_page(EN_PARAGRAPHS, head=head, byline=byline), "https://x.com/a")

    assert result.published_at == datetime(2025, 7, 21, 8, 30, tzinfo=UTC)


def test_cp1256_page_served_as_utf8_extracts_as_published() -> None:
    decoded = decode_body((ENCODING_DATA / "cp1256_no_meta.html").read_bytes(), header_charset="utf-8")

    result = extract_article(decoded.text, "https://legacy.example.ir/news/1")

    assert "\ufffd" not in result.text
    assert "زنداني سياسي" in result.text  # raw Arabic yeh, normalisation is the rules engine's job
    assert "سه‌شنبه" in result.text
    assert result.lang == "fa"


def test_overrides_win_for_each_field() -> None:
    byline = (
        '<div class="meta"><span class="who">Reporter: Sara Example</span>'
        '<span class="when" data-x="1">۲۸ تیر ۱۴۰۴</span></div>'
        '<div class="lead"><p>Lead paragraph chosen by selector.</p><script>nope()</script>'
        "<p>Second chosen paragraph.</p></div>"
    )
    overrides = ExtractionOverrides(
        title="article h1", text="div.lead", date="span.when", author=".meta .who"
    )

    result = extract_article(
        article_page(EN_PARAGRAPHS, head=ENGLISH_HEAD, byline=byline), "https://x.com/a", overrides=overrides
    )

    assert result.title == "Court rejects judicial review"
    assert result.text == "Lead paragraph chosen by selector.\nSecond chosen paragraph."
    assert result.published_at == datetime(2025, 7, 18, 20, 30, tzinfo=UTC)
    assert result.author == "Reporter: Sara Example"


def test_override_matching_nothing_falls_back_to_automatic() -> None:
    overrides = ExtractionOverrides(text="div.no-such-class", date="time.none")

    result = extract_article(
        article_page(EN_PARAGRAPHS, head=ENGLISH_HEAD), "https://x.com/a", overrides=overrides
    )

    assert result.text == "\n".join(["Court rejects judicial review", *EN_PARAGRAPHS])
    assert result.published_at == datetime(2025, 7, 21, 10, 15, tzinfo=UTC)


def test_invalid_selector_fails_when_configured() -> None:
    with pytest.raises(ValueError, match="invalid CSS selector for text: 'div\\[' "):
        ExtractionOverrides(text="div[")


@pytest.mark.parametrize(
    ("head", "page_url", "expected"),
    [
        (
            '<link rel="canonical" href="https://Example.com:443/A/b?b=2&amp;a=1#top">',
            "https://example.com/x",
            "https://example.com/A/b?a=1&b=2",
        ),
        (
            '<link rel="canonical" href="/story/5">',
            "https://example.com/story/5?utm_medium=x",
            "https://example.com/story/5",
        ),
        ('<link rel="canonical" href="https://example.com/">', "https://example.com/story/5", None),
        (
            '<meta property="og:url" content="https://example.com/story/6">',
            "https://example.com/s?id=6",
            "https://example.com/story/6",
        ),
        ('<link rel="canonical" href="javascript:alert(1)">', "https://example.com/story/5", None),
        ("", "https://example.com/story/5", None),
    ],
    ids=["absolute", "relative", "home-page-ignored", "og-url", "not-http", "absent"],
)
def test_canonical_url(head: str, page_url: str, expected: str | None) -> None:
    assert extract_article(article_page(EN_PARAGRAPHS, head=head), page_url).canonical_url == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Item?id=1#comments", "https://www.example.com/News/Item?id=1"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?utm_source=x&b=2&UTM_Campaign=y&a=1&fbclid=z&gclid=q",
            "https://example.com/a?a=1&b=2",
        ),
        ("https://example.com/a?utm_source=x", "https://example.com/a"),
        ("https://example.com/a?tag=2&tag=1&id=9", "https://example.com/a?id=9&tag=2&tag=1"),
        (
            "https://fa.example.ir/news/%D8%AE%D8%A8%D8%B1?q=%DB%B1",
            "https://fa.example.ir/news/%D8%AE%D8%A8%D8%B1?q=%DB%B1",
        ),
        ("https://user@Example.com/a", "https://user@example.com/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("https://example.com:notaport/a", "https://example.com:notaport/a"),
    ],
    ids=[
        "case-fragment",
        "http-80",
        "https-443",
        "other-port",
        "empty-path",
        "tracking",
        "only-tracking",
        "repeated-keys-keep-order",
        "percent-encoding-kept",
        "userinfo",
        "ipv6",
        "bad-port",
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("lang", "paragraphs", "expected"),
    [
        ("fa-IR", FA_PARAGRAPHS, "fa"),
        ("en", FA_PARAGRAPHS, "fa"),  # templates ship lang="en"; Persian letters are evidence
        (None, FA_PARAGRAPHS, "fa"),
        (None, EN_PARAGRAPHS, "en"),
        ("en-GB", EN_PARAGRAPHS, "en"),
        (
            None,
            AR_PARAGRAPHS,
            "ar",
        ),
        (
            "ar",
            AR_PARAGRAPHS,
            "ar",
        ),
        (
            None,
            ES_PARAGRAPHS,
            None,
        ),
    ],
    ids=[
        "declared-fa",
        "lying-en",
        "guess-fa",
        "guess-en",
        "declared-en-gb",
        "guess-ar",
        "declared-ar",
        "spanish",
    ],
)
def test_language(lang: str | None, paragraphs: list[str], expected: str | None) -> None:
    assert extract_article(article_page(paragraphs, lang=lang), "https://x.com/a").lang == expected


def test_guess_language_legacy_persian_spelling() -> None:
    legacy = FA_PARAGRAPHS[1].replace("ی", "ي").replace("ک", "ك")

    assert guess_language(legacy) == "fa"  # پ چ ژ گ survive in cp1256
    assert guess_language("") is None
    assert guess_language("中华人民共和国最高人民法院") is None


def test_title_site_name_suffix_is_removed() -> None:
    head = (
        '<meta property="og:site_name" content="Example News">'
        '<meta property="og:title" content="Big story | Example News">'
    )

    assert extract_article(article_page(EN_PARAGRAPHS, head=head), "https://x.com/a").title == "Big story"


def test_title_falls_back_to_h1_then_title_tag() -> None:
    result = extract_article(article_page(EN_PARAGRAPHS, title="Headline"), "https://x.com/a")

    assert result.title == "Headline"


def test_author_from_meta_and_byline_prefix() -> None:
    head = '<meta name="author" content="By  Jane   Roe">'

    assert extract_article(article_page(EN_PARAGRAPHS, head=head), "https://x.com/a").author == "Jane Roe"


def test_author_from_itemprop_elements() -> None:
    byline = (
        '<p class="byline">By <span itemprop="author creator"><span itemprop="name">A. One</span></span> and '
        '<span itemprop="author"><span itemprop="name">B. Two</span></span></p>'
    )

    assert (
        extract_article(article_page(EN_PARAGRAPHS, byline=byline), "https://x.com/a").author
        == "A. One, B. Two"
    )


def test_unix_timestamp_in_json_ld() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": 1753092900}</script>'

    result = extract_article(article_page(EN_PARAGRAPHS, head=head), "https://x.com/a")

    assert result.published_at == datetime(2025, 7, 21, 10, 15, tzinfo=UTC)


EMPTY = Extracted("", "", None, None, None, None)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t ",
        "<html></html>",
        "<html><head><script>" + "var x = 1;" * 10_000 + "</script></head><body></body></html>",
        "<html><body><style>p { color: red }</style></body></html>",
    ],
    ids=["empty", "whitespace", "empty-document", "only-script", "only-style"],
)
def test_pages_without_content_give_empty_text(html: str) -> None:
    result = extract_article(html, "https://x.com/a")

    assert result.text == ""
    assert result.published_at is None


@pytest.mark.parametrize(
    ("html", "expected_text"),
    [
        ("<div>" * 100_000 + "deep text" + "</div>" * 100_000, ""),  # libxml2 refuses the depth
        ('<html><body><p title="' + "x" * 5_000_000 + '">huge attribute</p></body></html>', "huge attribute"),
        ("<html><body>" + "<b><i><u>" * 5_000 + "unclosed", ""),
        (
            "<html><body>" + "<p>\x00\x01\x02 nul and control characters</p>" * 50,
            "nul and control characters",
        ),
        (
            '<?xml version="1.0" encoding="windows-1256"?><html><body><p>declared</p></body></html>',
            "declared",
        ),
        ("not html at all, just a line of text", "not html at all, just a line of text"),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"name": 5}, '
            '"datePublished": {"x": 1}, "headline": ["a"]}</script><p>body</p>',
            "body",
        ),
        ("\ufeff<html><body><p>" + "\ufffd" * 10_000 + "</p></body></html>", "\ufffd" * 10_000),
    ],
    ids=[
        "deep-nesting",
        "huge-attribute",
        "unclosed-tags",
        "control-chars",
        "xml-declaration",
        "plain-text",
        "json-ld-wrong-types",
        "replacement-chars",
    ],
)
def test_hostile_html_does_not_raise(html: str, expected_text: str) -> None:
    result = extract_article(html, "https://x.com/a")

    assert result.text.split("\n")[0] == expected_text
    assert result.published_at is None and result.author is None


def test_json_ld_is_not_mistaken_for_text() -> None:
    head = (
        '<script type="application/ld+json">'
        + json.dumps({"@type": "NewsArticle", "headline": "H"})
        + "</script>"
    )

    result = extract_article(article_page(EN_PARAGRAPHS, head=head), "https://x.com/a")

    assert "NewsArticle" not in result.text


def test_json_ld_nested_past_the_stack_costs_only_the_json_ld() -> None:
    head = '<script type="application/ld+json">' + "[" * 100_000 + "</script>" + ENGLISH_HEAD

    result = extract_article(article_page(EN_PARAGRAPHS, head=head), "https://x.com/a")

    assert result.text == "\n".join(["Court rejects judicial review", *EN_PARAGRAPHS])
    assert result.author == "Jane Roe, John Doe"


def test_trafilatura_failure_keeps_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(trafilatura, "extract", broken)

    result = extract_article(article_page(EN_PARAGRAPHS, head=ENGLISH_HEAD), "https://x.com/a")

    assert result.text == ""
    assert result.title == "Supreme Court rejects review for prisoner facing execution"
    assert result.published_at == datetime(2025, 7, 21, 10, 15, tzinfo=UTC)
