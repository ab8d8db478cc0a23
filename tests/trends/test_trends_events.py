"""Counting events, not articles: reports from several outlets and languages merge into one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.trends.events import cluster, fold_location, fold_name, reports_from_rows
from storage.trends_repo import MatchRow

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "trends" / "dedup_cases.yaml")
                       .read_text(encoding="utf-8"))["cases"]
T0 = datetime(2025, 7, 20, 6, 0, tzinfo=UTC)
LANGS = {"hrana_fa": "fa", "kurdpa_fa": "fa"}


def row(index: int, spec: dict[str, Any], *, event_type: str = "execution", version: int = 1,
        item_id: int | None = None) -> MatchRow:
    entities = {"count": spec.get("count"), "prisons": spec.get("prisons", []),
                "places": spec.get("places", []), "persons": spec.get("persons", [])}
    copy_of = spec.get("copy_of")
    return MatchRow(match_id=index + 1, item_id=item_id or index + 100, item_version=version,
                    event_type=event_type, severity="warning", entities=entities, spans=[],
                    duplicate_of=copy_of + 100 if copy_of is not None else None, source_id=spec["source"],
                    source_tags=("rights",), url=f"http://127.0.0.1/{index}", title=f"report {index}",
                    lang=LANGS.get(spec["source"], "en"), at=T0 + timedelta(hours=spec["hours"]))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reports_merge_into_events(case: dict[str, Any]) -> None:
    reports = reports_from_rows(row(i, spec) for i, spec in enumerate(case["reports"]))
    events, contributions = cluster(reports, window=timedelta(days=3), max_count=60)
    assert len(events) == case["events"]
    assert sum(c.amount for c in contributions) == case["total"] == sum(e.count for e in events)


def test_each_report_adds_only_what_it_brings_on_its_own_day() -> None:
    reports = reports_from_rows([
        row(0, {"source": "hrana", "hours": 0, "prisons": ["Qezel Hesar"]}),
        row(1, {"source": "iranhrm", "hours": 30, "count": 6, "prisons": ["Qezel Hesar"]}),
        row(2, {"source": "hrana_fa", "hours": 40, "count": 6, "prisons": ["قزل‌حصار", "Qezel Hesar"]}),
    ])
    _, contributions = cluster(reports, window=timedelta(days=3), max_count=60)
    assert [(c.report.source_id, c.amount) for c in contributions] == [("hrana", 1), ("iranhrm", 5),
                                                                        ("hrana_fa", 0)]


def test_an_items_matches_of_one_type_are_one_report_from_its_latest_version() -> None:
    old = row(0, {"source": "hrana", "hours": 0, "count": 10, "prisons": ["Shiraz"]}, item_id=7, version=1)
    new_a = row(1, {"source": "hrana", "hours": 0, "count": 9, "prisons": ["Shiraz"]}, item_id=7, version=2)
    new_b = row(2, {"source": "hrana", "hours": 0, "places": ["Fars"], "persons": ["X Y"]}, item_id=7, version=2)
    other_type = row(3, {"source": "hrana", "hours": 0}, item_id=7, version=2, event_type="death_sentence")
    reports = reports_from_rows([old, new_a, new_b, other_type])
    assert [(r.event_type, r.count, r.prisons, r.places, r.persons) for r in reports] == [
        ("death_sentence", None, (), (), ()),
        ("execution", 9, ("Shiraz",), ("Fars",), ("X Y",)),
    ]


@pytest.mark.parametrize(("left", "right"), [
    ("Qezel Hesar Prison", "qezel-hesar"),
    ("زندان قزل‌حصار", "قزل حصار"),
    ("كرمانشاه", "کرمانشاه"),
])
def test_location_names_fold_across_spellings(left: str, right: str) -> None:
    assert fold_location(left) == fold_location(right)


def test_person_names_fold_arabic_letter_forms_and_zwnj() -> None:
    assert fold_name("سعيد ماسوري") == fold_name("سعید ماسوری")
    assert fold_name("Farshad Etemadi-Far") == fold_name("farshad etemadi far")
