"""Telegram through its Bot API (``tgram://TOKEN/CHAT``): HTML chunks, pacing, and what its answers mean.

Everything Tocsin knows about Telegram is here and in ``telegram_html.py`` (splitting HTML into the
messages Telegram accepts): the URL schemes, about one message a second per chat, the chat-id check, the
Bot API server to talk to, and which 4xx answers no retry can fix. The templates are ``*.tg.j2`` in
``monitor/messages/templates``.

Setting ``TOCSIN_TELEGRAM_API_URL`` (e.g. ``http://127.0.0.1:8081``) points Telegram at another Bot API
server: a self-hosted ``telegram-bot-api`` or the fake one in tests. Default: ``https://api.telegram.org``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from apprise.plugins.base import NotifyBase
from apprise.plugins.telegram import NotifyTelegram

from monitor.delivery.channels.base import TRANSIENT, Channel, OutgoingMessage, Verdict, View, all_permanent
from monitor.delivery.channels.telegram_html import split_telegram_html
from monitor.messages import AlertView, DigestView, OverflowView
from monitor.messages.model import alert_model
from monitor.messages.render import digest_context, overflow_context, render_template

TELEGRAM_API_ENV = "TOCSIN_TELEGRAM_API_URL"
DEFAULT_TELEGRAM_API = "https://api.telegram.org"


class TelegramChannel(Channel):
    """Telegram HTML in chunks of at most 4096 UTF-16 units, each its own message, about one a second."""

    kind = "telegram"
    schemes: ClassVar[frozenset[str]] = frozenset({"tgram", "telegram"})
    pace = 1.0  # Telegram allows about one message a second per chat

    def render(self, view: View) -> list[OutgoingMessage]:
        if isinstance(view, DigestView):
            chunks = render_telegram_digest(view)
        elif isinstance(view, OverflowView):
            chunks = render_telegram_overflow(view)
        else:
            chunks = render_telegram(view)
        return [OutgoingMessage("", chunk, "html") for chunk in chunks]

    def check(self, plugin: NotifyBase) -> str | None:
        return check_telegram(plugin)

    def prepare(self, plugin: NotifyBase) -> None:
        assert isinstance(plugin, NotifyTelegram)
        plugin.notify_url = telegram_api_prefix()

    def classify(self, messages: Sequence[str]) -> Verdict:
        return classify_telegram(messages)


# --- rendering ------------------------------------------------------------------------------------


def render_telegram(view: AlertView) -> list[str]:
    """One alert as Telegram HTML chunks (send each as its own message, in order)."""
    return split_telegram_html(render_template("alert.tg.j2", a=alert_model(view)))


def render_telegram_digest(view: DigestView) -> list[str]:
    """Alerts of a period grouped by event type, with counts, as Telegram HTML chunks."""
    return split_telegram_html(render_template("digest.tg.j2", **digest_context(view)))


def render_telegram_overflow(view: OverflowView) -> list[str]:
    """Alerts held back by a rate limit, folded into one summary (Telegram HTML chunks)."""
    return split_telegram_html(render_template("overflow.tg.j2", **overflow_context(view)))


# --- the channel URL and the Bot API ---------------------------------------------------------------


def check_telegram(plugin: NotifyBase) -> str | None:
    assert isinstance(plugin, NotifyTelegram)
    if not plugin.targets:
        return (
            "no chat id: use tgram://BOT_TOKEN/CHAT_ID (without one Apprise asks getUpdates "
            "for the bot's owner on every send)"
        )
    return None


def telegram_api_prefix() -> str:
    """The Bot API prefix a token is appended to, from ``TOCSIN_TELEGRAM_API_URL``."""
    base = (os.environ.get(TELEGRAM_API_ENV) or DEFAULT_TELEGRAM_API).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{TELEGRAM_API_ENV} must be an http(s) URL, got {base!r}")
    return base if base.endswith("/bot") else f"{base}/bot"


# --- answers no retry can fix ----------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramRule:
    """Telegram's answer ``status`` whose description contains ``says`` (any, when empty)."""

    status: int
    says: str
    reason: str


_CHAT_ID = "check the chat id in the channel URL (TELEGRAM_CHAT_ID)"
_OUR_BUG = "a bug in Tocsin's message rendering; please report it with `tocsin alerts show ID`"

# First match wins: specific descriptions before the catch-all of their status.
TELEGRAM_RULES: tuple[TelegramRule, ...] = (
    TelegramRule(400, "chat not found",
                 f"Telegram: chat not found — {_CHAT_ID}, and that the bot was started in (or added to) "
                 "that chat"),
    TelegramRule(400, "chat_id is empty", f"Telegram: no chat id — {_CHAT_ID}"),
    TelegramRule(400, "upgraded to a supergroup",
                 "Telegram: the group became a supergroup with a new chat id (it starts with -100) — "
                 "update TELEGRAM_CHAT_ID"),
    TelegramRule(400, "can't parse entities", f"Telegram could not parse the message's HTML — {_OUR_BUG}"),
    TelegramRule(400, "message is too long", f"Telegram: the message is too long — {_OUR_BUG}"),
    TelegramRule(400, "text is empty", f"Telegram: the message is empty — {_OUR_BUG}"),
    TelegramRule(400, "not enough rights",
                 "Telegram: the bot may not post in this chat — give it the right to send messages"),
    TelegramRule(400, "need administrator rights",
                 "Telegram: the bot must be an administrator allowed to post in this channel"),
    TelegramRule(400, "", "Telegram rejected the message — check the chat id and the bot's rights"),
    TelegramRule(401, "",
                 "Telegram: the bot token was rejected (401 Unauthorized) — check TELEGRAM_BOT_TOKEN "
                 "(BotFather's /token shows the current one)"),
    TelegramRule(403, "blocked by the user",
                 "Telegram: the bot was blocked by the user — unblock it in that chat (Restart/Start)"),
    TelegramRule(403, "kicked",
                 "Telegram: the bot was removed from the chat — add it again (as an administrator allowed "
                 "to post, for a channel)"),
    TelegramRule(403, "not a member",
                 "Telegram: the bot is not a member of the chat — add it (as an administrator allowed to "
                 "post, for a channel)"),
    TelegramRule(403, "can't initiate conversation",
                 "Telegram: the bot cannot write first — the user must open a chat with it and press Start"),
    TelegramRule(403, "deactivated", "Telegram: the user's account was deleted — choose another chat"),
    TelegramRule(403, "", "Telegram: the bot may not write to this chat — check its membership and rights"),
    TelegramRule(404, "",
                 "Telegram: the Bot API answered 404 Not Found — the bot token is malformed "
                 "(check TELEGRAM_BOT_TOKEN) or TOCSIN_TELEGRAM_API_URL is wrong"),
)

_TELEGRAM_FAILED_RE = re.compile(
    r"^Failed to send Telegram notification to (?P<chat>.*?): (?P<says>.*), error=(?P<status>[0-9]{3})\.?$")


def classify_telegram(messages: Sequence[str]) -> Verdict:
    """Permanent when every chat that failed got a 4xx answer in ``TELEGRAM_RULES``; 429 never is."""
    verdicts = []
    for message in messages:
        failed = _TELEGRAM_FAILED_RE.match(message.strip())
        if failed is None:
            if "connection error" in message.lower():
                verdicts.append(TRANSIENT)
            continue
        verdicts.append(_telegram_answer(int(failed["status"]), failed["says"], failed["chat"]))
    return all_permanent(verdicts)


def _telegram_answer(status: int, says: str, chat: str) -> Verdict:
    lowered = says.lower()
    for rule in TELEGRAM_RULES:
        if rule.status == status and rule.says in lowered:
            return Verdict(True, f"{rule.reason} (chat {chat}: {says}, HTTP {status})")
    return TRANSIENT  # 429, 5xx, anything unknown
