"""Email through SMTP (``mailto://``, ``mailtos://``): the HTML message, TLS checks, SMTP reply codes.

A 5xx reply is permanent by RFC 5321 (a refused login, a mailbox that does not exist); a 4xx or a
connection problem is worth retrying.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from apprise.plugins.base import NotifyBase
from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.common import SecureMailMode

from monitor.delivery.channels.base import TRANSIENT, Channel, OutgoingMessage, Verdict, View
from monitor.messages.render import render_parts


class EmailChannel(Channel):
    """One email per alert, digest or summary: a one-line subject, an HTML body (a text part too)."""

    kind = "email"
    schemes: ClassVar[frozenset[str]] = frozenset({"mailto", "mailtos", "email"})

    def render(self, view: View) -> list[OutgoingMessage]:
        parts = render_parts(view)
        return [OutgoingMessage(parts.subject, parts.html, "html")]

    def check(self, plugin: NotifyBase) -> str | None:
        return check_email(plugin)

    def classify(self, messages: Sequence[str]) -> Verdict:
        return classify_smtp(messages)


def check_email(plugin: NotifyBase) -> str | None:
    assert isinstance(plugin, NotifyEmail)
    mode, port = plugin.secure_mode, plugin.port
    if mode == SecureMailMode.INSECURE and port == 465:
        return (
            "mailto:// on port 465 sends plaintext to a port that expects TLS from the first byte "
            "(it just times out); use mailtos://…:465?mode=ssl"
        )
    if mode == SecureMailMode.STARTTLS and port == 465:
        return "port 465 speaks implicit TLS, not STARTTLS; add ?mode=ssl"
    if mode == SecureMailMode.SSL and port in (25, 587):
        return f"port {port} speaks STARTTLS, not implicit TLS; use ?mode=starttls"
    host = (plugin.smtp_host or plugin.host or "").lower()
    if (
        mode == SecureMailMode.INSECURE
        and plugin.password
        and host not in ("localhost", "127.0.0.1", "::1")
    ):
        return "mailto:// would send the SMTP password unencrypted; use mailtos://"
    return None


@dataclass(frozen=True)
class SmtpRule:
    """An SMTP reply code in ``codes`` (5xx: permanent by RFC 5321)."""

    codes: frozenset[int]
    reason: str


SMTP_RULES: tuple[SmtpRule, ...] = (
    SmtpRule(frozenset({534, 535}),
             "email: the SMTP server refused the login — check SMTP_USER and SMTP_PASSWORD (most providers "
             "need an app password)"),
    SmtpRule(frozenset({530}),
             "email: the SMTP server requires a login (or STARTTLS first) — use mailtos://USER:PASSWORD@…"),
    SmtpRule(frozenset({550, 551, 553}),
             "email: the SMTP server refused a mailbox or the message for good — check to= and from= in "
             "the channel URL (a mailbox that does not exist, a from= the server will not send as)"),
    SmtpRule(frozenset({552}), "email: the message is too large for the SMTP server"),
    SmtpRule(frozenset({554}),
             "email: the SMTP server rejected the message for good (often a spam filter or a from= "
             "address it does not allow)"),
)

# smtplib exceptions print as (550, b'5.1.1 text'[, 'address']); a refused recipient as "refused: 550 b'…'".
_SMTP_REPLY_RES = (
    re.compile(r"\((?P<code>[2-5][0-9]{2}), b?(?P<q>['\"])(?P<text>.*?)(?P=q)"),
    re.compile(r"refused: (?P<code>[2-5][0-9]{2}) b?(?P<q>['\"])(?P<text>.*?)(?P=q)"),
)


def classify_smtp(messages: Sequence[str]) -> Verdict:
    """Permanent when every SMTP reply code in the failure is 5xx; a 4xx or no code at all is transient."""
    replies = [(int(m["code"]), m["text"]) for message in messages for pattern in _SMTP_REPLY_RES
               for m in pattern.finditer(message)]
    failures = [(code, text) for code, text in replies if code >= 400]
    if not failures or any(code < 500 for code, _ in failures):
        return TRANSIENT
    code, text = failures[0]
    reason = next((rule.reason for rule in SMTP_RULES if code in rule.codes),
                  "email: the SMTP server refused for good")
    return Verdict(True, f"{reason} (SMTP {code} {text})")
