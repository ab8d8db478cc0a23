"""Render alerts, digests and rate-limit summaries: the templates, and the email parts every plain channel uses.

Layout lives in Jinja2 templates next to this module (``templates/*.j2``): ``*.html.j2`` is email HTML and
``*.tg.j2`` Telegram HTML (rendered by the Telegram channel, ``monitor.delivery.channels.telegram``), all
autoescaped; ``*.txt.j2`` is plain text. Templates only see the cleaned models of ``model.py``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

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


def render_template(name: str, **context: Any) -> str:
    """A template rendered, trailing spaces and extra blank lines dropped."""
    text = environment().get_template(name).render(**context)
    text = _TRAILING_SPACES.sub("\n", text)
    return _EXTRA_BLANK_LINES.sub("\n\n", text).strip()


def _email(subject: str, stem: str, **context: Any) -> EmailParts:
    return EmailParts(
        subject=subject,
        text=render_template(f"{stem}.txt.j2", subject=subject, **context),
        html=render_template(f"{stem}.html.j2", subject=subject, **context),
    )


def render_email(view: AlertView) -> EmailParts:
    """One alert as an email: ``[CRITICAL] transfer: Saeed Masouri — <title>``."""
    model = alert_model(view)
    return _email(alert_subject(model), "alert", a=model)


def digest_context(view: DigestView) -> dict[str, Any]:
    return {
        "groups": group_by_event(view.alerts),
        "total": len(view.alerts),
        "severities": severity_counts(view.alerts),
        "period": period(view.period_start, view.period_end),
    }


def render_digest(view: DigestView) -> EmailParts:
    """Alerts of a period grouped by event type, with counts, as one email."""
    context = digest_context(view)
    counts = ", ".join(f"{n} {sev}" for sev, n in context["severities"])
    subject = one_line_subject(
        f"[DIGEST] {context['total']} alert{'s' if context['total'] != 1 else ''}",
        f" ({counts})" if counts else "",
        f" {context['period']}",
    )
    return _email(subject, "digest", **context)


def overflow_context(view: OverflowView) -> dict[str, Any]:
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


def render_overflow(view: OverflowView) -> EmailParts:
    """Alerts held back by a rate limit, folded into one summary email."""
    context = overflow_context(view)
    total = context["total"]
    subject = one_line_subject(
        f"[HELD BACK] {total} alert{'s' if total != 1 else ''} over the rate limit of ",
        clean_line(view.channel),
    )
    return _email(subject, "overflow", **context)


def render_parts(view: AlertView | DigestView | OverflowView) -> EmailParts:
    """An alert, a digest or a rate-limit summary as email parts (subject, text, HTML)."""
    if isinstance(view, DigestView):
        return render_digest(view)
    if isinstance(view, OverflowView):
        return render_overflow(view)
    return render_email(view)
