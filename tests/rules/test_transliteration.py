"""One watchlist entry finds the spellings Persian names take in English and Persian text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import Document
from monitor.rules.variants import name_variants, word_variants
from tests.rules.conftest import DATA, EngineFactory

ENTRIES = yaml.safe_load((DATA / "transliteration.yaml").read_text(encoding="utf-8"))["entries"]


def _params(key: str, expected: bool) -> list[Any]:
    return [
        pytest.param(entry, text, expected, id=f"{entry['name']}|{text}")
        for entry in ENTRIES
        for text in entry[key]
    ]


@pytest.mark.parametrize(
    ("entry", "text", "expected"), _params("finds", True) + _params("misses", False)
)
def test_watchlist_spellings(
    make_engine: EngineFactory, entry: dict[str, Any], text: str, expected: bool
) -> None:
    kind = entry.get("kind", "person")
    watchlists = yaml.safe_dump(
        {
            "lists": [
                {
                    "id": "watched",
                    "kind": kind,
                    "entries": [{"name": entry["name"], "aliases": entry["aliases"]}],
                }
            ]
        },
        allow_unicode=True,
    )
    engine = make_engine(
        """
        rules:
          - {id: watched, event: watchlist, severity: info, within: document, query: '@watched'}
        """,
        watchlists,
    )
    matches = engine.match(Document(id="1", text=text))
    assert bool(matches) is expected
    if expected:
        slot = "persons" if kind == "person" else "prisons"
        assert matches[0].entities[slot] == [entry["name"]]


@pytest.mark.parametrize(
    ("word", "spellings"),
    [
        ("behrouz", {"behrooz", "behruz"}),
        ("qezel", {"ghezel"}),
        ("hesar", {"hessar"}),
        ("hessar", {"hesar"}),
        ("mohammad", {"mohamad"}),
        ("saeed", {"saeid"}),
    ],
)
def test_word_variants(word: str, spellings: set[str]) -> None:
    assert spellings <= set(word_variants(word))


def test_name_variants_cover_both_orders_and_stay_bounded() -> None:
    variants = name_variants("behrouz ehsani")
    assert variants[0] == "behrouz ehsani"
    assert {"ehsani behrouz", "ehsani, behrouz", "behrooz ehsani"} <= set(variants)
    assert len(name_variants("qezel hesar central prison of karaj")) <= 96
