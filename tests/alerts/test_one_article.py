"""One article, one alert per event: overlapping rules and watchlist hits fold into the event's alert.

The articles are real passages from the tuning part of the corpus (tests/data/corpus/tuning.jsonl), matched
by the packaged default rules and sent through the real dispatcher to the harness's channels.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from config.loader import DEFAULTS_DIR, load_config
from monitor.alerts.matching import process_pending
from monitor.rules import RuleEngine
from storage.models import Alert, Item, Match
from tests.alerts.test_alerts_harness import World, make_world

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "tuning.jsonl"


def passage(passage_id: str) -> dict[str, str]:
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == passage_id:
            return row
    raise AssertionError(f"{passage_id} is not in {CORPUS}")


def store(world: World, row: dict[str, str]) -> int:
    source = world.source("amnesty")
    with world.database.write() as session:
        item = Item(source_id=source, url=row["url"], title=row.get("title") or "", text=row["text"],
                    lang=row["lang"], fetched_at=world.clock.now, published_at=world.clock.now,
                    content_sha256=hashlib.sha256(row["text"].encode()).hexdigest())
        session.add(item)
        session.flush()
        return item.id


def match_all(world: World) -> None:
    defaults = load_config(DEFAULTS_DIR)  # the packaged rules and watchlists; the world's settings
    engine = RuleEngine.load(defaults.rule_files, defaults.watchlist_files)
    process_pending(world.database, engine, world.config)


def matches(world: World) -> list[Match]:
    with world.database.read() as session:
        found = list(session.scalars(select(Match).order_by(Match.id)))
        session.expunge_all()
        return found


def test_a_transfer_naming_a_watched_prisoner_sends_one_message(tmp_path: Path) -> None:
    # d0138: Djalali (on the default watchlist) moved to solitary, then to Raja'i Shahr "for the implementation
    # of his sentence": transfer.pre_execution, transfer.forced and watchlist.person_mentioned all fire.
    world = make_world(tmp_path)
    store(world, passage("d0138"))
    match_all(world)

    rules = {m.rule_id: m for m in matches(world)}
    assert set(rules) == {"transfer.pre_execution", "transfer.forced", "watchlist.person_mentioned"}
    [alert] = world.alerts()
    assert alert.event_type == "transfer" and alert.severity == "critical"
    assert {m.alert_id for m in rules.values()} == {alert.id}  # every match is kept, under the one alert
    assert alert.details["facets"] == ["watchlist.person_mentioned"]
    assert alert.details["entities"]["watchlist"] == ["Ahmadreza Djalali"]

    world.clock.now = datetime.now(UTC)  # matching queued the deliveries on the real clock
    world.dispatch()
    assert len(world.sender.sent) == 2  # one message per channel (tg and mail), not one per rule
    assert all("Ahmadreza Djalali" in body for body in world.sender.bodies())


def test_a_watchlist_hit_alone_still_raises_its_own_alert(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    store(world, {"url": "https://example.org/letter", "lang": "en", "title": "",
                  "text": "A letter from Behrooz Ehsani was published on Monday."})  # the rule's own example
    match_all(world)
    [alert] = world.alerts()
    assert alert.event_type == "watchlist" and alert.subject == "Behrouz Ehsani"


def test_facets_are_configurable(tmp_path: Path) -> None:
    # With no facets, the watchlist hit in d0151 (an upheld death sentence) raises its own alert again.
    world = make_world(tmp_path, alerts={"facets": []})
    store(world, passage("d0151"))
    match_all(world)
    assert sorted(a.event_type for a in world.alerts()) == ["death_sentence", "watchlist"]


def test_different_events_in_one_article_stay_separate_alerts(tmp_path: Path) -> None:
    # d0035: a prisoner moved for execution is both a transfer and an execution risk: two events, two alerts.
    world = make_world(tmp_path)
    store(world, passage("d0035"))
    match_all(world)
    with world.database.read() as session:
        events = sorted(session.scalars(select(Alert.event_type).where(Alert.kind == "event")))
    assert events == ["execution_risk", "transfer"]
    assert len({m.alert_id for m in matches(world)}) == 2
