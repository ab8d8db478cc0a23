"""Benchmark article extraction on generated news pages (English and Persian, ~50-100 KB each).

Compares crawler.extract.extract_article (trafilatura with TRAFILATURA_OPTIONS plus metadata)
with bare trafilatura defaults and with trafilatura alone on our options (the wrapper's cost).
Prints pages/s, CPU ms/page (median of --repeat runs) and how often reader comments leaked in.

    .venv/bin/python bench/bench_extract.py [--pages 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura  # noqa: E402

from crawler.encoding import decode_body  # noqa: E402
from crawler.extract import TRAFILATURA_OPTIONS, extract_article  # noqa: E402

_EN_VOCABULARY = (
    "the court prisoner judicial review rejected sentence family lawyer appeal supreme rights group "
    "transferred solitary confinement execution report said according officials on tuesday was of and "
    "to in a for that with his her their political activists authorities statement international call"
)
_FA_VOCABULARY = (
    "دادگاه زندانی حکم اعدام دیوان عالی کشور درخواست اعاده دادرسی خانواده وکیل گزارش گروه‌های "
    "حقوق بشری سلول انفرادی منتقل شد می‌گویند قوه قضاییه پرونده روز سه‌شنبه این آن که را به از در با "
    "سیاسی اعتراض فعالان مقام‌ها بیانیه بین‌المللی"
)
EN_WORDS = _EN_VOCABULARY.split()
FA_WORDS = _FA_VOCABULARY.split()
COMMENT_MARK = {"en": "READER-COMMENT", "fa": "نظرخواننده"}
Item = TypeVar("Item", str, bytes)
# cp1256 has no Persian yeh, keheh or Persian digits: legacy pages use Arabic letters, ASCII digits.
LEGACY_SPELLING = str.maketrans("یک۰۱۲۳۴۵۶۷۸۹", "يك0123456789")


def _sentence(rng: random.Random, words: list[str], size: int) -> str:
    return " ".join(rng.choice(words) for _ in range(size)).capitalize() + "."


def _paragraph(rng: random.Random, words: list[str], sentences: int) -> str:
    parts = [_sentence(rng, words, rng.randint(10, 24)) for _ in range(sentences)]
    link = f'<a href="/tag/{rng.randint(1, 999)}">{rng.choice(words)}</a>'
    return f"{parts[0]} <strong>{rng.choice(words)}</strong> {link} " + " ".join(parts[1:])


def _nested(content: str, depth: int, name: str) -> str:
    """Wrapper divs as page builders emit them."""
    for level in range(depth):
        content = f'<div class="{name}-wrap-{level} container"><div class="row">{content}</div></div>'
    return content


def make_page(rng: random.Random, lang: str) -> str:
    """One news page with the clutter of a real site: scripts, menus, teasers, comments."""
    words = FA_WORDS if lang == "fa" else EN_WORDS
    title = _sentence(rng, words, 9)
    submenu = "".join(f"<li><a href=/s/{j}>{rng.choice(words)}</a></li>" for j in range(4))
    menu = "".join(
        f'<li class="menu-item"><a href="/section/{i}"><span>{rng.choice(words)}</span></a>'
        f'<ul class="sub">{submenu}</ul></li>'
        for i in range(40)
    )
    teasers = "".join(
        _nested(
            f'<a href="/news/{rng.randint(1, 10**6)}"><img src="/i/{i}.jpg" alt="" loading="lazy"></a>'
            f"<h4><a href='/news/{i}'>{_sentence(rng, words, 8)}</a></h4><p>{_sentence(rng, words, 18)}</p>",
            3,
            "teaser",
        )
        for i in range(rng.randint(25, 45))
    )
    body = "\n".join(f"<p>{_paragraph(rng, words, rng.randint(2, 5))}</p>" for _ in range(rng.randint(8, 18)))
    comments = "".join(
        f'<li class="comment"><div class="comment-meta"><span class="comment-author">user{i}</span></div>'
        f'<div class="comment-body"><p>{COMMENT_MARK[lang]} {_paragraph(rng, words, rng.randint(1, 3))}'
        "</p></div>"
        f'<a class="reply" href="#c{i}">reply</a></li>'
        for i in range(rng.randint(10, 30))
    )
    tags = "".join(f'<li><a href="/tag/{i}">{rng.choice(words)}</a></li>' for i in range(15))
    share = "".join(f'<a class="share-{n}" href="https://{n}.example/share?u=x">{n}</a>' for n in "abcdef")
    script = "window.__STATE__ = " + json.dumps({f"key{i}": [rng.random(), str(i)] for i in range(500)}) + ";"
    style = "".join(f".c{i} {{ margin: {i}px; color: #{i:06x}; }}\n" for i in range(300))
    published = (
        '<meta property="article:published_time" content="2025-07-21T10:15:00Z">'
        if lang == "en" or rng.random() < 0.5
        else ""
    )
    visible_date = "سه‌شنبه ۳۱ تیر ۱۴۰۴ - ۱۳:۴۵" if lang == "fa" else "July 21, 2025"
    direction = ' dir="rtl"' if lang == "fa" else ""
    article = _nested(
        f'<article><h1>{title}</h1><div class="byline">{rng.choice(words)}</div>'
        f'<div class="news-date">{visible_date}</div><div class="share">{share}</div>'
        f'<div class="article-body">{body}</div><ul class="tags">{tags}</ul></article>',
        4,
        "main",
    )
    return f"""<!DOCTYPE html><html lang="{lang}"{direction}><head><meta charset="utf-8">
<title>{title} | Example</title><meta property="og:title" content="{title}">{published}
<link rel="canonical" href="/news/{rng.randint(1, 10**6)}"><style>{style}</style><script>{script}</script>
</head><body><div class="cookie-banner"><p>{_sentence(rng, words, 25)}</p><button>OK</button></div>
<header><div class="top-date">{visible_date}</div><nav><ul>{menu}</ul></nav></header>
<main>{article}
<aside class="sidebar"><h3>{rng.choice(words)}</h3>{teasers}</aside>
<section class="comments" id="comments"><h3>Comments</h3><ul>{comments}</ul></section></main>
<footer><ul>{tags}</ul><p>{_sentence(rng, words, 20)}</p></footer></body></html>"""


def measure(
    name: str, pages: Sequence[Item], run: Callable[[Item], str], repeat: int, *, check_comments: bool = True
) -> None:
    cpu_runs, wall_runs, leaked = [], [], 0
    for attempt in range(repeat):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        texts = [run(page) for page in pages]
        cpu_runs.append(time.process_time() - cpu_start)
        wall_runs.append(time.perf_counter() - wall_start)
        if attempt == 0:
            leaked = sum(any(mark in text for mark in COMMENT_MARK.values()) for text in texts)
    cpu, wall = statistics.median(cpu_runs), statistics.median(wall_runs)
    leaks = f"  comments leaked on {leaked}/{len(pages)} pages" if check_comments else ""
    print(f"{name:44s} {len(pages) / wall:7.1f} pages/s  {cpu / len(pages) * 1000:6.2f} CPU ms/page{leaks}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # trafilatura logs every discarded candidate

    rng = random.Random(args.seed)
    pages = [make_page(rng, "fa" if i % 3 == 0 else "en") for i in range(args.pages)]
    sizes = [len(page.encode()) for page in pages]
    print(
        f"{len(pages)} pages ({sum(i % 3 == 0 for i in range(len(pages)))} Persian), "
        f"{min(sizes) // 1024}-{max(sizes) // 1024} KB, mean {statistics.mean(sizes) / 1024:.0f} KB; "
        f"median of {args.repeat} runs; options {dict(TRAFILATURA_OPTIONS)}"
    )
    url = "https://news.example.com/2025/07/21/story"
    measure(
        "extract_article (text + metadata)", pages, lambda page: extract_article(page, url).text, args.repeat
    )
    measure(
        "trafilatura.extract, same options",
        pages,
        lambda page: trafilatura.extract(page, url=url, **TRAFILATURA_OPTIONS) or "",
        args.repeat,
    )
    measure(
        "trafilatura.extract defaults",
        pages,
        lambda page: trafilatura.extract(page, url=url) or "",
        args.repeat,
    )
    measure(
        "trafilatura.extract fast, no comments",
        pages,
        lambda page: trafilatura.extract(page, url=url, fast=True, include_comments=False) or "",
        args.repeat,
    )
    real_dir = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "html"
    if real_dir.is_dir():
        real = [
            path.read_text(encoding="utf-8", errors="replace") for path in sorted(real_dir.rglob("*.html"))
        ]
        print(f"\n{len(real)} real saved pages from {real_dir.resolve()} (newspaper4k, goose3 suites)")
        measure(
            "extract_article, real pages", real, lambda page: extract_article(page, url).text, args.repeat
        )
        measure(
            "trafilatura.extract same options, real pages",
            real,
            lambda page: trafilatura.extract(page, url=url, **TRAFILATURA_OPTIONS) or "",
            args.repeat,
        )
        measure(
            "trafilatura.extract defaults, real pages",
            real,
            lambda page: trafilatura.extract(page, url=url) or "",
            args.repeat,
        )
    print()
    utf8 = [page.encode("utf-8") for page in pages]
    measure(
        "decode_body, utf-8 labelled utf-8",
        utf8,
        lambda body: decode_body(body, header_charset="utf-8").text,
        args.repeat,
        check_comments=False,
    )
    legacy = [
        page.translate(LEGACY_SPELLING).replace("utf-8", "windows-1256").encode("cp1256")
        for i, page in enumerate(pages)
        if i % 3 == 0
    ]
    measure(
        "decode_body, cp1256 mislabelled utf-8",
        legacy,
        lambda body: decode_body(body, header_charset="utf-8").text,
        args.repeat,
        check_comments=False,
    )


if __name__ == "__main__":
    main()
