"""Matching stored items in batches: one transaction a batch, and a bad item never costs the others."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from config.errors import MatchingError
from monitor.alerts.matching import process_pending
from monitor.rules import Document
from monitor.rules import Match as RuleMatch
from monitor.service.health import ServiceMetrics
from monitor.service.workers import MatchWorker
from storage.models import Alert, Item
from tests.alerts.test_alerts_harness import World, make_world


class PersonEngine:
    """Reports each article as a transfer of the person it names; an article saying POISON breaks it."""

    def match(self, document: Document) -> list[RuleMatch]:
        if "POISON" in document.text:
            raise ValueError("the rule engine choked on this article")
        person = document.text.split(" was moved")[0]
        return [RuleMatch(rule_id="transfer.rule", event="transfer", severity="warning", score=1.0,
                          entities={"persons": [person]}, spans=[], title_spans=[])]


def add_items(world: World, texts: list[str]) -> list[int]:
    source = world.source("hrana")
    with world.database.write() as session:
        items = [Item(source_id=source, url=f"https://hrana.example.org/{n}", title=f"Report {n}", text=text,
                      lang="en", fetched_at=world.clock.now,
                      content_sha256=hashlib.sha256(text.encode()).hexdigest()) for n, text in enumerate(texts)]
        session.add_all(items)
        session.flush()
        return [item.id for item in items]


def matched(world: World, ids: list[int]) -> list[bool]:
    with world.database.read() as session:
        items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(ids)))}
        return [items[i].matched_version >= items[i].version for i in ids]


TEXTS = [f"Person {n} was moved to Evin on day {n}." for n in range(6)]


def test_a_batch_matches_every_item_and_raises_one_alert_each(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ids = add_items(world, TEXTS)
    report = process_pending(world.database, PersonEngine(), world.config, batch=4)  # type: ignore[arg-type]
    assert report.items == 6 and report.matches == 6 and len(report.alerts_new) == 6
    assert matched(world, ids) == [True] * 6
    assert sorted(str(a.subject) for a in world.alerts()) == sorted(f"Person {n}" for n in range(6))


def test_an_item_that_breaks_matching_is_named_and_the_items_before_it_are_kept(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ids = add_items(world, [*TEXTS[:3], "POISON " + TEXTS[3], *TEXTS[4:]])
    with pytest.raises(MatchingError) as raised:
        process_pending(world.database, PersonEngine(), world.config, batch=10)  # type: ignore[arg-type]
    assert raised.value.item_id == ids[3] and f"item {ids[3]}" in str(raised.value)
    # the batch was redone one item per transaction: the three before the bad one are matched, with alerts
    assert matched(world, ids) == [True, True, True, False, False, False]
    assert len(world.alerts()) == 3
    # the ones after it are matched by the next call that leaves the bad one out
    report = process_pending(world.database, PersonEngine(), world.config,  # type: ignore[arg-type]
                             item_ids=ids[4:])
    assert report.items == 2 and matched(world, ids)[4:] == [True, True]


def test_the_service_sets_a_bad_item_aside_and_matches_the_rest(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ids = add_items(world, [*TEXTS[:2], "POISON " + TEXTS[2], *TEXTS[3:]])
    woken = threading.Event()
    service = SimpleNamespace(
        app=SimpleNamespace(database=world.database, rules=PersonEngine(), config=world.config),
        metrics=ServiceMetrics(), stop=threading.Event(),
        dispatcher=SimpleNamespace(wake=woken.set),
    )
    worker = MatchWorker(service)  # type: ignore[arg-type]
    worker.analyze = lambda: None  # type: ignore[method-assign]  # the early-warning pass is tested elsewhere
    worker.match(ids)
    assert matched(world, ids) == [True, True, False, True, True, True]
    assert woken.is_set()
    assert worker.pending_ids() == []  # the bad item stays pending in the database but is not retried forever
    with world.database.read() as session:
        assert session.scalar(select(Item.matched_version).where(Item.id == ids[2])) == 0
        assert len(session.scalars(select(Alert)).all()) == 5
