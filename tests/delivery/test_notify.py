"""The Apprise wrapper without a server: URL validation, redaction, and failures as results."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from monitor.delivery import notify
from monitor.delivery.channels.telegram import TELEGRAM_API_ENV
from monitor.delivery.notify import SendResult, redact, send, validate_channel_url

TOKEN = "987654321:AAHsecretSECRETsecretSECRETsecret_xyz"
PASSWORD = "hunter2-pässword"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("nonsense", "not an Apprise URL"),
        ("foo://bar", "unknown scheme foo://"),
        ("tgram://not-a-token/123", "Apprise rejected this tgram:// URL"),
        (f"tgram://{TOKEN}", "no chat id"),
        ("mailto://user:pw@mail.example.org:465?to=a@example.org", "use mailtos://…:465?mode=ssl"),
        ("mailtos://user:pw@mail.example.org:465?mode=starttls&to=a@example.org", "?mode=ssl"),
        ("mailtos://user:pw@mail.example.org:587?mode=ssl&to=a@example.org", "?mode=starttls"),
        ("mailto://user:pw@mail.example.org?to=a@example.org", "password unencrypted"),
    ],
    ids=[
        "no-scheme", "unknown-scheme", "bad-token", "no-chat", "mailto-465", "starttls-465",
        "ssl-587", "plaintext-password",
    ],
)
def test_unusable_channel_urls_are_explained(url: str, complaint: str) -> None:
    problem = validate_channel_url(url)
    assert problem is not None and complaint in problem


@pytest.mark.parametrize(
    "url",
    [
        f"tgram://{TOKEN}/-1001234567890",
        "mailtos://user:pw@mail.example.org:465?mode=ssl&to=a@example.org",
        "mailtos://user:pw@mail.example.org?to=a@example.org",
        "mailto://127.0.0.1:2525?from=t@example.org&to=a@example.org",
        "json://hooks.example.org/tocsin",
    ],
)
def test_usable_channel_urls_pass(url: str) -> None:
    assert validate_channel_url(url) is None


def test_mailto_465_is_refused_before_anything_is_sent() -> None:
    result = send(
        f"mailto://user:{PASSWORD}@mail.example.org:465?to=a@example.org",
        title="t", body="b", body_format="text",
    )
    assert result.ok is False
    assert result.error is not None and "mode=ssl" in result.error
    assert PASSWORD not in result.error


def test_redact_hides_tokens_and_passwords() -> None:
    assert TOKEN not in redact(f"tgram://{TOKEN}/42")
    assert TOKEN.split(":")[1] not in redact(f"tgram://{TOKEN}/42")
    hidden = redact(f"mailtos://user:{PASSWORD}@mail.example.org?to=a@example.org")
    assert hidden.startswith("mailtos://user:****@mail.example.org")
    assert "pässword" not in hidden and "p%C3%A4ssword" not in hidden
    assert redact("::garbage::") == "?://****"


def test_unknown_body_format_is_a_failed_result() -> None:
    assert send("json://localhost", title="", body="x", body_format="rtf") == SendResult(
        False, "unknown body_format 'rtf'"
    )


def test_connection_error_is_a_result_without_the_token(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(TELEGRAM_API_ENV, f"http://127.0.0.1:{closed_port}")
    caplog.set_level(logging.DEBUG)
    result = send(f"tgram://{TOKEN}/42", title="", body="hello", body_format="html")
    assert result.ok is False and result.retry_after is None
    assert result.error is not None and "connection error" in result.error
    assert "Connection refused" in result.error
    secret = TOKEN.split(":")[1]
    assert secret not in result.error
    # Apprise's own records are re-logged, scrubbed: the POST URL shows ****, never the token.
    assert "/bot****/sendMessage" in caplog.text
    assert secret not in caplog.text


def test_a_bad_telegram_api_setting_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TELEGRAM_API_ENV, "ftp://example.org")
    result = send(f"tgram://{TOKEN}/42", title="", body="hello", body_format="html")
    assert result.ok is False
    assert result.error is not None and TELEGRAM_API_ENV in result.error


def test_scrub_masks_bot_tokens_even_from_urls_never_seen() -> None:
    other = "1122334455:AAAnotherTokenNeverRegisteredAnywhere0"
    assert notify.scrub(f"POST /bot{other}/sendMessage") == "POST /bot****/sendMessage"
