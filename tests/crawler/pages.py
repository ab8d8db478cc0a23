"""Builders for index pages whose content tests vary (feeds, sitemaps, listings, t.me/s pages)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def rss(base: str, entries: Sequence[tuple[str, str, datetime]], title: str = "Rights Monitor") -> str:
    """An RSS 2.0 feed; entries are (path, title, published)."""
    items = "".join(
        f"<item><title>{html.escape(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>{format_datetime(d)}</pubDate><description>{html.escape(t)} (summary)</description></item>"
        for p, t, d in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}/</link><description>news</description>{items}</channel></rss>")


def sitemap_index(base: str, children: Sequence[tuple[str, datetime]]) -> str:
    entries = "".join(f"<sitemap><loc>{base}{p}</loc><lastmod>{d.isoformat()}</lastmod></sitemap>"
                      for p, d in children)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>')


def news_sitemap(base: str, urls: Sequence[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f"<url><loc>{base}{p}</loc><news:news><news:publication><news:name>Rights Monitor</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{d.isoformat()}</news:publication_date>"
        f"<news:title>{html.escape(t)}</news:title></news:news></url>"
        for p, t, d in urls
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>')


def listing(links: Sequence[tuple[str, str]], next_href: str | None = None, *, lang: str = "fa") -> str:
    """A state-media style index: ``a.news-link`` items in a sidebar-laden page, ``a.next`` pagination."""
    items = "".join(f'<li class="news"><a class="news-link" href="{h}">{html.escape(t)}</a>'
                    f'<span class="lead">خلاصه خبر</span></li>' for h, t in links)
    pager = f'<div class="pager"><a class="next" href="{next_href}">بعدی</a></div>' if next_href else ""
    return (f'<html lang="{lang}" dir="rtl"><head><meta charset="utf-8"><title>اخبار</title></head><body>'
            '<nav><a href="/">خانه</a><a href="/about.html">درباره</a></nav>'
            f'<div class="main"><ul class="news-list">{items}</ul>{pager}</div>'
            '<aside><a href="/ads/1.html">آگهی</a></aside></body></html>')


@dataclass
class Post:
    post_id: int
    text: str = ""
    when: datetime = field(default_factory=lambda: datetime(2025, 7, 19, 6, 0, tzinfo=UTC))
    forwarded_from: str | None = None
    links: Sequence[str] = ()
    media_only: bool = False
    edited: bool = False


def telegram_page(channel: str, posts: Sequence[Post], before: int | None) -> str:
    """A t.me/s/<channel> preview page as Telegram renders it (the parts snscrape relies on)."""
    rendered = []
    for post in posts:
        forwarded = ""
        if post.forwarded_from:
            forwarded = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
                         f'<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/src/1">'
                         f"<span>{html.escape(post.forwarded_from)}</span></a></div>")
        links = "".join(f' <a href="{u}" target="_blank">{u}</a>' for u in post.links)
        text = "" if post.media_only else (
            '<div class="tgme_widget_message_text js-message_text" dir="auto">'
            + "<br/>".join(html.escape(line) for line in post.text.split("\n")) + links + "</div>")
        media = '<a class="tgme_widget_message_photo_wrap" style="background-image:url(x.jpg)"></a>' \
            if post.media_only else ""
        edited = '<span class="tgme_widget_message_meta">edited </span>' if post.edited else ""
        rendered.append(
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
            f'data-post="{channel}/{post.post_id}" data-view="x">'
            f'<div class="tgme_widget_message_bubble">{forwarded}{media}{text}'
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            '<div class="tgme_widget_message_info short js-message_info">'
            '<span class="tgme_widget_message_views">1.2K</span>'
            f'<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" '
            f'href="https://t.me/{channel}/{post.post_id}"><time datetime="{post.when.isoformat()}" '
            'class="time">06:00</time></a></span></div></div></div></div></div>'
        )
    more = (f'<a class="tme_messages_more js-messages_more" data-before="{before}" '
            f'href="/s/{channel}?before={before}"></a>') if before else ""
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Channel</title></head><body>'
            '<div class="tgme_channel_info"><div class="tgme_channel_info_header_title">Channel</div></div>'
            f'<section class="tgme_channel_history js-message_history">{more}{"".join(rendered)}</section>'
            "</body></html>")


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
