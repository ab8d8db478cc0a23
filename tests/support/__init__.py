"""Reusable test doubles: a fake Telegram Bot API, a real aiosmtpd SMTP server, sample alerts.

Enable the fixtures with ``pytest_plugins = ["tests.support.fake_telegram", "tests.support.smtp"]``
in the root conftest.py, or import them explicitly in a test module.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.messages import AlertView, SourceRef

T0 = datetime(2024, 9, 21, 14, 3, tzinfo=UTC)
RLO, PDF, LRE, RLI, PDI, RLM = "\u202e", "\u202c", "\u202a", "\u2067", "\u2069", "\u200f"

# Scraped text at its worst: HTML, Markdown, emoji with joiners, bidi overrides and marks.
HOSTILE_TITLE = (
    f"<script>alert(1)</script> & <ul><li>x</li></ul> *bold* _it_ `code` [l](http://x) "
    f"🚨👩‍👩‍👧 {RLO}txet desrever{PDF} {RLM}انتقال {LRE}embed{PDF} {RLI}iso{PDI} &amp; &lt;"
)
# What a reader must see: everything but the embedding/override/isolate controls.
HOSTILE_TITLE_SHOWN = re.sub(f"[{RLO}{PDF}{LRE}{RLI}{PDI}]", "", HOSTILE_TITLE)
PERSIAN_SENTENCE = (
    "زندانی سیاسی سعید ماسوری پس از بیست و چهار سال حبس به زندان قزل‌حصار منتقل شد "
    "و خانواده او از سرنوشتش بی‌خبرند. "
)


def sample_alert(**changes: object) -> AlertView:
    """A realistic critical transfer alert with two sources; override any field."""
    alert = AlertView(
        id=12,
        severity="critical",
        event_type="transfer",
        subject="Saeed Masouri",
        title="Political prisoner moved to Ghezel Hesar",
        summary="Moved at dawn without notice.\nFamily not informed.",
        entities={"prison": "Ghezel Hesar", "charges": ["baghi", "moharebeh"]},
        sources=[
            SourceRef(
                "HRANA", "https://www.hra-news.org/2024/a-1/", "انتقال سعید ماسوری", "fa", T0
            ),
            SourceRef("Iran HRM", "https://iran-hrm.com/x?a=1&b=2", "Masouri transferred", "en"),
        ],
        evidence_url="https://evidence.example.org/alerts/12",
        first_seen=T0,
        last_seen=T0 + timedelta(hours=1),
        is_update=False,
    )
    return replace(alert, **changes)  # type: ignore[arg-type]
