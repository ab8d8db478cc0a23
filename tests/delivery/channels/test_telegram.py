"""Rendered alerts sent through Apprise to the fake Bot API, which validates like Telegram."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from monitor.delivery.channels.telegram import TELEGRAM_API_ENV, render_telegram
from monitor.delivery.notify import SendResult, send
from monitor.messages import AlertView
from tests.support import HOSTILE_TITLE, HOSTILE_TITLE_SHOWN, PERSIAN_SENTENCE, sample_alert
from tests.support.fake_telegram import (  # noqa: F401 - fixture
    FakeTelegram,
    fake_telegram,
    parse_telegram_html,
)

SECRET = FakeTelegram.token.split(":")[1]


@pytest.fixture
def telegram(
    fake_telegram: FakeTelegram,  # noqa: F811 - the imported fixture
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FakeTelegram]:
    """The fake server, with Tocsin's Telegram traffic pointed at it."""
    monkeypatch.setenv(TELEGRAM_API_ENV, fake_telegram.url)
    yield fake_telegram


def send_alert(server: FakeTelegram, alert: AlertView, *, query: str = "") -> list[SendResult]:
    return [
        send(server.apprise_url + query, title="", body=chunk, body_format="html")
        for chunk in render_telegram(alert)
    ]


def received(server: FakeTelegram) -> list[str]:
    """What the chat shows, with Apprise's CRLF line breaks read as plain newlines."""
    return [text.replace("\r\n", "\n") for text in server.texts()]


def test_hostile_title_is_accepted_and_shown_literally(telegram: FakeTelegram) -> None:
    results = send_alert(telegram, sample_alert(title=HOSTILE_TITLE))
    assert results == [SendResult(True)]
    [message] = telegram.messages
    assert message.parse_mode == "HTML" and message.chat_id == telegram.chat_id
    assert message.plain.replace("\r\n", "\n").splitlines()[2] == HOSTILE_TITLE_SHOWN
    assert message.links[-1] == "https://evidence.example.org/alerts/12"


def test_long_persian_alert_arrives_as_ordered_chunks_that_rejoin(telegram: FakeTelegram) -> None:
    summary = (PERSIAN_SENTENCE * 80)[:10_000].strip()
    chunks = render_telegram(sample_alert(summary=summary))
    results = [send(telegram.apprise_url, title="", body=c, body_format="html") for c in chunks]
    assert all(r.ok for r in results) and len(chunks) >= 3
    # Telegram (and Apprise) trim each message's edges; the words all arrive, in order.
    assert received(telegram) == [parse_telegram_html(c).plain.strip() for c in chunks]
    assert " ".join(summary.split()) in " ".join(" ".join(received(telegram)).split())


def test_rate_limit_returns_retry_after_and_sends_nothing(telegram: FakeTelegram) -> None:
    telegram.rate_limit_next(1, retry_after=3)
    result = send(telegram.apprise_url, title="", body="<b>alert</b>", body_format="html")
    assert (result.ok, result.retry_after) == (False, 3.0)
    assert result.error is not None and "429" in result.error
    assert telegram.messages == []
    assert send(telegram.apprise_url, title="", body="again", body_format="html").ok
    assert telegram.texts() == ["again"]


def test_server_error_is_a_useful_result_without_the_token(telegram: FakeTelegram) -> None:
    telegram.fail_next(1, status=500, description="Internal Server Error")
    result = send(telegram.apprise_url, title="", body="x", body_format="html")
    assert result.ok is False and result.retry_after is None
    assert result.error is not None
    assert "Internal Server Error" in result.error and "500" in result.error
    assert SECRET not in result.error and telegram.token not in result.error


def test_apprise_never_retries_even_when_the_url_asks(telegram: FakeTelegram) -> None:
    telegram.fail_next(5)
    result = send(telegram.apprise_url + "?retry=3&wait=0", title="", body="x", body_format="html")
    assert result.ok is False
    assert len(telegram.requests) == 1


def test_apprise_never_splits_our_chunk_even_when_the_url_asks(telegram: FakeTelegram) -> None:
    # 3,900 characters shown but 19,500 characters of markup: Apprise's own splitter would cut it.
    body = "&amp;" * 3_900
    result = send(telegram.apprise_url + "?overflow=split", title="", body=body, body_format="html")
    assert result.ok
    assert telegram.texts() == ["&" * 3_900]


def test_a_read_timeout_is_a_failed_result(telegram: FakeTelegram) -> None:
    telegram.stall_next(1)
    result = send(telegram.apprise_url + "?rto=0.3", title="", body="x", body_format="html")
    telegram.release()
    assert result.ok is False
    assert result.error is not None and "Read timed out" in result.error


def test_a_message_telegram_rejects_reports_telegrams_reason(telegram: FakeTelegram) -> None:
    result = send(telegram.apprise_url, title="", body="x" * 5_000, body_format="text")
    assert result.ok is False
    assert result.error is not None and "message is too long" in result.error


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<p>x</p>", "Unsupported start tag"),
        ("<b>x", "Can't find end tag"),
        ("<b>x</i>", "Unmatched end tag"),
        ("fish & chips", "Can't find end of the entity"),
        ("a&nbsp;b", "Unsupported HTML entity"),
        ("x" * 4_097, "message is too long"),
        ("🚨" * 2_049, "message is too long"),
    ],
    ids=["p", "unclosed", "crossed", "bare-amp", "nbsp", "4097-chars", "emoji-4098-units"],
)
def test_the_fake_rejects_what_telegram_rejects(
    telegram: FakeTelegram, text: str, reason: str
) -> None:
    """Acceptance by the fake means something only if it is as strict as Telegram."""
    request = urllib.request.Request(
        f"{telegram.url}/bot{telegram.token}/sendMessage",
        data=json.dumps({"chat_id": 1, "text": text, "parse_mode": "HTML"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 400
    assert reason in json.loads(raised.value.read())["description"]
    assert telegram.messages == []
