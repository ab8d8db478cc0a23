"""Rendered alerts sent through Apprise to a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app as cli_app
from monitor.delivery.notify import send, validate_channel_url
from monitor.messages import render_email
from tests.alerts.test_alerts_harness import make_world
from tests.support import HOSTILE_TITLE, HOSTILE_TITLE_SHOWN, PERSIAN_SENTENCE, sample_alert
from tests.support.smtp import (  # noqa: F401 - fixtures
    SmtpServer,
    SmtpServerFactory,
    smtp_server,
    smtp_server_factory,
)

PASSWORD = "s3cret-pw"


def parts_of(message: EmailMessage) -> dict[str, str]:
    """The decoded text of each leaf part, by content type."""
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def send_email(url: str, *, title: str = HOSTILE_TITLE, summary: str = PERSIAN_SENTENCE) -> bool:
    parts = render_email(sample_alert(title=title, summary=summary))
    return send(url, title=parts.subject, body=parts.html, body_format="html").ok


def test_alert_email_has_subject_text_and_html_parts(smtp_server: SmtpServer) -> None:  # noqa: F811
    expected = render_email(sample_alert(title=HOSTILE_TITLE, summary=PERSIAN_SENTENCE))
    assert send_email(smtp_server.url(to="ops@example.org"))
    [mail] = smtp_server.received
    message = mail.message
    assert mail.rcpt_tos == ("ops@example.org",)
    assert message["Subject"] == expected.subject  # Persian and symbols survive header encoding
    assert message.get_content_type() == "multipart/alternative"
    parts = parts_of(message)
    html, text = parts["text/html"], parts["text/plain"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert 'dir="auto"' in html
    assert PERSIAN_SENTENCE.strip() in html
    assert HOSTILE_TITLE_SHOWN in text  # the plain part shows the literal characters
    assert PERSIAN_SENTENCE.strip() in text


def test_two_emails_in_a_row_both_arrive_in_order(smtp_server: SmtpServer) -> None:  # noqa: F811
    url = smtp_server.url()
    assert send_email(url, title="first")
    assert send_email(url, title="second")
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert [s.rsplit(" — ", 1)[1] for s in subjects] == ["first", "second"]


@pytest.mark.parametrize("code", [451, 554])
def test_a_refused_message_is_a_failed_result(smtp_server: SmtpServer, code: int) -> None:  # noqa: F811
    smtp_server.refuse_next(1, code=code)
    parts = render_email(sample_alert())
    result = send(smtp_server.url(), title=parts.subject, body=parts.html, body_format="html")
    assert result.ok is False and result.retry_after is None
    assert result.error is not None and str(code) in result.error
    assert smtp_server.messages == [] and smtp_server.refused == 1


def test_mailto_on_port_465_is_rejected_with_the_fix() -> None:
    problem = validate_channel_url(f"mailto://tocsin:{PASSWORD}@mail.example.org:465?to=a@b.org")
    assert problem is not None
    assert "mailtos://" in problem and "mode=ssl" in problem
    assert PASSWORD not in problem


def test_starttls_with_auth_delivers(smtp_server_factory: SmtpServerFactory) -> None:  # noqa: F811
    server = smtp_server_factory(auth=("tocsin", PASSWORD), tls="starttls")
    assert validate_channel_url(server.url()) is None
    assert send_email(server.url())
    [mail] = server.received
    assert (mail.tls, mail.login) == (True, "tocsin")


def test_implicit_tls_delivers(smtp_server_factory: SmtpServerFactory) -> None:  # noqa: F811
    server = smtp_server_factory(auth=("tocsin", PASSWORD), tls="ssl")
    assert send_email(server.url())
    assert [m.tls for m in server.received] == [True]


def test_wrong_password_fails_without_revealing_it(smtp_server_factory: SmtpServerFactory) -> None:  # noqa: F811
    server = smtp_server_factory(auth=("tocsin", PASSWORD), tls="starttls")
    url = server.url().replace(PASSWORD, "wrong-Passw0rd")
    result = send(url, title="t", body="b", body_format="text")
    assert result.ok is False
    assert result.error is not None and "535" in result.error
    assert "wrong-Passw0rd" not in result.error and PASSWORD not in result.error
    assert server.messages == []


def test_sending_without_credentials_to_an_auth_server_fails(
    smtp_server_factory: SmtpServerFactory,  # noqa: F811
) -> None:
    server = smtp_server_factory(auth=("tocsin", PASSWORD), tls="ssl")
    anonymous = server.url().replace(f"tocsin:{PASSWORD}@", "")
    result = send(anonymous, title="t", body="b", body_format="text")
    assert result.ok is False and result.error is not None and "530" in result.error
    assert server.messages == []


def test_both_parts_of_a_dispatched_alert_carry_the_article_and_evidence_links(
    tmp_path: Path, smtp_server: SmtpServer  # noqa: F811
) -> None:
    world = make_world(tmp_path, channels={"mail": {"url": smtp_server.url()}},
                       alerts={"evidence_url": "https://archive.example.org/tocsin/alert-{alert}.warc.gz"})
    article = "https://hrana.example.org/news/2025/masouri-moved?id=7&lang=en"
    decision = world.report("hrana", persons=("Saeed Masouri",), severity="critical", url=article)
    result = CliRunner().invoke(cli_app, ["alerts", "dispatch", "--config", str(world.directory)])
    assert result.exit_code == 0, result.output
    [message] = smtp_server.messages
    parts = parts_of(message)
    evidence = f"https://archive.example.org/tocsin/alert-{decision.alert_id}.warc.gz"
    command = f"tocsin evidence export --alert {decision.alert_id} -o alert-{decision.alert_id}.warc.gz"
    for kind in ("text/plain", "text/html"):
        part = parts[kind].replace("&amp;", "&")
        assert article in part, kind
        assert evidence in part and command in part, kind
