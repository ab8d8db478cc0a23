"""The bundled offline demo site is complete and its answer key (expected.yaml) is honest.

`tocsin demo` serves monitor/demo/site on loopback and crawls it with the real spiders; the
rules are then scored against expected.yaml. A broken link, a missing page or a key that
claims something the page does not say would make that demo (and its scores) lie.
"""

from __future__ import annotations

import re
import urllib.robotparser
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import jdatetime
import pytest
import yaml
from bs4 import BeautifulSoup, Tag
from lxml import etree

SITE = Path(__file__).resolve().parents[2] / "monitor" / "demo" / "site"
CHANNEL = "irhrs_demo"
LINK_SELECTOR = "div.news-item a.news-link"
EVENT_TYPES = {
    "execution",
    "death_sentence",
    "review_rejected",
    "transfer",
    "rhetoric",
    "un_statement",
    "arrest",
}
TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
JALALI_MONTHS = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
]
NUMBER_WORDS = {9: ("nine", "نه")}

ARTICLES = sorted(
    str(p.relative_to(SITE))
    for p in [*SITE.glob("news/*.html"), *SITE.glob("state/*/*.html")]
    if p.name != "index.html"
)


def soup_of(rel: str) -> BeautifulSoup:
    return BeautifulSoup((SITE / rel).read_text(encoding="utf-8"), "lxml")


def local_file(href: str) -> Path:
    """Map a link as written on the site ('{base}/x', '/x') to the file the server sends."""
    path = href.removeprefix("{base}").split("#")[0].lstrip("/")
    return SITE / path


def telegram_pages() -> dict[str, BeautifulSoup]:
    return {
        str(p.relative_to(SITE)): soup_of(str(p.relative_to(SITE)))
        for p in sorted(SITE.glob("t/s/*.html"))
    }


def telegram_posts() -> dict[str, tuple[str, Tag]]:
    posts: dict[str, tuple[str, Tag]] = {}
    for rel, soup in telegram_pages().items():
        for div in soup.select("div.tgme_widget_message[data-post]"):
            posts[str(div["data-post"])] = (rel, div)
    return posts


def main_text(item: dict[str, Any]) -> str:
    if "path" in item:
        article = soup_of(item["path"]).find("article")
        assert isinstance(article, Tag)
        return article.get_text(" ")
    text = telegram_posts()[item["post"]][1].select_one(".tgme_widget_message_text")
    return text.get_text(" ") if text else ""


@pytest.fixture(scope="module")
def key() -> dict[str, Any]:
    loaded = yaml.safe_load((SITE / "expected.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_files_are_utf8_and_use_only_the_base_placeholder() -> None:
    for path in SITE.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8")  # raises on invalid UTF-8
            assert set(re.findall(r"\{[^{}\s]*\}", text)) <= {"{base}"}, path


def test_robots_txt_allows_everything() -> None:
    robots = urllib.robotparser.RobotFileParser()
    robots.parse((SITE / "robots.txt").read_text(encoding="utf-8").splitlines())
    assert robots.can_fetch("TocsinBot", "/news/death-sentences-ahvaz.html")
    assert robots.can_fetch("*", "/t/s/irhrs_demo?before=117")


def test_feed_has_one_item_per_english_article() -> None:
    channel = etree.parse(str(SITE / "feed.xml")).getroot().find("channel")
    assert channel is not None
    links = []
    for item in channel.findall("item"):
        link = item.findtext("link", "")
        assert link.startswith("{base}/news/") and local_file(link).is_file(), link
        assert item.findtext("title", "").strip() and item.findtext("guid", "").strip()
        assert item.findtext("description", "").strip()
        meta = soup_of(link.removeprefix("{base}/")).find(
            "meta", attrs={"property": "article:published_time"}
        )
        assert isinstance(meta, Tag)
        published = parsedate_to_datetime(item.findtext("pubDate", ""))
        assert published == datetime.fromisoformat(str(meta["content"]))
        links.append(link.removeprefix("{base}/"))
    assert sorted(links) == sorted(a for a in ARTICLES if a.startswith("news/"))


def test_home_page_links_every_english_article() -> None:
    hrefs = {str(a["href"]).lstrip("/") for a in soup_of("index.html").select("a[href]")}
    assert {a for a in ARTICLES if a.startswith("news/")} <= hrefs


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_listing_selector_finds_exactly_the_outlets_articles(lang: str) -> None:
    soup = soup_of(f"state/{lang}/index.html")
    links = soup.select(LINK_SELECTOR)
    for link in links:
        assert local_file(str(link["href"])).is_file(), link["href"]
        date = link.find_next_sibling("span", class_="date")
        assert isinstance(date, Tag) and date.get_text(strip=True)
    hrefs = sorted(str(link["href"]).lstrip("/") for link in links)
    assert hrefs == [a for a in ARTICLES if a.startswith(f"state/{lang}/")]
    navigation = [a for a in soup.select("a[href]") if a not in links]
    assert navigation, "the listing must also carry links that are not articles"


@pytest.mark.parametrize("rel", ARTICLES)
def test_article_page_has_one_article_with_boilerplate_around_it(rel: str) -> None:
    soup = soup_of(rel)
    html = soup.find("html")
    assert isinstance(html, Tag)
    articles = soup.find_all("article")
    assert len(articles) == 1 and articles[0].find("h1") is not None
    canonical = soup.find("link", rel="canonical")
    assert isinstance(canonical, Tag) and canonical["href"] == "{base}/" + rel
    words = len(articles[0].get_text(" ").split())
    assert 150 <= words <= 400, words
    assert soup.find("nav") is not None and soup.find("footer") is not None
    if rel.startswith("state/fa/"):
        assert (html["lang"], html["dir"]) == ("fa", "rtl")
    else:
        assert html["lang"] == "en"
        assert soup.find("meta", attrs={"name": "author"}) is not None
    if rel.startswith("news/"):
        meta = soup.find("meta", attrs={"property": "article:published_time"})
        time = articles[0].find("time")
        assert isinstance(meta, Tag) and isinstance(time, Tag)
        assert time["datetime"] == meta["content"]
        assert soup.select("aside .related-posts a") and soup.select("#comments .comment")


def jalali_to_gregorian(text: str) -> datetime:
    """'۱۶ تیر ۱۴۰۴ - ۱۰:۳۰' (Persian digits, possibly Arabic yeh) -> naive Gregorian."""
    day, month, year, _, hhmm = text.replace("ي", "ی").translate(TO_ASCII).split()
    hour, minute = hhmm.split(":")
    jalali = jdatetime.datetime(
        int(year), JALALI_MONTHS.index(month) + 1, int(day), int(hour), int(minute)
    )
    gregorian: datetime = jalali.togregorian()
    return gregorian


def test_persian_pages_show_the_key_date_in_jalali_and_some_lack_the_meta(
    key: dict[str, Any],
) -> None:
    with_meta = 0
    items = [i for i in key["items"] if str(i.get("path", "")).startswith("state/fa/")]
    for item in items:
        soup = soup_of(item["path"])
        published = datetime.fromisoformat(item["published"])
        visible = soup.select_one("article .publish-date")
        assert isinstance(visible, Tag)
        assert not re.search(r"[0-9]", visible.get_text()), "visible digits must be Persian"
        assert jalali_to_gregorian(visible.get_text()) == published.replace(tzinfo=None)
        meta = soup.find("meta", attrs={"property": "article:published_time"})
        if isinstance(meta, Tag):
            with_meta += 1
            assert datetime.fromisoformat(str(meta["content"])) == published
    assert 0 < with_meta < len(items)


def test_key_entries_point_to_existing_pages_and_posts(key: dict[str, Any]) -> None:
    assert set(key["event_types"]) == EVENT_TYPES
    posts = telegram_posts()
    for item in key["items"]:
        assert ("path" in item) != ("post" in item), item
        if "path" in item:
            assert (SITE / item["path"]).is_file(), item["path"]
        else:
            assert posts[item["post"]][0] == item["page"], item["post"]
        assert set(item["expect"]) <= EVENT_TYPES
        assert set(item.get("tolerate", [])) <= EVENT_TYPES - set(item["expect"])
        assert set(item["persons"]) <= set(key["persons"])
        assert item["language"] in {"en", "fa", None}
        assert datetime.fromisoformat(item["published"]).tzinfo is not None


def test_key_covers_every_article_and_post(key: dict[str, Any]) -> None:
    assert sorted(i["path"] for i in key["items"] if "path" in i) == ARTICLES
    assert sorted(i["post"] for i in key["items"] if "post" in i) == sorted(telegram_posts())


def test_key_persons_are_exactly_the_watched_people_in_the_main_text(key: dict[str, Any]) -> None:
    for item in key["items"]:
        text = main_text(item)
        mentioned = {
            name for name, spellings in key["persons"].items() if any(s in text for s in spellings)
        }
        assert mentioned == set(item["persons"]), item.get("path", item.get("post"))


def test_key_counts_are_written_in_the_text(key: dict[str, Any]) -> None:
    counted = [i for i in key["items"] if "count" in i]
    assert counted, "the key must state at least one execution count"
    for item in counted:
        text = main_text(item)
        count = item["count"]
        spellings = (str(count), str(count).translate(TO_PERSIAN), *NUMBER_WORDS.get(count, ()))
        assert any(s in text for s in spellings), item
        assert "execution" in item["expect"]


def test_telegram_key_dates_match_the_posts(key: dict[str, Any]) -> None:
    posts = telegram_posts()
    for item in (i for i in key["items"] if "post" in i):
        time = posts[item["post"]][1].select_one("a.tgme_widget_message_date time[datetime]")
        assert isinstance(time, Tag) and time["datetime"] == item["published"]


def test_persian_editorial_praises_1988_and_calls_for_repeat() -> None:
    text = main_text({"path": "state/fa/editorial-repeat-1367.html"})
    assert "۶۷" in text and "تجربه تاریخی موفق" in text and "تکرار" in text


def test_legacy_article_is_written_with_arabic_letters_and_no_zwnj() -> None:
    soup = soup_of("state/fa/masouri-transfer.html")
    text = main_text({"path": "state/fa/masouri-transfer.html"})
    assert "ي" in text and "ك" in text and "مي شود" in text
    assert not set(text) & {"ی", "ک", "\u200c"}
    assert soup.find("meta", attrs={"property": "article:published_time"}) is None


def test_telegram_pages_paginate_like_tme_and_end() -> None:
    pages = telegram_pages()
    rel = f"t/s/{CHANNEL}.html"
    seen_ids: list[int] = []
    while True:
        soup = pages.pop(rel)
        wraps = soup.select("div.tgme_widget_message_wrap")
        ids = [
            int(str(w.select("div.tgme_widget_message")[0]["data-post"]).split("/")[1])
            for w in wraps
        ]
        assert all(not w.has_attr("data-post") for w in wraps)
        assert ids == sorted(ids) and (not seen_ids or max(ids) < min(seen_ids))
        seen_ids.extend(ids)
        more = soup.select_one("a.tme_messages_more[data-before]")
        if more is None:
            break
        before = int(str(more["data-before"]))
        assert before == min(ids) and more["href"] == f"/t/s/{CHANNEL}?before={before}"
        rel = f"t/s/{CHANNEL}_before_{before}.html"
    assert not pages, f"pages not reachable through 'more' links: {sorted(pages)}"
    posts = [div for _, div in telegram_posts().values()]
    assert any(p.select_one(".tgme_widget_message_text") is None for p in posts)
    assert any(p.select_one("a.tgme_widget_message_forwarded_from_name") for p in posts)
    for post in posts:
        time = post.select_one("a.tgme_widget_message_date time[datetime]")
        assert isinstance(time, Tag)
        assert datetime.fromisoformat(str(time["datetime"])).tzinfo is not None
