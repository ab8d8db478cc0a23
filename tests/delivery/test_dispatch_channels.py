"""The dispatcher through real channel stand-ins: a fake Telegram Bot API that validates like Telegram,
and a real aiosmtpd server. Subjects, parts, escaping, Persian text, 429/5xx/timeouts, long messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.delivery import notify
from monitor.delivery.channels.telegram import TELEGRAM_API_ENV, render_telegram
from monitor.delivery.compose import alert_view
from monitor.delivery.notify import SendResult
from storage.models import Alert, DeliveryAttempt
from tests.alerts.test_alerts_harness import World, make_world
from tests.support import HOSTILE_TITLE, PERSIAN_SENTENCE
from tests.support.fake_telegram import (  # noqa: F401 - fixture
    TELEGRAM_MAX_MESSAGE_UTF16,
    FakeTelegram,
    fake_telegram,
    parse_telegram_html,
    utf16_len,
)
from tests.support.smtp import SmtpServer, SmtpServerFactory, smtp_server, smtp_server_factory  # noqa: F401


@pytest.fixture
def telegram(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:  # noqa: F811
    monkeypatch.setenv(TELEGRAM_API_ENV, fake_telegram.url)
    return fake_telegram


def tg_world(tmp_path: Path, server: FakeTelegram, *, query: str = "", **alerts: object) -> World:
    world = make_world(tmp_path, channels={"tg": {"url": server.apprise_url + query}}, alerts=alerts)
    world.sender = notify.send  # type: ignore[assignment]
    return world


@pytest.fixture
def tg(tmp_path: Path, telegram: FakeTelegram) -> Iterator[World]:
    world = tg_world(tmp_path, telegram)
    yield world
    world.database.dispose()


def parts_of(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


# --- Telegram --------------------------------------------------------------------------------------


def test_hostile_scraped_text_reaches_telegram_harmlessly(tg: World, telegram: FakeTelegram) -> None:
    tg.report("hrana", persons=("Saeed Masouri",), severity="critical", title=HOSTILE_TITLE,
              text=PERSIAN_SENTENCE)
    report = tg.dispatch()
    assert len(report.sent) == 1 and report.retrying == []
    assert all(r.status == 200 for r in telegram.requests)
    [message] = telegram.messages
    assert message.parse_mode == "HTML"
    assert "<script>alert(1)</script>" in message.plain  # shown as text, never as markup
    assert "*bold* _it_ `code`" in message.plain
    assert "Saeed Masouri" in message.plain


def test_a_long_persian_alert_arrives_in_order_in_chunks_telegram_accepts(
    tg: World, telegram: FakeTelegram
) -> None:
    words = [f"واژه{n}" for n in range(2500)]
    tg.report("hrana", persons=("Saeed Masouri",), severity="critical", lang="fa", title=" ".join(words))
    assert len(tg.dispatch().sent) == 1
    texts = telegram.texts()
    assert len(texts) >= 4
    assert all(utf16_len(text) <= TELEGRAM_MAX_MESSAGE_UTF16 for text in texts)
    shown = " ".join(texts).split()
    positions = [shown.index(word) for word in words]
    assert positions == sorted(positions)  # every word, once, in order


def test_a_429_with_retry_after_is_honoured_mid_message_without_duplicate_chunks(
    tg: World, telegram: FakeTelegram
) -> None:
    tg.report("hrana", persons=("Saeed Masouri",), severity="critical",
              title=" ".join(f"word{n}" for n in range(2000)))

    def limited_on_second_chunk(url: str, **kwargs: str) -> SendResult:
        if len(telegram.messages) == 1 and not any(r.status == 429 for r in telegram.requests):
            telegram.rate_limit_next(1, retry_after=3)
        return notify.send(url, **kwargs)  # type: ignore[arg-type]

    start = tg.clock.now
    report = tg.dispatch(sender=limited_on_second_chunk)
    assert report.retrying and len(telegram.messages) == 1
    [delivery] = tg.deliveries()
    assert delivery.chunks_sent == 1 and delivery.next_attempt_at == start + timedelta(seconds=3)
    requests = len(telegram.requests)
    tg.clock.advance(seconds=1)
    assert tg.dispatch().sent == [] and len(telegram.requests) == requests  # nothing before 3 s
    tg.clock.advance(seconds=2)
    assert tg.dispatch().sent == [delivery.id]
    with tg.database.read() as session:
        view = alert_view(session, session.get_one(Alert, delivery.alert_id))
    expected = [parse_telegram_html(chunk).plain.strip() for chunk in render_telegram(view)]
    received = [text.replace("\r\n", "\n") for text in telegram.texts()]
    assert len(expected) >= 2 and received == expected  # every chunk once, in order


def test_server_errors_are_retried_until_the_alert_arrives_once(tg: World, telegram: FakeTelegram) -> None:
    tg.report("hrana", persons=("Saeed Masouri",), severity="critical")
    telegram.fail_next(2, status=502, description="Bad Gateway")
    for _ in range(3):
        tg.dispatch()
        tg.clock.advance(hours=1)
    assert len(telegram.messages) == 1
    with tg.database.read() as session:
        attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert [a.outcome for a in attempts] == ["failed", "failed", "sent"]
        assert "Bad Gateway" in (attempts[0].error or "")


def test_a_timeout_is_a_failed_attempt_and_the_retry_delivers(tmp_path: Path, telegram: FakeTelegram) -> None:
    world = tg_world(tmp_path, telegram, query="?rto=0.3")
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    telegram.stall_next(1)
    report = world.dispatch()
    telegram.release()
    assert report.retrying and "timed out" in (world.deliveries()[0].last_error or "")
    world.clock.advance(hours=1)
    assert len(world.dispatch().sent) == 1
    # The stalled request was still accepted after the client gave up: the one message a timeout may
    # duplicate (the documented at-most-once window). Never more.
    assert 1 <= len([m for m in telegram.messages if "Saeed Masouri" in m.plain]) <= 2


def test_a_message_telegram_rejects_becomes_a_dead_letter_with_telegrams_reason(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    world = tg_world(tmp_path, telegram, max_attempts=2)
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    telegram.fail_next(5, status=400, description="Bad Request: chat not found")
    for _ in range(2):
        world.dispatch()
        world.clock.advance(hours=2)
    [delivery] = world.deliveries()
    assert delivery.status == "dead" and "chat not found" in (delivery.last_error or "")
    assert telegram.token.split(":")[1] not in (delivery.last_error or "")


# --- email -----------------------------------------------------------------------------------------


def mail_world(tmp_path: Path, server: SmtpServer, **channel: object) -> World:
    world = make_world(tmp_path, channels={"mail": {"url": server.url(to="ops@example.org"), **channel}})
    world.sender = notify.send  # type: ignore[assignment]
    return world


def test_an_alert_email_has_a_telling_subject_both_parts_escaping_and_persian(
    tmp_path: Path, smtp_server: SmtpServer  # noqa: F811
) -> None:
    world = mail_world(tmp_path, smtp_server)
    world.report("hrana", event="transfer", persons=("Saeed Masouri",), severity="critical",
                 title="<script>alert(1)</script> انتقال & <b>", text=PERSIAN_SENTENCE, lang="fa")
    assert len(world.dispatch().sent) == 1
    [message] = smtp_server.messages
    subject = str(message["Subject"])
    assert subject.startswith("[CRITICAL] transfer: Saeed Masouri")
    parts = parts_of(message)
    html, text = parts["text/html"], parts["text/plain"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "انتقال" in html and "انتقال" in text and "انتقال" in subject
    assert "HRANA" in text and "https://hrana.example.org/a/1" in html


def test_a_digest_email_groups_alerts_by_event_with_counts(tmp_path: Path, smtp_server: SmtpServer) -> None:  # noqa: F811
    world = mail_world(tmp_path, smtp_server, digest="08:00")
    world.clock.now = world.clock.now.replace(hour=10)
    for person in ("Ali Younesi", "Amirhossein Moradi"):
        world.report("hrana", event="arrest", persons=(person,), severity="info")
    world.report("hrana", event="transfer", persons=("Saeed Masouri",), severity="warning")
    assert world.dispatch().sent == [] and smtp_server.messages == []
    world.clock.advance(days=1)
    assert len(world.dispatch().sent) == 1
    [message] = smtp_server.messages
    assert str(message["Subject"]).startswith("[DIGEST] 3 alerts")
    text = parts_of(message)["text/plain"]
    for name in ("Ali Younesi", "Amirhossein Moradi", "Saeed Masouri", "arrest", "transfer"):
        assert name in text


def test_a_temporarily_refusing_mail_server_gets_the_alert_once_later(
    tmp_path: Path, smtp_server: SmtpServer  # noqa: F811
) -> None:
    world = mail_world(tmp_path, smtp_server)
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    smtp_server.refuse_next(2, code=451)
    for _ in range(3):
        world.dispatch()
        world.clock.advance(hours=1)
    assert smtp_server.refused == 2 and len(smtp_server.messages) == 1


def test_implicit_tls_mail_with_an_app_password(
    tmp_path: Path, smtp_server_factory: SmtpServerFactory  # noqa: F811
) -> None:
    server = smtp_server_factory(tls="ssl", auth=("monitor@example.org", "abcd efgh ijkl mnop"))
    world = mail_world(tmp_path, server)
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    assert len(world.dispatch().sent) == 1
    [mail] = server.received
    assert mail.tls and mail.login == "monitor@example.org"
