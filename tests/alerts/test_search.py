"""Item search on SQLite FTS5 and PostgreSQL full text: a query is read the way the rules read text (Arabic
ي/ك and Persian ی/ک, ZWNJ and spaces, Persian and ASCII digits are one), edits are searched in their new
version, and the hits are found again in the raw text for highlighting."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.alerts.search import excerpt, phrase_spans, query_phrases, search_items
from storage.db import Database
from storage.records import ItemRecord
from storage.repository import store_item, sync_source
from storage.search_repo import SearchFilters

ITEMS = [
    ("fa1", "fa", "صدور حکم اعدام برای سه زندانی", "دادگاه انقلاب اهواز کیفرخواست را پذیرفت و حکم صادر شد."),
    ("fa2", "fa", "انتقال يك عضو از زندان قزلحصار", "سعيد ماسوري به زندان زاهدان منتقل مي شود؛ محكوميت ۲۰ ساله."),
    ("fa3", "fa", "نتیجه والیبال", "تیم ملی والیبال می‌شود قهرمان."),
    ("en1", "en", "Nine prisoners executed", "Nine prisoners were executed in Qezel Hesar prison in 2025."),
    ("en2", "en", "Football transfer", "The club completes the transfer of a striker from Tehran."),
]


def _store(database: Database) -> dict[str, int]:
    ids = {}
    with database.write() as session:
        sync_source(session, source_id="s", kind="feed", name="S", url="http://127.0.0.1/", tags=[])
        for key, lang, title, text in ITEMS:
            result = store_item(session, ItemRecord(source_id="s", url=f"http://127.0.0.1/{key}", title=title,
                                                    text=text, lang=lang, fetched_at=datetime.now(UTC)))
            assert result.item_id is not None
            ids[key] = result.item_id
    return ids


CASES = [
    ("كيفرخواست", {"fa1"}),  # Arabic kaf and yeh find the Persian spelling
    ("محکومیت", {"fa2"}),  # and Persian letters find the Arabic spelling
    ("می شود", {"fa2", "fa3"}),  # a space and a ZWNJ are one (می‌شود, مي شود)
    ("۲۰", {"fa2"}),
    ("20", {"fa2"}),
    ("executed prison", {"en1"}),  # every word must occur
    ('"qezel hesar"', {"en1"}),
    ('"hesar qezel"', set()),  # a phrase keeps its order
    ("TRANSFER", {"en2"}),
    ('"unbalanced', set()),
    ("*", set()),
]


def test_search_reads_queries_as_the_rules_read_text(any_database: Database) -> None:
    ids = _store(any_database)
    found = {}
    with any_database.write() as session:
        for query, _ in CASES:
            result = search_items(session, query)
            assert result.total == len(result.items)
            found[query] = {key for key, item_id in ids.items() if item_id in {i.id for i in result.items}}
    assert found == dict(CASES)


def test_filters_and_the_index_follow_edits(any_database: Database) -> None:
    ids = _store(any_database)
    with any_database.write() as session:
        first = search_items(session, "زندان")
        assert first.indexed == len(ITEMS)
        assert [i.id for i in first.items] == [ids["fa2"]]  # whole words: زندانی is another word
        only_en = search_items(session, "prisoners", filters=SearchFilters(lang="fa"))
        assert only_en.total == 0
    with any_database.write() as session:  # the article is edited at its source: the new words are found
        store_item(session, ItemRecord(source_id="s", url="http://127.0.0.1/en2", title="Football transfer",
                                       text="The transfer was cancelled after protests.", lang="en",
                                       fetched_at=datetime.now(UTC)))
    with any_database.write() as session:
        again = search_items(session, "cancelled")
        assert again.indexed == 1 and [i.id for i in again.items] == [ids["en2"]]
        assert search_items(session, "striker").total == 0


def test_hits_are_highlighted_in_the_raw_text() -> None:
    text = "سعيد ماسوري به زندان زاهدان منتقل مي شود"
    phrases = query_phrases("زندان ماسوری")
    pieces = excerpt(text, phrase_spans(text, phrases))
    assert [p.text for p in pieces if p.hit] == ["ماسوري", "زندان"]  # as written, Arabic yeh and all
    assert "".join(p.text for p in pieces) == text
    assert phrase_spans("زندانیان", ["زندان"]) == []  # whole words only
