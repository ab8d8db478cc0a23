"""Rendering: what recipients read, checked with the same HTML rules the fake Telegram applies."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from config.errors import TelegramMarkupError
from monitor.delivery.channels.telegram import render_telegram, render_telegram_digest, render_telegram_overflow
from monitor.delivery.channels.telegram_html import MAX_CHUNK_UTF16, plain_text, split_telegram_html
from monitor.messages import (
    AlertView,
    DigestView,
    OverflowView,
    SourceRef,
    render_digest,
    render_email,
    render_overflow,
)
from tests.support import (
    HOSTILE_TITLE,
    HOSTILE_TITLE_SHOWN,
    LRE,
    PDF,
    PDI,
    PERSIAN_SENTENCE,
    RLI,
    RLM,
    RLO,
    T0,
    sample_alert,
)
from tests.support.fake_telegram import parse_telegram_html, utf16_len

make_alert = sample_alert


def shown(chunks: list[str]) -> list[str]:
    """Plain text per chunk, parsed the way Telegram parses HTML (raises like Telegram's 400)."""
    return [parse_telegram_html(chunk).plain for chunk in chunks]


def sent_length(plain: str) -> int:
    """UTF-16 units once Apprise has turned each LF into CRLF."""
    return utf16_len(plain) + plain.count("\n")


# --- Telegram -------------------------------------------------------------------------------


def test_telegram_alert_shows_the_facts_a_reader_needs() -> None:
    [chunk] = render_telegram(make_alert())
    parsed = parse_telegram_html(chunk)
    assert parsed.plain.splitlines()[:3] == [
        "🔴 CRITICAL · transfer · #12",
        "Saeed Masouri",
        "Political prisoner moved to Ghezel Hesar",
    ]
    assert "Moved at dawn without notice.\nFamily not informed." in parsed.plain
    assert "انتقال سعید ماسوری" in parsed.plain
    assert "2024-09-21 14:03 UTC" in parsed.plain
    assert parsed.links == (
        "https://www.hra-news.org/2024/a-1/",
        "https://iran-hrm.com/x?a=1&b=2",
        "https://evidence.example.org/alerts/12",
    )


def test_hostile_title_is_shown_literally_and_bidi_controls_cannot_escape() -> None:
    chunks = render_telegram(make_alert(title=HOSTILE_TITLE, subject=f"{RLO}Masouri"))
    [plain] = shown(chunks)  # parses: no stray tags or entities
    lines = plain.splitlines()
    assert lines[1] == "Masouri"
    assert lines[2] == HOSTILE_TITLE_SHOWN
    assert RLM in lines[2]  # plain direction marks are legitimate Persian text
    assert not set(RLO + PDF + LRE + RLI + "\u202b\u202d\u2066") & set(plain)
    assert plain.count("\u2068") == plain.count(PDI)  # only our own balanced FSI…PDI isolates
    assert "<script" not in chunks[0]


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("javascript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("https://ok.example/a b", None),
        ('https://ok.example/?q="><b>x</b>', "https://ok.example/?q=%22%3E%3Cb%3Ex%3C/b%3E"),
        ("https://مثال.example/path", "https://xn--mgbh0fb.example/path"),
        ("  https://ok.example/\u202e/x ", "https://ok.example//x"),
    ],
    ids=["javascript", "data", "space", "quote-breakout", "idn", "bidi-in-url"],
)
def test_only_safe_http_links_become_hrefs(url: str, linked: str | None) -> None:
    alert = make_alert(sources=[SourceRef("S", url, "t")], evidence_url=None)
    parsed = parse_telegram_html("".join(render_telegram(alert)))
    assert parsed.links == ((linked,) if linked else ())
    assert "• \u2068S\u2069: \u2068t\u2069" in parsed.plain  # listed, linked or not


def test_long_persian_summary_is_split_within_limits_and_rejoins_exactly() -> None:
    summary = (PERSIAN_SENTENCE * 80)[:10_000].strip()
    chunks = render_telegram(make_alert(summary=summary))
    texts = shown(chunks)
    assert len(chunks) >= 3
    assert all(sent_length(text) <= MAX_CHUNK_UTF16 for text in texts)
    assert summary in "".join(texts)
    assert all(chunk.count("<blockquote>") == chunk.count("</blockquote>") for chunk in chunks)
    # cuts fall between words: every chunk but the last ends in whitespace
    assert all(text[-1].isspace() for text in texts[:-1])


def test_split_keeps_markup_balanced_and_text_identical() -> None:
    body = "word " * 900
    html = f"<b>head</b>\n<blockquote><i>{body}</i> <a href=\"https://x.org/?a=1&amp;b=2\">{body}</a></blockquote>"
    chunks = split_telegram_html(html, limit=1000)
    texts = shown(chunks)  # every chunk parses on its own: tags balanced
    assert "".join(texts) == plain_text(html)
    assert all(sent_length(t) <= 1000 for t in texts)
    link_chunks = [c for c in chunks if "<a " in c]
    assert all('href="https://x.org/?a=1&amp;b=2"' in c for c in link_chunks)


def test_emoji_count_double_and_grapheme_clusters_stay_whole() -> None:
    family = "👩‍👩‍👧"  # 3 emoji joined by ZWJ: 8 UTF-16 units
    html = "<b>" + family * 1500 + "</b>"
    chunks = split_telegram_html(html, limit=MAX_CHUNK_UTF16)
    texts = shown(chunks)
    assert all(utf16_len(t) <= MAX_CHUNK_UTF16 for t in texts)
    assert all(t.startswith("👩") and t.endswith("👧") for t in texts)
    assert "".join(texts) == family * 1500


def test_a_word_longer_than_a_chunk_is_cut_rather_than_lost() -> None:
    word = "ب" * 9000
    texts = shown(split_telegram_html(f"<code>{word}</code>"))
    assert [len(t) for t in texts] == [4000, 4000, 1000]


def test_template_markup_telegram_cannot_show_is_refused() -> None:
    with pytest.raises(TelegramMarkupError):
        split_telegram_html("<p>not a Telegram tag</p>")
    with pytest.raises(TelegramMarkupError):
        split_telegram_html("<b>unclosed")


# --- email ----------------------------------------------------------------------------------


def test_email_subject_carries_severity_event_subject_and_title_on_one_line() -> None:
    parts = render_email(make_alert())
    assert parts.subject == (
        "[CRITICAL] transfer: Saeed Masouri — Political prisoner moved to Ghezel Hesar"
    )
    update = render_email(make_alert(is_update=True, subject=None, title="a\r\nBcc: x@evil.org"))
    assert update.subject == "[CRITICAL] transfer — a Bcc: x@evil.org (update)"
    long = render_email(make_alert(title="x" * 500)).subject
    assert len(long) <= 200 and long.endswith("…")


def test_email_html_escapes_scraped_text_and_marks_its_direction() -> None:
    parts = render_email(make_alert(title=HOSTILE_TITLE, summary=PERSIAN_SENTENCE + "<img src=x>"))
    assert "<script>" not in parts.html and "<img" not in parts.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in parts.html
    assert re.search(r'<h3 dir="auto"[^>]*>', parts.html)
    assert '<p dir="auto">' + PERSIAN_SENTENCE.strip() in parts.html
    assert 'href="https://iran-hrm.com/x?a=1&amp;b=2"' in parts.html


def test_email_plain_part_is_readable_and_keeps_persian_intact() -> None:
    parts = render_email(make_alert(title=HOSTILE_TITLE, summary=PERSIAN_SENTENCE))
    assert HOSTILE_TITLE_SHOWN in parts.text
    assert PERSIAN_SENTENCE.strip() in parts.text
    assert "  https://www.hra-news.org/2024/a-1/" in parts.text
    assert "Evidence (the pages as fetched):\n  https://evidence.example.org/alerts/12" in parts.text
    assert "&lt;" not in parts.text.replace(HOSTILE_TITLE_SHOWN, "")


# --- digest and overflow --------------------------------------------------------------------


def _mixed_alerts() -> list[AlertView]:
    return [
        make_alert(id=1, severity="info", event_type="death_sentence", title="Sentence A"),
        make_alert(id=2, severity="critical", event_type="transfer", title="Transfer B"),
        make_alert(id=3, severity="warning", event_type="death_sentence", title="Sentence C"),
        make_alert(id=4, severity="info", event_type="death_sentence", title="Sentence D"),
    ]


def test_digest_groups_by_event_type_most_urgent_first_with_counts() -> None:
    view = DigestView(T0, T0 + timedelta(days=1), _mixed_alerts())
    [plain] = shown(render_telegram_digest(view))
    lines = plain.splitlines()
    assert lines[1] == "4 alerts: 1 critical, 1 warning, 2 info"
    headings = [line for line in lines if re.fullmatch(r"\w+ \(\d+\)", line)]
    assert headings == ["transfer (1)", "death_sentence (3)"]
    assert plain.index("Sentence C") < plain.index("Sentence A") < plain.index("Sentence D")

    email = render_digest(view)
    assert email.subject == (
        "[DIGEST] 4 alerts (1 critical, 1 warning, 2 info) "
        "2024-09-21 14:03 UTC – 2024-09-22 14:03 UTC"
    )
    assert "death_sentence (3)" in email.text and "death_sentence (3)" in email.html


def test_empty_digest_says_so() -> None:
    view = DigestView(T0, T0 + timedelta(days=1), [])
    assert "No alerts in this period." in shown(render_telegram_digest(view))[0]
    assert render_digest(view).subject.startswith("[DIGEST] 0 alerts ")


def test_overflow_folds_held_back_alerts_into_one_summary() -> None:
    held = [make_alert(id=i, title=f"Held {i}") for i in range(1, 41)]
    view = OverflowView("telegram-ops", held)
    chunks = render_telegram_overflow(view)
    [plain] = shown(chunks)
    assert plain.startswith("⏸ 40 alerts held back by the rate limit of \u2068telegram-ops\u2069")
    assert "Held 30" in plain and "Held 31" not in plain
    assert plain.endswith("…and 10 more.")
    email = render_overflow(view)
    assert email.subject == "[HELD BACK] 40 alerts over the rate limit of telegram-ops"
    assert "...and 10 more." in email.text


def test_empty_entity_slots_are_not_shown() -> None:
    alert = make_alert(entities={"prison_from": None, "prison_to": "Zahedan Prison", "count": None, "persons": []})
    for text in (render_email(alert).text, render_email(alert).html, "".join(render_telegram(alert))):
        assert "None" not in text and "prison_from" not in text and "persons" not in text
        assert "Zahedan Prison" in text
