"""What the templates may not do: mark anything safe, run inline script or style, or load from elsewhere
(the CSP would block it; this finds it before a browser does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.console.deps import TEMPLATES, template_environment, text_dir

CONSOLE = TEMPLATES.parent
PAGES = sorted(TEMPLATES.glob("*.html"))


@pytest.mark.parametrize("template", PAGES, ids=[p.name for p in PAGES])
def test_templates_never_mark_text_safe_or_inline_script(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", text), "inline script: the CSP blocks it"
    assert not re.search(r"\son[a-z]+=", text), "event handler attributes are inline script"
    assert "style=" not in text and "<style" not in text, "inline style: the CSP blocks it"
    assert "hx-on" not in text and "js:" not in text, "htmx runs with allowEval off"


def test_no_console_code_builds_markup() -> None:
    for path in CONSOLE.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "Markup(" not in source and "markupsafe" not in source, path


def test_autoescape_is_on() -> None:
    page = template_environment().from_string("{{ title }}").render(title="<script>alert(1)</script>")
    assert page == "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("fa", "", "rtl"), ("fa-IR", "", "rtl"), ("en", "اعدام", "ltr"), (None, "اعدام زندانی", "rtl"),
    (None, "Nine executed", "ltr"), (None, None, "ltr"),
])
def test_text_direction(lang: str | None, text: str | None, expected: str) -> None:
    assert text_dir(lang, text) == expected
