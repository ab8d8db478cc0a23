"""Soak benchmark: ``tocsin run`` against 100 feed sources on loopback for 10+ minutes.

Starts an aiohttp site (one RSS feed per source, new articles published while it runs, some of them
matching the benchmark's rule) and a webhook that stands in for the alert channel (Apprise ``json://``),
then runs the real service as a subprocess and prints, every ``--every`` seconds:

- the service's RSS (its own process; each crawl is a short-lived child, shown separately),
- items stored so far and items per second,
- alert latency: from the item's storage (``Item.fetched_at``, set just before the crawl child commits
  it) to the webhook receiving the Apprise call; median and p95 at the end.

Targets (docs/service.md): memory flat and under 300 MB; p95 latency under 1 s.

    .venv/bin/python bench/soak.py --duration 10m            # the real soak
    .venv/bin/python bench/soak.py --duration 60s --sources 10   # a smoke run
    .venv/bin/python bench/soak.py --duration 15m --tracemalloc  # where memory grows (slower service)

``--tracemalloc`` runs the service with ``TOCSIN_TRACEMALLOC`` and sends it SIGUSR1 a third of the way
through and at the end (monitor/service/memory_report.py): the second report is what grew after warm-up, by
line of Tocsin's code; it is printed from the service's log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.types import parse_duration  # noqa: E402
from monitor.service.memory_report import REPORT_HEADER as MEMORY_REPORT  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Item  # noqa: E402

TRIGGER = "executed"
RULES = f"""version: 1
rules:
  - id: soak-execution
    event: execution
    severity: critical
    query: '{TRIGGER}'
"""
FEED_SIZE = 20
WORDS = [
    "relatives",
    "lawyers",
    "prisoners",
    "court",
    "hearing",
    "province",
    "officials",
    "families",
    "statement",
    "council",
    "report",
    "ministry",
    "agency",
    "witnesses",
    "journalist",
    "sentence",
    "appeal",
    "transfer",
    "ward",
    "visit",
    "letter",
    "detention",
    "hospital",
    "judge",
    "branch",
    "charges",
    "protest",
    "teachers",
    "workers",
    "students",
    "union",
    "village",
    "city",
    "week",
    "month",
    "morning",
]


def paragraph(seed: int) -> str:
    """Distinct text per article (near-duplicate articles would rightly be folded into one alert)."""
    rng = random.Random(seed)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        for _ in range(12)
    ]
    return " ".join(sentences)


@dataclass
class Site:
    """Articles per source, published over time; webhook receipts with their arrival times."""

    sources: int
    articles: dict[int, list[tuple[int, str, datetime]]] = field(default_factory=dict)
    receipts: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    base: str = ""

    def publish(self, source: int, *, matching: bool) -> None:
        with self.lock:
            self.counter += 1
            title = (
                f"Prisoner {self.counter} {TRIGGER} in Ghezel Hesar"
                if matching
                else f"Report {self.counter} on prison conditions"
            )
            self.articles.setdefault(source, []).append((self.counter, title, datetime.now(UTC)))

    def feed(self, source: int) -> str:
        with self.lock:
            entries = list(self.articles.get(source, []))[-FEED_SIZE:]
        items = "".join(
            f"<item><title>{title}</title><link>{self.base}/s{source}/a{n}.html</link>"
            f"<guid>{self.base}/s{source}/a{n}.html</guid><pubDate>{format_datetime(when)}</pubDate></item>"
            for n, title, when in reversed(entries)
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>s{source}</title>'
            f"<link>{self.base}/s{source}/</link><description>soak</description>{items}</channel></rss>"
        )

    def article(self, source: int, number: int) -> str | None:
        with self.lock:
            found = next((t for n, t, _ in self.articles.get(source, []) if n == number), None)
        if found is None:
            return None
        body = f"<p>{found}.</p>" + "".join(
            f"<p>{paragraph(number * 10 + k)}</p>" for k in range(3)
        )
        return (
            f"<html><head><title>{found}</title></head><body><nav>Home News</nav>"
            f"<article><h1>{found}</h1>{body}</article></body></html>"
        )


def serve(site: Site, ready: threading.Event, stop: threading.Event) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(
            text=site.feed(int(request.match_info["s"])), content_type="application/rss+xml"
        )

    async def article(request: web.Request) -> web.Response:
        html = site.article(int(request.match_info["s"]), int(request.match_info["n"]))
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    async def hook(request: web.Request) -> web.Response:
        payload = await request.json()
        with site.lock:
            site.receipts.append((time.time(), payload))
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/s{s}/feed.xml", feed)
        app.router.add_get("/s{s}/a{n}.html", article)
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", 0, backlog=512)
        await tcp.start()
        port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        site.base = f"http://127.0.0.1:{port}"
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await runner.cleanup()

    asyncio.run(main())


def write_config(directory: Path, site: Site, args: argparse.Namespace) -> None:
    (directory / "rules").mkdir(parents=True)
    (directory / "rules" / "soak.yaml").write_text(RULES, encoding="utf-8")
    settings = {
        "data_dir": "data",
        "schedule": {
            "interval": f"{args.interval}s",
            "jitter": f"{max(1, args.interval // 10)}s",
            "crawl_timeout": "60s",
            "dispatch_interval": "10s",
        },
        "crawl": {"obey_robots": False, "autothrottle": False, "concurrent_per_domain": 8},
        "service": {"health_port": 0, "max_concurrent_crawls": args.concurrency},
        "log": {"level": "WARNING"},
        "channels": {"hook": {"url": site.base.replace("http://", "json://") + "/hook"}},
    }
    sources = [
        {"id": f"s{n}", "kind": "feed", "url": f"{site.base}/s{n}/feed.xml"}
        for n in range(site.sources)
    ]
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (directory / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")


def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found[1]) / 1024 if found else 0.0


def children_rss_mb(pid: int) -> tuple[int, float]:
    count, total = 0, 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2 :].split()[1] == str(pid):
            count += 1
            total += rss_mb(int(entry.name))
    return count, total


def latencies(site: Site, database: Database) -> list[float]:
    with site.lock:
        receipts = list(site.receipts)
    with database.read() as session:
        stored = {title: item.fetched_at for item in session.query(Item) for title in [item.title]}
    found = []
    for received, payload in receipts:
        text = f"{payload.get('title', '')}\n{payload.get('message', '')}"
        match = re.search(rf"Prisoner \d+ {TRIGGER} in Ghezel Hesar", text)
        if match and match[0] in stored:
            found.append(received - stored[match[0]].timestamp())
    return found


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time: ~0 when memory is flat, the creep rate when it is not."""
    if len(samples) < 3:
        return float("nan")
    mean_t = statistics.fmean(t for t, _ in samples)
    mean_r = statistics.fmean(r for _, r in samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return 3600 * sum((t - mean_t) * (r - mean_r) for t, r in samples) / spread if spread else float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
        if ordered
        else float("nan")
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", default="10m", help="how long to run, e.g. 10m, 90s (default 10m)"
    )
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument(
        "--interval", type=int, default=120, help="seconds between crawls of one source"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="max_concurrent_crawls")
    parser.add_argument(
        "--publish-every", type=float, default=2.0, help="seconds between new articles"
    )
    parser.add_argument(
        "--matching", type=float, default=0.3, help="share of new articles that match"
    )
    parser.add_argument("--every", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace allocations in the service and print what grew after warm-up")
    args = parser.parse_args()
    duration = parse_duration(args.duration).total_seconds()

    site = Site(args.sources)
    ready, stop = threading.Event(), threading.Event()
    threading.Thread(target=serve, args=(site, ready, stop), daemon=True).start()
    ready.wait(10)
    for n in range(args.sources):  # something to find on the first crawl (a silent-ish baseline)
        site.publish(n, matching=False)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-soak-"))
    config_dir = workdir / "config"
    write_config(config_dir, site, args)
    database = Database(f"sqlite:///{config_dir / 'data' / 'tocsin.db'}")
    log_path = workdir / "service.log"
    print(
        f"soak: {args.sources} sources every {args.interval}s, {args.concurrency} concurrent crawls, "
        f"one article every {args.publish_every}s ({args.matching:.0%} matching), for {duration:.0f}s; "
        f"work dir {workdir}",
        flush=True,
    )
    with open(log_path, "w") as log:
        env = {**os.environ, "TOCSIN_TRACEMALLOC": "25"} if args.tracemalloc else None
        service = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    started = time.monotonic()
    next_publish = next_report = started
    memory_looks = [started + duration / 3] if args.tracemalloc else []
    samples: list[tuple[float, float]] = []
    rng = random.Random(7)
    print(
        f"{'t(s)':>6} {'rss MB':>7} {'crawls':>6} {'crawl MB':>8} {'items':>6} {'items/s':>7} "
        f"{'alerts':>6} {'p50 s':>6} {'p95 s':>6}",
        flush=True,
    )
    try:
        while time.monotonic() - started < duration:
            now = time.monotonic()
            if now >= next_publish:
                site.publish(rng.randrange(args.sources), matching=rng.random() < args.matching)
                next_publish += args.publish_every
            if now >= next_report:
                next_report += args.every
                elapsed = now - started
                rss = rss_mb(service.pid)
                samples.append((elapsed, rss))
                children, children_mb = children_rss_mb(service.pid)
                try:
                    with database.read() as session:
                        items = session.query(Item).count()
                except Exception:  # noqa: BLE001 - not migrated yet in the first second
                    items = 0
                lat = latencies(site, database) if items else []
                print(
                    f"{elapsed:6.0f} {rss:7.1f} {children:6d} {children_mb:8.1f} {items:6d} "
                    f"{items / max(elapsed, 1):7.2f} {len(lat):6d} {percentile(lat, 0.5):6.3f} "
                    f"{percentile(lat, 0.95):6.3f}",
                    flush=True,
                )
            if memory_looks and now >= memory_looks[0]:
                memory_looks.pop(0)
                service.send_signal(signal.SIGUSR1)  # the baseline for "what grew after warm-up"
            if service.poll() is not None:
                print(f"the service exited early with code {service.returncode}; see {log_path}")
                return 1
            time.sleep(0.05)
    finally:
        if args.tracemalloc and service.poll() is None:
            service.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 120  # two snapshots of a traced process take a while
            while time.monotonic() < deadline and log_path.read_text(errors="replace").count(MEMORY_REPORT) < 2:
                time.sleep(0.5)
        stop_started = time.monotonic()
        service.send_signal(signal.SIGTERM)
        try:
            code = service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            code = service.wait()
        stop_seconds = time.monotonic() - stop_started
    elapsed = time.monotonic() - started
    with database.read() as session:
        items = session.query(Item).count()
    lat = latencies(site, database)
    matching_published = sum(
        1 for arts in site.articles.values() for _, title, _ in arts if TRIGGER in title
    )
    steady = [rss for t, rss in samples if t >= min(120.0, elapsed / 3)]
    print("\nsummary", flush=True)
    print(f"  duration {elapsed:.0f}s, SIGTERM -> exit {code} in {stop_seconds:.1f}s")
    print(
        f"  items stored {items} ({items / elapsed:.2f}/s); matching articles published {matching_published}, "
        f"alerts received {len(lat)}"
    )
    if lat:
        print(
            f"  alert latency (stored -> Apprise call): median {statistics.median(lat):.3f}s, "
            f"p95 {percentile(lat, 0.95):.3f}s, max {max(lat):.3f}s"
        )
    if samples:
        print(
            f"  service RSS: start {samples[0][1]:.1f} MB, max {max(r for _, r in samples):.1f} MB, "
            f"end {samples[-1][1]:.1f} MB"
            + (f", steady-state range {min(steady):.1f}-{max(steady):.1f} MB" if steady else "")
        )
        steady_samples = [(t, rss) for t, rss in samples if t >= min(120.0, elapsed / 3)]
        half = len(steady_samples) // 2
        print(
            f"  RSS trend after warm-up: {slope_mb_per_hour(steady_samples):+.1f} MB/h overall, "
            f"{slope_mb_per_hour(steady_samples[:half]):+.1f} MB/h in its first half, "
            f"{slope_mb_per_hour(steady_samples[half:]):+.1f} MB/h in its second half (flat: near 0)"
        )
    print(
        json.dumps(
            {
                "items": items,
                "alerts": len(lat),
                "duration_s": round(elapsed),
                "p50_s": statistics.median(lat) if lat else None,
                "p95_s": percentile(lat, 0.95),
                "rss_max_mb": max((r for _, r in samples), default=0),
                "rss_slope_mb_h": round(slope_mb_per_hour(
                    [(t, rss) for t, rss in samples if t >= min(120.0, elapsed / 3)]), 2),
                "stop_s": round(stop_seconds, 2),
            }
        )
    )
    if args.tracemalloc:
        reports = log_path.read_text(encoding="utf-8", errors="replace").split(MEMORY_REPORT)
        print("\nwhat grew after warm-up (tracemalloc, from the service's log):")
        print(MEMORY_REPORT + reports[-1][:4000] if len(reports) > 2 else "  (no report)")
    stop.set()
    database.dispose()
    return 0 if os.environ.get("SOAK_STRICT") != "1" or (lat and percentile(lat, 0.95) < 1.0) else 1


if __name__ == "__main__":
    sys.exit(main())
