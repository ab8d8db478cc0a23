"""Alert identity and lifecycle: one alert per event and subject, copies grouped, dismissals kept."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.errors import AlertError
from monitor.alerts.lifecycle import acknowledge, dismiss, dismissed_alerts, retry
from monitor.alerts.matching import process_pending
from monitor.alerts.operator import raise_operator_alert, resolve_operator_alert
from monitor.delivery.compose import alert_view
from monitor.rules import Document
from monitor.rules import Match as RuleMatch
from storage.models import Alert, Delivery, Item, Match
from tests.alerts.test_alerts_harness import World, make_world, world  # noqa: F401

MASOURI_EN = ("Political prisoner Saeed Masouri was transferred from Ghezel Hesar prison to an unknown location "
              "at dawn on Tuesday, his family said. Security agents gave no reason for the transfer and the "
              "family has not been able to reach him since then.")
MASOURI_FA = ("سعید ماسوری، زندانی سیاسی، سحرگاه سه‌شنبه از زندان قزل‌حصار به مکان نامعلومی منتقل شد. "
              "ماموران امنیتی دلیلی برای این انتقال اعلام نکردند و خانواده او از آن زمان خبری از او ندارند.")


def test_five_outlets_in_two_languages_make_one_alert_listing_five_sources(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Saeed Masouri",), text=MASOURI_EN + " HRANA.")
    world.report("iranhrm", persons=("Saeed Masouri",), title="Masouri moved", text="Masouri moved at dawn today.")
    world.report("radiofarda", persons=("Saeed Masouri",), lang="fa", text=MASOURI_FA)
    world.report("bbcpersian", persons=("saeed  MASOURI",), lang="fa", title="انتقال", text="خبر کوتاه انتقال.")
    world.report("amnesty", persons=("Saeed Masouri",), text="Amnesty International is alarmed by the transfer.")

    [alert] = world.alerts()
    assert first.created and alert.id == first.alert_id
    assert alert.subject == "Saeed Masouri" and alert.state == "updated"
    with world.database.read() as session:
        view = alert_view(session, session.get_one(Alert, alert.id))
    assert [s.name for s in view.sources] == ["HRANA", "IRANHRM", "RADIOFARDA", "BBCPERSIAN", "AMNESTY"]
    assert {s.lang for s in view.sources} == {"en", "fa"}


def test_a_later_more_severe_event_about_the_same_person_is_a_new_alert(world: World) -> None:  # noqa: F811
    transfer = world.report("hrana", persons=("Saeed Masouri",), severity="warning")
    world.clock.advance(days=1)
    worse = world.report("hrana", persons=("Saeed Masouri",), severity="critical", rule="transfer.solitary")
    sentence = world.report("iranhrm", event="death_sentence", persons=("Saeed Masouri",), severity="critical")
    world.clock.advance(hours=1)
    again = world.report("amnesty", persons=("Saeed Masouri",), severity="warning")

    assert worse.created and worse.alert_id != transfer.alert_id
    assert sentence.created and sentence.alert_id not in (transfer.alert_id, worse.alert_id)
    assert again.alert_id == worse.alert_id and not again.created  # the escalated alert takes later reports
    with world.database.read() as session:
        assert session.get_one(Alert, worse.alert_id).details["escalates"] == transfer.alert_id


def test_the_same_person_outside_the_dedup_window_is_a_new_alert(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Saeed Masouri",))
    world.clock.advance(days=30)
    later = world.report("hrana", persons=("Saeed Masouri",))
    assert later.created and later.alert_id != first.alert_id


def test_a_group_report_joins_the_alert_of_any_person_it_names(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Zeinab Jalalian",))
    group = world.report("iranhrm", persons=("Pakhshan Azizi", "Zeinab Jalalian", "Varisheh Moradi"))
    assert group.alert_id == first.alert_id and not group.created


def test_syndicated_copies_are_listed_but_not_realerted(world: World) -> None:  # noqa: F811
    world.report("hrana", persons=("Saeed Masouri",), title="Masouri transferred", text=MASOURI_EN)
    copy = world.report("kurdpa", persons=("Saeed Masouri",), title="BREAKING: Masouri transferred",
                        text="Reposted from HRANA. " + MASOURI_EN + " Share this story.")
    [alert] = world.alerts()
    assert copy.alert_id == alert.id and not copy.changed
    assert alert.revision == 1 and alert.state == "new"
    assert {d.kind for d in world.deliveries()} == {"new"}  # no update message for a copy
    with world.database.read() as session:
        copies = session.scalars(select(Match.duplicate_of_item_id).where(Match.alert_id == alert.id)).all()
        view = alert_view(session, session.get_one(Alert, alert.id))
    assert sorted(c is not None for c in copies) == [False, True]
    assert view.sources[1].name == "KURDPA (same text as HRANA)"


def test_copies_of_an_article_naming_no_one_fold_into_one_alert(world: World) -> None:  # noqa: F811
    text = ("State television broadcast a programme calling for the repetition of the executions of the "
            "summer of 1988 and describing political prisoners as enemies who deserve the same fate.")
    first = world.report("irna", event="rhetoric", severity="critical", entities={}, text=text)
    copy = world.report("tasnim", event="rhetoric", severity="critical", entities={},
                        text=text + " Read more on our website.")
    other = world.report("fars", event="rhetoric", severity="critical", entities={},
                         text="A cleric said that the judiciary must act decisively against rioters this week.")
    assert copy.alert_id == first.alert_id and not copy.changed
    assert other.created and other.alert_id != first.alert_id


def test_the_same_article_matched_again_is_not_news(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Saeed Masouri",), url="https://hrana.example.org/a/x")
    with world.database.write() as session:
        item = session.scalars(select(Item)).one()
        match = Match(item_id=item.id, item_version=2, rule_id="transfer.rule", event_type="transfer",
                      severity="warning", entities={"persons": ["Saeed Masouri"]})
        session.add(match)
        session.flush()
        from monitor.alerts.folding import fold_match
        again = fold_match(session, match, item, world.config)
    assert again.alert_id == first.alert_id and not again.changed
    assert len(world.deliveries()) == len(world.deliveries(alert_id=first.alert_id))


class PeopleEngine:
    """Stands in for the rules engine: every item names one of three people (``.match(doc)``)."""

    people = ("Saeed Masouri", "Zeinab Jalalian", "Ahmadreza Djalali")

    def match(self, document: Document) -> list[RuleMatch]:
        person = next(p for p in self.people if p in document.text)
        return [RuleMatch(rule_id="transfer.rule", event="transfer", severity="warning", score=1.0,
                          entities={"persons": [person], "prisons": ["Evin"]}, spans=[], title_spans=[])]


def test_a_thousand_matches_about_three_people_in_one_crawl_make_three_alerts(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    people = PeopleEngine.people
    sources = [w.source(f"site{n}") for n in range(40)]
    with w.database.write() as session:
        for n in range(1000):
            source = sources[n % 40]
            text = f"Report {n}: {people[n % 3]} was moved on day {n} with wording variant {n * 7919}."
            session.add(Item(source_id=source, url=f"https://{source}.example.org/{n}", title=f"Report {n}",
                             text=text, lang="en", fetched_at=w.clock.now,
                             content_sha256=hashlib.sha256(text.encode()).hexdigest()))
    report = process_pending(w.database, PeopleEngine(), w.config)  # type: ignore[arg-type]
    assert report.items == 1000 and report.matches == 1000 and len(report.alerts_new) == 3
    alerts = w.alerts()
    assert sorted(str(a.subject) for a in alerts) == sorted(people)
    with w.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Match).where(Match.alert_id.is_(None))) == 0
        kinds = session.execute(select(Delivery.channel, Delivery.kind)).all()
    # one message per channel per alert: later sources join the message still waiting to be sent
    assert sorted(kinds) == sorted([("mail", "new"), ("tg", "new")] * 3)


def test_updates_go_only_to_channels_that_want_them(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Saeed Masouri",))
    world.dispatch()
    world.report("iranhrm", persons=("Saeed Masouri",))
    rows = world.deliveries(alert_id=first.alert_id)
    assert sorted((d.channel, d.kind, d.revision) for d in rows) == [("mail", "new", 1), ("tg", "new", 1),
                                                                       ("tg", "update", 2)]


def test_a_channel_that_never_saw_an_alert_gets_it_as_new_when_a_source_it_wants_joins(
    tmp_path: Path,
) -> None:
    w = make_world(tmp_path, channels={"farsi": {"url": "json://127.0.0.1:9/", "languages": ["fa"]}})
    first = w.report("iranhrm", persons=("Saeed Masouri",), lang="en")
    assert w.deliveries() == []
    w.report("radiofarda", persons=("Saeed Masouri",), lang="fa", text=MASOURI_FA)
    [delivery] = w.deliveries(alert_id=first.alert_id)
    assert (delivery.channel, delivery.kind) == ("farsi", "new")


def test_a_source_joining_before_the_message_went_out_needs_no_second_message(world: World) -> None:  # noqa: F811
    world.report("hrana", persons=("Saeed Masouri",), severity="critical", title="First outlet")
    world.report("iranhrm", persons=("Saeed Masouri",), severity="critical", title="Second outlet")
    assert [d.kind for d in world.deliveries(channel="tg")] == ["new"]
    world.dispatch()
    [message] = [s for s in world.sender.sent if s.url.startswith("tgram")]
    assert "First outlet" in message.body and "Second outlet" in message.body


def test_a_crash_in_the_transaction_leaves_no_match_alert_or_delivery(world: World) -> None:  # noqa: F811
    class Crash(Exception):
        pass

    with pytest.raises(Crash), world.database.write() as session:
        item = Item(source_id=world.source("hrana"), url="https://x.example.org/1", title="t", text="x",
                    content_sha256="0" * 64, fetched_at=world.clock.now)
        session.add(item)
        session.flush()
        match = Match(item_id=item.id, rule_id="r", event_type="transfer", severity="critical",
                      entities={"persons": ["A"]})
        session.add(match)
        session.flush()
        from monitor.alerts.folding import fold_match
        fold_match(session, match, item, world.config)
        raise Crash
    with world.database.read() as session:
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Match, Alert, Delivery)]
    assert counts == [0, 0, 0]


# --- lifecycle -------------------------------------------------------------------------------------


def test_acknowledge_keeps_updates_flowing(world: World) -> None:  # noqa: F811
    first = world.report("hrana", persons=("Saeed Masouri",))
    world.dispatch()
    with world.database.write() as session:
        acknowledge(session, first.alert_id)
    later = world.report("iranhrm", persons=("Saeed Masouri",))
    [alert] = world.alerts()
    assert alert.state == "acknowledged" and alert.acknowledged_at is not None
    assert later.changed and [d.kind for d in world.deliveries(channel="tg")] == ["new", "update"]


def test_dismissal_needs_a_reason_cancels_unsent_messages_and_is_kept_for_the_backtest(
    world: World,  # noqa: F811
) -> None:
    first = world.report("hrana", persons=("Saeed Masouri",), rule="transfer.loose")
    with world.database.write() as session, pytest.raises(AlertError, match="--reason"):
        dismiss(session, first.alert_id, reason="   ")
    with world.database.write() as session:
        dismiss(session, first.alert_id, reason="old news  from 2019")
    later = world.report("iranhrm", persons=("Saeed Masouri",), rule="transfer.strict")
    assert later.alert_id == first.alert_id and not later.changed  # joins silently, no new message
    assert {d.status for d in world.deliveries()} == {"skipped"}
    with world.database.read() as session:
        [dismissed] = dismissed_alerts(session)
    assert dismissed.reason == "old news from 2019"
    assert dismissed.rule_ids == {"transfer.loose", "transfer.strict"}
    assert len(dismissed.item_ids) == 2 and all(m.item_version == 1 for m in dismissed.matches)
    with world.database.write() as session, pytest.raises(AlertError, match="dismissed"):
        acknowledge(session, first.alert_id)


def test_actions_on_an_unknown_alert_say_so(world: World) -> None:  # noqa: F811
    with world.database.write() as session:
        for action in (lambda: acknowledge(session, 99), lambda: dismiss(session, 99, reason="x"),
                       lambda: retry(session, 99)):
            with pytest.raises(AlertError, match="no alert 99"):
                action()


# --- operator alerts -------------------------------------------------------------------------------


def test_operator_alerts_go_to_the_operator_channel_once_while_open(tmp_path: Path) -> None:
    channels = {"ops": {"url": "json://127.0.0.1:9/", "min_severity": "critical"},
                "public": {"url": "json://127.0.0.1:9/"}}
    w = make_world(tmp_path, channels=channels, operator_channel="ops")
    with w.database.write() as session:
        first = raise_operator_alert(session, w.config, key="source:hrana:unhealthy",
                                     title="HRANA failed 3 times", summary="HTTP 503 three runs in a row")
        again = raise_operator_alert(session, w.config, key="source:hrana:unhealthy",
                                     title="HRANA failed 4 times", summary="HTTP 503 four runs in a row")
    assert first.created and again.alert_id == first.alert_id and not again.created
    assert [(d.channel, d.kind) for d in w.deliveries()] == [("ops", "new")]  # severity filter bypassed
    with w.database.write() as session:
        assert resolve_operator_alert(session, key="source:hrana:unhealthy")
        relapse = raise_operator_alert(session, w.config, key="source:hrana:unhealthy",
                                       title="HRANA failing again", summary="timeout")
        alert = session.get_one(Alert, first.alert_id)
        assert (alert.title, alert.state) == ("HRANA failed 4 times", "acknowledged")
    assert relapse.created and relapse.alert_id != first.alert_id
    assert [d.channel for d in w.deliveries()] == ["ops", "ops"]


def test_operator_alert_without_an_operator_channel_is_stored_not_sent(world: World) -> None:  # noqa: F811
    with world.database.write() as session:
        decision = raise_operator_alert(session, world.config, key="config", title="bad rules file",
                                        summary="rules/x.yaml:3:1: ...")
    assert decision.created and world.deliveries() == []


def test_dedup_window_setting_is_honoured(tmp_path: Path) -> None:
    w = make_world(tmp_path, alerts={"dedup_window": "1d"})
    first = w.report("hrana", persons=("A B",))
    w.clock.advance(hours=20)
    assert w.report("x", persons=("A B",)).alert_id == first.alert_id
    w.clock.advance(days=3)
    assert w.report("y", persons=("A B",)).created
    assert w.clock.now - w.alerts()[0].last_seen_at > timedelta(days=1)
