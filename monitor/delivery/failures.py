"""Which failed sends can never succeed, said in words the operator can act on.

A retry helps a timeout, a refused connection, Telegram's 429 or 5xx, an SMTP 4xx. It cannot help a
chat that does not exist, a bot that was blocked or removed, a revoked token, an SMTP 5xx (a refused
address, a failed login) or a message Telegram cannot parse (a bug on our side): retrying those only
burns ``alerts.max_attempts`` over hours while the operator learns nothing. The dispatcher marks a
permanent failure dead at once and raises one operator alert for the channel.

Input is what Apprise logged about the send (its only account of the HTTP status or SMTP reply),
already scrubbed of secrets. Anything not recognised is transient: retrying is the safe default.
Extend ``CLASSIFIERS`` for a new channel kind, and the rule tables for new answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """``permanent``: retrying cannot help. ``reason``: what is wrong and what to do (when permanent)."""

    permanent: bool
    reason: str | None = None


TRANSIENT = Verdict(False)


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
    return _all_permanent(verdicts)


def _telegram_answer(status: int, says: str, chat: str) -> Verdict:
    lowered = says.lower()
    for rule in TELEGRAM_RULES:
        if rule.status == status and rule.says in lowered:
            return Verdict(True, f"{rule.reason} (chat {chat}: {says}, HTTP {status})")
    return TRANSIENT  # 429, 5xx, anything unknown


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


def _all_permanent(verdicts: list[Verdict]) -> Verdict:
    """A send to several targets is permanent only if each failure was (retrying helps the others)."""
    if not verdicts or not all(v.permanent for v in verdicts):
        return TRANSIENT
    reasons = list(dict.fromkeys(v.reason for v in verdicts if v.reason))
    return Verdict(True, "; ".join(reasons))


# By channel kind (monitor.delivery.notify maps Apprise plugins to these names).
CLASSIFIERS: dict[str, Callable[[Sequence[str]], Verdict]] = {
    "telegram": classify_telegram,
    "email": classify_smtp,
}


def classify(kind: str, messages: Sequence[str]) -> Verdict:
    """The verdict on one failed send of a ``kind`` channel, from what Apprise logged about it."""
    classifier = CLASSIFIERS.get(kind)
    return classifier(messages) if classifier is not None else TRANSIENT
