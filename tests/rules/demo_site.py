"""Read the bundled demo site's answer key and the main text of each item (test helper)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup, Tag

from monitor.rules import Document

SITE = Path(__file__).resolve().parents[2] / "monitor" / "demo" / "site"
ANSWER_KEY = SITE / "expected.yaml"


@dataclass(frozen=True)
class DemoItem:
    key: str
    document: Document
    expect: frozenset[str]
    tolerate: frozenset[str]
    persons: tuple[str, ...]
    count: int | None


def _text(node: Tag) -> str:
    return node.get_text("\n", strip=True)


def _page(path: Path) -> tuple[str, str]:
    """Title and main text of an article page: the <article>, without its header line."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article")
    assert isinstance(article, Tag), f"no <article> in {path}"
    heading = article.find("h1")
    title = _text(heading) if isinstance(heading, Tag) else ""
    for noise in article.select("h1, .entry-meta, .news-meta, .tags"):
        noise.decompose()
    return title, _text(article)


def _post(path: Path, post: str) -> str:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    message = soup.select_one(f'[data-post="{post}"]')
    assert isinstance(message, Tag), f"post {post} not in {path}"
    body = message.select_one(".tgme_widget_message_text")
    return _text(body) if body is not None else ""


def load_items() -> tuple[list[DemoItem], dict[str, Any]]:
    key = yaml.safe_load(ANSWER_KEY.read_text(encoding="utf-8"))
    tags = {
        "rights_feed": {"human_rights"},
        "state_fa": {"state_media"},
        "state_en": {"state_media"},
        "telegram": {"human_rights", "telegram"},
    }
    items: list[DemoItem] = []
    for entry in key["items"]:
        if "post" in entry:
            name = entry["post"]
            title, text = "", _post(SITE / entry["page"], entry["post"])
        else:
            name = entry["path"]
            title, text = _page(SITE / entry["path"])
        document = Document(
            id=name,
            text=text,
            title=title,
            lang=entry.get("language"),
            source=entry["source"],
            tags=frozenset(tags.get(entry["source"], set())),
        )
        items.append(
            DemoItem(
                name,
                document,
                frozenset(entry.get("expect") or ()),
                frozenset(entry.get("tolerate") or ()),
                tuple(entry.get("persons") or ()),
                entry.get("count"),
            )
        )
    return items, key
