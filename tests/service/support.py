"""What the service tests drive: a news site whose articles appear while the service runs, a webhook inbox
standing in for the alert channel (Apprise ``json://``), and ``tocsin run`` as a real subprocess.

Everything waits by polling with a deadline (``wait_until``); nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
WORDS = [
    "relatives",
    "lawyers",
    "court",
    "hearing",
    "province",
    "officials",
    "families",
    "statement",
    "council",
    "ministry",
    "agency",
    "witnesses",
    "journalist",
    "appeal",
    "ward",
    "visit",
    "letter",
    "detention",
    "hospital",
    "judge",
    "branch",
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
    "evening",
]


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def distinct_text(seed: int) -> str:
    """Article text unlike any other article's (near-copies are rightly folded into one alert)."""
    rng = random.Random(seed)
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 15))).capitalize() + "."
        for _ in range(10)
    )


@dataclass
class Article:
    slug: str
    title: str
    text: str
    published: datetime


@dataclass
class NewsSite:
    """An RSS feed of articles; articles can be held (the request waits) to catch a crawl mid-flight."""

    articles: list[Article] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: dict[str, threading.Event] = field(default_factory=dict)
    base_url: str = ""

    def publish(self, title: str, *, body: str = "", hold: bool = False) -> Article:
        with self.lock:
            number = len(self.articles) + 1
            article = Article(
                f"a{number}", title, f"{title}. {body} {distinct_text(number)}", datetime.now(UTC)
            )
            if hold:
                self.held[article.slug] = threading.Event()
            self.articles.append(article)
        return article

    def release(self, slug: str) -> None:
        self.held[slug].set()

    def requested(self, slug: str) -> bool:
        with self.lock:
            return f"/news/{slug}.html" in self.requests

    def alerts_for(self, needle: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                m for m in self.inbox if needle in f"{m.get('title', '')}\n{m.get('message', '')}"
            ]

    def feed(self) -> bytes:
        with self.lock:
            items = "".join(
                f"<item><title>{a.title}</title><link>{self.base_url}/news/{a.slug}.html</link>"
                f"<guid>{self.base_url}/news/{a.slug}.html</guid><pubDate>{format_datetime(a.published)}"
                "</pubDate></item>"
                for a in reversed(self.articles)
            )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test news</title>'
            f"<link>{self.base_url}/</link><description>test</description>{items}</channel></rss>"
        ).encode()

    def page(self, slug: str) -> bytes | None:
        with self.lock:
            article = next((a for a in self.articles if a.slug == slug), None)
            hold = self.held.get(slug)
        if article is None:
            return None
        if hold is not None:
            hold.wait(30)
        return (
            f"<html><head><title>{article.title}</title></head><body><article><h1>{article.title}</h1>"
            f"<p>{article.text}</p></article></body></html>"
        ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        site = self.server.site
        with site.lock:
            site.requests.append(self.path)
        if self.path == "/feed.xml":
            self._reply(200, site.feed(), "application/rss+xml; charset=utf-8")
            return
        found = re.fullmatch(r"/news/(\w+)\.html", self.path)
        page = site.page(found[1]) if found else None
        if page is None:
            self._reply(404, b"not found", "text/plain")
        else:
            self._reply(200, page, "text/html; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        with self.server.site.lock:
            self.server.site.inbox.append(payload)
        self._reply(200, b"ok", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    site: NewsSite


def start_site() -> tuple[NewsSite, Callable[[], None]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    site = NewsSite(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.site = site
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        for event in site.held.values():
            event.set()
        server.shutdown()
        server.server_close()

    return site, stop


RULE_EXECUTED = """version: 1
rules:
  - id: test-executed
    event: execution
    severity: critical
    query: 'executed'
"""


def service_settings(site: NewsSite, **overrides: Any) -> dict[str, Any]:
    """A fast schedule (seconds), the site's webhook as the alert and operator channel."""
    settings: dict[str, Any] = {
        "schedule": {
            "interval": "1s",
            "jitter": "0s",
            "dispatch_interval": "1s",
            "crawl_timeout": "40s",
        },
        "crawl": {"obey_robots": False, "autothrottle": False, "retries": 0},
        "service": {
            "health_port": 0,
            "reload_poll": "300ms",
            "heartbeat_interval": "1s",
            "shutdown_grace": "3s",
            "standby_poll": "300ms",
        },
        "channels": {"hook": {"url": site.base_url.replace("http://", "json://") + "/hook"}},
        "operator_channel": "hook",
    }
    settings.update(overrides)
    return settings


class ServiceProcess:
    """``python -m monitor.cli run --config DIR`` with its output in a file the test can search."""

    def __init__(self, config_dir: Path, log_path: Path, *extra: str) -> None:
        self.config_dir, self.log_path = config_dir, log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait()
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TOCSIN_LOG_JSON": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config_dir), *extra],
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, pattern: str, *, timeout: float = 30.0, after: int = 0) -> str:
        def found() -> str | None:
            if self.process.poll() is not None and not re.search(pattern, self.output[after:]):
                raise AssertionError(
                    f"the service exited ({self.process.returncode}):\n{self.output[-3000:]}"
                )
            hit = re.search(pattern, self.output[after:])
            return hit[0] if hit else None

        matched = wait_until(found, timeout=timeout, what=f"service output matching {pattern!r}")
        assert matched is not None  # wait_until returns only a truthy value
        return matched

    def health_url(self) -> str:
        return self.wait_for_output(r"http://127\.0\.0\.1:\d+(?=/healthz)")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def tocsin(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args, "--config", str(config_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def status(config_dir: Path) -> dict[str, Any]:
    result = tocsin(config_dir, "status", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))
