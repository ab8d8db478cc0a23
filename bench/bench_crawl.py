"""Crawl benchmark: 2,000 realistic article pages on loopback, crawled three ways in one run.

1. bare      a Scrapy spider that only downloads (the floor for fetching);
2. extract   the same download plus decoding and extraction alone, in Tocsin's process pool;
3. tocsin    Tocsin's full pipeline: crawler.runner.run_crawl (child process, sitemap spider, extraction,
             storage with evidence snapshots in SQLite), then matching with the shipped rules
             (monitor.alerts.matching.process_pending).

The article text comes in two kinds (``--text``): ``realistic`` (the default) is real news prose (the
English gold texts of the shared newspaper4k fixtures, the demo site's Persian and English hard negatives)
with a signal paragraph from the demo site's scenario in 1 page of 20, as a monitored feed looks;
``dense`` is word salad drawn from the rules' own vocabulary, so most pages match and every match opens a
new alert: the worst case for matching and alerting.

Prints pages/s (wall clock) and CPU ms per page (user+sys of the crawl process and everything it
started: extraction workers included, the web server excluded: it runs in its own process; for Tocsin
also the parent's side of run_crawl, which reads the child's events). With ``--repeat N`` every figure
is the median of N runs.

``--memory PAGES`` instead crawls a PAGES-page site once (Tocsin's crawl only; 50,000 is the most one
sitemap may list) and prints the peak RSS of the crawl process and of the largest extraction worker,
sampled from /proc, with the crawl process's RSS as the crawl progressed: it must level off, not grow
with the number of pages.

    .venv/bin/python bench/bench_crawl.py [--pages 2000] [--text realistic|dense] [--workers -1] [--inline] [--repeat 3]
    .venv/bin/python bench/bench_crawl.py --memory 50000
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape as html_escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# --- the site ---------------------------------------------------------------------------------------

EN_TEXT = ("the prisoner court sentence execution family lawyer judiciary report ward prison appeal "
           "charge revolutionary supreme hearing transfer solitary confinement rights activists "
           "authorities said according informed sources week month province")
FA_TEXT = ("زندانی دادگاه حکم اعدام خانواده وکیل قوه قضاییه گزارش بند زندان درخواست اتهام انقلاب "
           "دیوان عالی جلسه انتقال انفرادی حقوق فعالان مقامات گفت منابع مطلع هفته ماه استان")
EN_WORDS, FA_WORDS = EN_TEXT.split(" "), FA_TEXT.split(" ")
PREBUILT_PAGES = 5000


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


SHARED_TEXTS = ROOT.parent / "shared" / "fixtures" / "html" / "newspaper4k" / "tests" / "data" / "txt"
ENGLISH_GOLD = ("cleveland.com1", "cnn_001", "cnn_002", "cnn_article", "fox13now_001", "time_001", "wired_001",
                "article_with_br", "article_with_divs", "video_article_01", "video_article_02", "cnn_test_nlp")
DEMO_SITE = ROOT / "monitor" / "demo" / "site"
DEMO_NEUTRAL = ("football-club-completes-transfer", "central-bank-transfer-limits", "non-oil-exports-rise",
                "money-transfer-limit", "transfer-market", "volleyball-result", "weather")
SIGNAL_SHARE = 20  # one page in this many carries a signal paragraph


@dataclass
class Corpus:
    """Paragraphs of real prose to build pages from: neutral news, and signals from the demo scenario."""

    neutral: dict[str, list[str]]  # lang -> paragraphs
    signal: dict[str, list[str]]
    note: str


@functools.cache
def realistic_corpus() -> Corpus:
    from lxml import html

    neutral: dict[str, list[str]] = {"en": [], "fa": []}
    signal: dict[str, list[str]] = {"en": [], "fa": []}
    for page in sorted(DEMO_SITE.rglob("*.html")):
        if page.name == "index.html":
            continue
        tree = html.fromstring(page.read_bytes())
        lang = "fa" if "/fa/" in page.as_posix() or tree.get("lang") == "fa" else "en"
        pool = neutral if page.stem in DEMO_NEUTRAL else signal
        pool[lang] += [text for p in tree.iter("p") if len(text := " ".join(p.text_content().split())) > 60]
    note = "demo-site prose only (../shared absent)"
    if SHARED_TEXTS.is_dir():
        for name in ENGLISH_GOLD:
            path = SHARED_TEXTS / f"{name}.txt"
            if path.exists():
                neutral["en"] += [text for line in path.read_text(encoding="utf-8").split("\n")
                                  if len(text := " ".join(line.split())) > 60]
        note = "newspaper4k gold texts + demo-site prose"
    return Corpus(neutral, signal, f"{note}; 1 page in {SIGNAL_SHARE} with a signal paragraph")


def article_paragraphs(rng: random.Random, index: int, lang: str, text: str) -> list[str]:
    if text == "dense":
        words = FA_WORDS if lang == "fa" else EN_WORDS
        return [" ".join(_sentence(rng, words, rng.randint(12, 30)) for _ in range(4))
                for _ in range(rng.randint(8, 16))]
    corpus = realistic_corpus()
    paragraphs = [rng.choice(corpus.neutral[lang]) for _ in range(rng.randint(8, 16))]
    if index % SIGNAL_SHARE == 0 and corpus.signal[lang]:
        paragraphs.insert(rng.randrange(len(paragraphs)), rng.choice(corpus.signal[lang]))
    return paragraphs


def article_page(index: int, text: str = "realistic") -> bytes:
    """A news article with navigation, sidebars, related links, comments and page chrome (~30-70 KB)."""
    rng = random.Random(index)
    persian = index % 3 == 0
    words = FA_WORDS if persian else EN_WORDS
    lang, direction = ("fa", "rtl") if persian else ("en", "ltr")
    nav = "".join(f'<li><a href="/section/{i}.html">{_sentence(rng, words, 2)[:-1]}</a></li>' for i in range(60))
    body = article_paragraphs(rng, index, lang, text)
    paragraphs = "".join(f"<p>{html_escape(paragraph)}</p>" for paragraph in body)
    sidebar = "".join(f'<li><a href="/a/{rng.randrange(10**6)}.html">{_sentence(rng, words, 7)}</a>'
                      f"<span class='date'>2025-07-{rng.randint(1, 28):02d}</span></li>" for _ in range(60))
    comments = "".join(f'<div class="comment"><b>user{rng.randrange(999)}</b><p>{_sentence(rng, words, 25)}</p></div>'
                       for _ in range(10))
    title = _sentence(rng, words, 9)[:-1] if text == "dense" else html_escape(" ".join(body[0].split()[:9]))
    script = "var config = {" + ",".join(f'"k{i}": {i}' for i in range(400)) + "};"
    published = (datetime(2025, 7, 1, tzinfo=UTC) + timedelta(minutes=index)).isoformat()
    return f"""<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">
<title>{title} | News Site</title><meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published}"><style>.a{{color:red}}</style>
<script>{script}</script></head><body><header><a href="/">News Site</a><nav><ul>{nav}</ul></nav></header>
<div class="wrap"><main><article><h1>{title}</h1><div class="byline">Staff</div>{paragraphs}</article>
<section class="related"><h3>Related</h3><ul>{sidebar[:3000]}</ul></section>
<section class="comments">{comments}</section></main><aside><h3>Most read</h3><ul>{sidebar}</ul></aside></div>
<footer><p>(c) 2025 News Site</p><ul>{nav[:4000]}</ul></footer></body></html>""".encode()


def sitemap(base: str, pages: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    urls = "".join(f"<url><loc>{base}/a/{i}.html</loc><lastmod>{now}</lastmod></url>" for i in range(pages))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


def serve(port_queue: Any, pages: int, text: str) -> None:
    """aiohttp server in its own process (the crawler's CPU figures must not include it)."""
    from aiohttp import web

    # Small sites are generated up front; a 50,000-page site (~1.5 GB) is generated page by page.
    prebuilt = [article_page(i, text) for i in range(pages)] if pages <= PREBUILT_PAGES else []
    generated = functools.lru_cache(maxsize=256)(functools.partial(article_page, text=text))

    def body_of(index: int) -> bytes:
        return prebuilt[index] if prebuilt else generated(index)

    app = web.Application()
    state: dict[str, bytes] = {}

    async def page(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        if not 0 <= index < pages:
            raise web.HTTPNotFound()
        return web.Response(body=body_of(index), content_type="text/html", charset="utf-8")

    async def site_map(request: web.Request) -> web.Response:
        if "map" not in state:
            state["map"] = sitemap(f"http://{request.host}", pages)
        return web.Response(body=state["map"], content_type="application/xml")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    app.router.add_get("/a/{index}.html", page)
    app.router.add_get("/sitemap.xml", site_map)
    app.router.add_get("/robots.txt", robots)

    import asyncio
    import socket

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(2048)
        await web.SockSite(runner, sock).start()
        port_queue.put(sock.getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


# --- modes 1 and 2: a plain Scrapy spider, in a child process ---------------------------------------


def child_crawl(mode: str, base: str, workers: int) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from crawler.extract import ExtractionOverrides
    from crawler.spiders.base import content_type, header_charset
    from crawler.spiders.offload import PageJob, PageProcessor, auto_workers
    from crawler.spiders.sitemap import parse_sitemap

    processor = PageProcessor(auto_workers() if workers < 0 else workers)
    overrides = ExtractionOverrides()

    class BenchSpider(scrapy.Spider):
        name = "bench"

        async def start(self) -> Any:
            yield scrapy.Request(f"{base}/sitemap.xml", callback=self.parse_map)

        def parse_map(self, response: Any) -> Any:
            for entry in parse_sitemap(response.body)[1]:
                yield scrapy.Request(entry.loc, callback=self.parse_page)

        async def parse_page(self, response: Any) -> Any:
            if mode == "extract":
                job = PageJob(response.url, response.body, content_type(response), header_charset(response),
                              None, overrides)
                result = await processor.process(job)
                assert result.extracted is not None and result.extracted.text
            if False:
                yield None

    process = CrawlerProcess({
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32, "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "COOKIES_ENABLED": False,
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": 16 * 1024 * 1024, "CONCURRENT_ITEMS": 16,
    })
    process.crawl(BenchSpider)
    process.start()
    processor.close()


# --- measurement ------------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    pages: int
    wall: float
    cpu: float
    note: str = ""

    def line(self) -> str:
        return (f"{self.name:<44} {self.pages:>6} pages  {self.pages / self.wall:8.1f} pages/s  "
                f"{1000 * self.cpu / max(1, self.pages):7.2f} CPU ms/page  {self.note}")


def median_figure(runs: list[Figure]) -> Figure:
    """The median wall time and CPU time of several runs of one mode (pages and note of the first)."""
    return Figure(runs[0].name, runs[0].pages, statistics.median(f.wall for f in runs),
                  statistics.median(f.cpu for f in runs), runs[0].note)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_plain(mode: str, base: str, pages: int, workers: int) -> Figure:
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", mode, "--base", base, "--workers", str(workers)],
                   check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return Figure(f"{mode}: " + ("download only" if mode == "bare" else "download + extraction"),
                  pages, time.perf_counter() - t0, children_cpu() - cpu0)


@dataclass
class RssSampler:
    """Samples the resident memory of this process's descendants from /proc (Linux), every ``interval``.

    Keeps each process's peak (VmHWM) and the crawl process's RSS over time: the crawl process is the
    one running ``crawler.child``, its descendants are the extraction workers (and their forkserver).
    """

    interval: float = 0.5
    peaks: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (role, peak KiB)
    crawl_rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds, KiB)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        tree = _process_tree()
        for crawl in (pid for pid in _descendants(tree, os.getpid()) if "crawler.child" in _cmdline(pid)):
            for pid, role in [(crawl, "crawl"), *((worker, "worker") for worker in _descendants(tree, crawl))]:
                status = _proc_status(pid)
                if not status:
                    continue
                self.peaks[pid] = (role, max(status.get("VmHWM", 0), self.peaks.get(pid, (role, 0))[1]))
                if role == "crawl":
                    self.crawl_rss.append((time.perf_counter() - self._started, status.get("VmRSS", 0)))

    def peak_mb(self, role: str) -> float:
        return max((kib for r, kib in self.peaks.values() if r == role), default=0) / 1024


def _process_tree() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="latin-1") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    return children


def _descendants(tree: dict[int, list[int]], root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _proc_status(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/status", encoding="latin-1") as status:
            lines = status.read().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(value.split()[0])
    return values


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode("latin-1")
    except OSError:
        return ""


def tocsin_crawl(base: str, pages: int, workers: int, workdir: Path) -> tuple[Figure, Any, Any]:
    """Tocsin's crawl of the site into a fresh database; the figure, the database and the config."""
    import yaml

    from config.loader import DEFAULTS_DIR, load_config
    from crawler.runner import run_crawl
    from storage import migrate
    from storage.db import Database
    from storage.models import Item, Snapshot
    from storage.repository import count_rows

    config_dir = workdir / "config"
    config_dir.mkdir()
    for name in ("rules", "watchlists"):
        if (DEFAULTS_DIR / name).is_dir():
            shutil.copytree(DEFAULTS_DIR / name, config_dir / name)
    (config_dir / "settings.yaml").write_text(yaml.safe_dump({
        "crawl": {"autothrottle": False, "obey_robots": False, "max_items_per_run": pages + 10,
                  "concurrent_per_domain": 32},
        "schedule": {"crawl_timeout": "3h"},
    }))
    (config_dir / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"id": "bench", "kind": "sitemap", "url": f"{base}/sitemap.xml", "max_age": "30d"}]}))
    database = Database(f"sqlite:///{workdir / 'tocsin.db'}")
    migrate.upgrade(database)
    config = load_config(config_dir)
    cpu0, own0, t0 = children_cpu(), self_cpu(), time.perf_counter()
    outcome = run_crawl(database=database, config=config, source=config.source("bench"),
                        timeout=timedelta(hours=3), log_file=workdir / "crawl.log",
                        scrapy_settings={"TOCSIN_EXTRACTION_WORKERS": workers, "CONCURRENT_REQUESTS": 32})
    # The parent's share (reading the child's events) is Tocsin's work too.
    cpu = children_cpu() - cpu0 + self_cpu() - own0
    crawl = Figure("tocsin: fetch + extract + store + evidence", len(outcome.new_item_ids),
                   time.perf_counter() - t0, cpu, f"({outcome.status})")
    with database.read() as session:
        stored, snapshots = count_rows(session, Item), count_rows(session, Snapshot)
    crawl.note += f" {stored} items, {snapshots} snapshots"
    return crawl, database, config


def run_tocsin(base: str, pages: int, workers: int, workdir: Path) -> list[Figure]:
    crawl, database, config = tocsin_crawl(base, pages, workers, workdir)
    figures = [crawl]
    try:
        from monitor.alerts.matching import process_pending
        from monitor.rules import RuleEngine

        engine = RuleEngine.load(config.rule_files, config.watchlist_files)
        scpu0, t1 = self_cpu(), time.perf_counter()
        report = process_pending(database, engine, config)
        match = Figure("  match (shipped rules) + alerts", report.items, time.perf_counter() - t1,
                       self_cpu() - scpu0, f"{report.matches} matches")
        figures.append(match)
        figures.append(Figure("tocsin: full pipeline incl. match", crawl.pages, crawl.wall + match.wall,
                              crawl.cpu + match.cpu))
    except ImportError as exc:
        crawl.note += f" [match skipped: {exc}]"
    database.dispose()
    return figures


def run_memory(base: str, pages: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as workdir, RssSampler() as sampler:
        crawl, database, _config = tocsin_crawl(base, pages, workers, Path(workdir))
        database.dispose()
    print(crawl.line())
    print(f"peak RSS: crawl process {sampler.peak_mb('crawl'):.0f} MB, largest extraction worker "
          f"{sampler.peak_mb('worker'):.0f} MB (sampled every {sampler.interval} s)")
    if sampler.crawl_rss:
        end = sampler.crawl_rss[-1][0]
        marks = []
        for share in (0.1, 0.25, 0.5, 0.75, 1.0):
            _at, kib = next(sample for sample in sampler.crawl_rss if sample[0] >= share * end - 1e-9)
            marks.append(f"{share:.0%}: {kib / 1024:.0f} MB")
        print("crawl process RSS as the crawl went on (share of its duration): " + ", ".join(marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--text", choices=["realistic", "dense"], default="realistic",
                        help="real prose with a signal in 1 page of 20, or rule-vocabulary word salad (worst case)")
    parser.add_argument("--workers", type=int, default=-1, help="extraction processes (-1 = one per core)")
    parser.add_argument("--inline", action="store_true", help="also measure extraction inline (no pool)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every mode; figures are medians")
    parser.add_argument("--memory", type=int, metavar="PAGES", help="only measure memory on a PAGES-page crawl")
    parser.add_argument("--child", choices=["bare", "extract"], help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_crawl(args.child, args.base, args.workers)
        return

    pages = args.memory or args.pages
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve, args=(ports, pages, args.text), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=120)}"
    sample = article_page(1, args.text)
    text = realistic_corpus().note if args.text == "realistic" else "rule-vocabulary word salad"
    print(f"site: {pages} pages of ~{len(sample) // 1024} KB (1 in 3 Persian), {args.text} text ({text}), "
          f"served by aiohttp in its own process; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    if args.memory:
        run_memory(base, pages, args.workers)
        server.terminate()
        return
    runs: dict[str, list[Figure]] = {}
    for _ in range(args.repeat):
        figures = [run_plain("bare", base, pages, args.workers), run_plain("extract", base, pages, args.workers)]
        if args.inline:
            inline = run_plain("extract", base, pages, 0)
            inline.name = "extract: download + extraction inline"
            figures.append(inline)
        with tempfile.TemporaryDirectory() as workdir:
            figures += run_tocsin(base, pages, args.workers, Path(workdir))
        for figure in figures:
            runs.setdefault(figure.name, []).append(figure)
    server.terminate()
    medians = [median_figure(group) for group in runs.values()]
    if args.repeat > 1:
        print(f"median of {args.repeat} runs:")
    for figure in medians:
        print(figure.line())
    extract = medians[1]
    full = next((f for f in medians if f.name.startswith("tocsin: full")), medians[-1])
    crawl = next(f for f in medians if f.name.startswith("tocsin: fetch"))
    per_page = extract.cpu / max(1, extract.pages)
    for label, figure in (("crawl (fetch, extract, store, evidence)", crawl), ("full pipeline", full)):
        overhead = figure.cpu / max(1, figure.pages) / per_page - 1
        print(f"Tocsin's own work on top of download + extraction, {label}: {overhead:+.0%} CPU per page "
              "(target <= +25%)")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of the largest crawl process: {peak:.0f} MB; load average now {os.getloadavg()[0]:.1f} "
          f"(other work on the machine slows the wall-clock figures, less the CPU ones)")


if __name__ == "__main__":
    main()
