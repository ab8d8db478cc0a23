"""Render alerts, digests and rate-limit summaries for Telegram and email.

Layout lives in Jinja2 templates next to this module (``templates/*.j2``): ``*.tg.j2`` is
Telegram HTML and ``*.html.j2`` email HTML, both autoescaped; ``*.txt.j2`` is plain text.
Templates only see the cleaned models of ``model.py``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.delivery.channels.telegram_html import split_telegram_html
from monitor.messages.model import (
    alert_model,
    alert_subject,
    group_by_event,
    one_line_subject,
    period,
    severity_counts,
)
from monitor.messages.text import clean_line, format_when, isolate
from monitor.messages.views import AlertView, DigestView, EmailParts, OverflowView

MAX_OVERFLOW_LISTED = 30  # a rate-limit summary lists this many titles, then counts the rest
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")


@cache
def environment() -> Environment:
    """The Jinja2 environment: package templates, autoescape for HTML, strict variables."""
    env = Environment(
        loader=PackageLoader("monitor.messages", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "tg.j2"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.filters["iso"] = isolate
    env.filters["when"] = format_when
    return env


def _render(name: str, **context: Any) -> str:
    text = environment().get_template(name).render(**context)
    text = _TRAILING_SPACES.sub("\n", text)
    return _EXTRA_BLANK_LINES.sub("\n\n", text).strip()


def _telegram(name: str, **context: Any) -> list[str]:
    return split_telegram_html(_render(name, **context))


def _email(subject: str, stem: str, **context: Any) -> EmailParts:
    return EmailParts(
        subject=subject,
        text=_render(f"{stem}.txt.j2", subject=subject, **context),
        html=_render(f"{stem}.html.j2", subject=subject, **context),
    )


def render_telegram(view: AlertView) -> list[str]:
    """One alert as Telegram HTML chunks (send each as its own message, in order)."""
    return _telegram("alert.tg.j2", a=alert_model(view))


def render_email(view: AlertView) -> EmailParts:
    """One alert as an email: ``[CRITICAL] transfer: Saeed Masouri — <title>``."""
    model = alert_model(view)
    return _email(alert_subject(model), "alert", a=model)


def _digest_context(view: DigestView) -> dict[str, Any]:
    return {
        "groups": group_by_event(view.alerts),
        "total": len(view.alerts),
        "severities": severity_counts(view.alerts),
        "period": period(view.period_start, view.period_end),
    }


def render_telegram_digest(view: DigestView) -> list[str]:
    """Alerts of a period grouped by event type, with counts, as Telegram HTML chunks."""
    return _telegram("digest.tg.j2", **_digest_context(view))


def render_digest(view: DigestView) -> EmailParts:
    """Alerts of a period grouped by event type, with counts, as one email."""
    context = _digest_context(view)
    counts = ", ".join(f"{n} {sev}" for sev, n in context["severities"])
    subject = one_line_subject(
        f"[DIGEST] {context['total']} alert{'s' if context['total'] != 1 else ''}",
        f" ({counts})" if counts else "",
        f" {context['period']}",
    )
    return _email(subject, "digest", **context)


def _overflow_context(view: OverflowView) -> dict[str, Any]:
    groups = group_by_event(view.suppressed)
    listed = [alert for group in groups for alert in group.alerts][:MAX_OVERFLOW_LISTED]
    return {
        "channel": clean_line(view.channel),
        "groups": groups,
        "total": len(view.suppressed),
        "listed_ids": {alert.id for alert in listed},
        "unlisted": len(view.suppressed) - len(listed),
        "severities": severity_counts(view.suppressed),
    }


def render_telegram_overflow(view: OverflowView) -> list[str]:
    """Alerts held back by a rate limit, folded into one summary (Telegram HTML chunks)."""
    return _telegram("overflow.tg.j2", **_overflow_context(view))


def render_overflow(view: OverflowView) -> EmailParts:
    """Alerts held back by a rate limit, folded into one summary email."""
    context = _overflow_context(view)
    total = context["total"]
    subject = one_line_subject(
        f"[HELD BACK] {total} alert{'s' if total != 1 else ''} over the rate limit of ",
        clean_line(view.channel),
    )
    return _email(subject, "overflow", **context)
