"""Excerpts around a rule's trigger: the trigger whole, the words around it exactly as published (no
tokeniser spacing), line breaks made spaces, cut at word boundaries with "…" where the text goes on."""

from __future__ import annotations

import pytest

from monitor.messages.text import excerpt, first_excerpt

TEXT = ("Tehran, 3 March. The lawyer said that Etemadi-Far, a teacher from Karaj, was moved to solitary\n"
        "confinement on Tuesday, a sign that his execution is near.")
PERSIAN = "گزارش‌ها حاکی است که اعدام‌های اخیر در زندان قزل‌حصار افزایش یافته است."

CASES = [
    ("trigger before punctuation keeps it attached", TEXT, "Etemadi-Far", 20,
     "… lawyer said that ", "Etemadi-Far", ", a teacher from …"),
    ("line break inside the context becomes one space", TEXT, "solitary", 25,
     "… Karaj, was moved to ", "solitary", " confinement on Tuesday, …"),
    ("a trigger longer than the context stays whole", TEXT, "moved to solitary\nconfinement on Tuesday", 5,
     "… was ", "moved to solitary confinement on Tuesday", ", a …"),
    ("start of the text has no ellipsis", TEXT, "Tehran", 10, "", "Tehran", ", 3 …"),
    ("end of the text has no ellipsis", TEXT, "near", 16, "… execution is ", "near", "."),
    ("ZWNJ inside a Persian word is kept", PERSIAN, "اعدام", 16, "… حاکی است که ", "اعدام", "\u200cهای اخیر در …"),
]


@pytest.mark.parametrize(("text", "trigger", "context", "before", "found", "after"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_excerpt(text: str, trigger: str, context: int, before: str, found: str, after: str) -> None:
    start = text.index(trigger)
    cut = excerpt(text, start, start + len(trigger), context=context)
    assert cut is not None
    assert (cut.before, cut.trigger, cut.after) == (before, found, after)


def test_spans_outside_the_text_give_no_excerpt_and_title_spans_are_used_last() -> None:
    assert excerpt("short", 3, 40) is None
    title = "Masouri transferred to solitary"
    cut = first_excerpt(title, "body text", [[50, 60], ["title", 8, 19]])
    assert cut is not None and cut.trigger == "transferred" and str(cut) == title
    assert first_excerpt(title, "body", []) is None
