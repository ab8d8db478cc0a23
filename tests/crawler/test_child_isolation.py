"""A crawl child runs on the configuration its parent gives it, and never outlives its parent.

The service keeps its last good configuration while the user's files are broken or not yet reloaded,
so the child must not read them; and a service that is SIGKILLed must not leave crawls (or their
extraction workers) running on unobserved.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.loader import load_config
from crawler.plan import CrawlPlan, source_plan
from crawler.runner import child_command, run_crawl
from storage.models import Item
from storage.repository import sync_source
from tests.crawler import proctree
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import days_ago, rss
from tests.service.support import wait_until
from tests.support.site import SiteServer

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTICLES = [
    ("/news/articles/execution-warning.html", "Political prisoner transferred", days_ago(1)),
    ("/news/articles/families-protest.html", "Families gather", days_ago(2)),
]
GIVEN_AGENT = "TocsinTest/the-config-the-service-runs-with"

# What a user may do to the files while the service keeps running with the config it loaded.
EDITS = {
    "yaml syntax error": {
        "sources.yaml": "sources:\n  - id: rights\n    kind: feed\n    url: [unclosed\n",
        "settings.yaml": "crawl: {user_agent: 'unterminated\n",
    },
    "schema error": {
        "sources.yaml": "sources:\n  - id: rights\n    kind: carrier-pigeon\n    url: nowhere\n",
        "settings.yaml": "crawl:\n  retries: many\n  colour: blue\n",
    },
    "valid edit not yet reloaded": {
        "sources.yaml": "sources:\n  - id: rights\n    kind: feed\n    url: http://127.0.0.1:9/elsewhere.xml\n",
        "settings.yaml": "crawl:\n  user_agent: NotLoadedYet/1.0\n  obey_robots: false\n",
    },
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=list(EDITS))
def test_a_crawl_uses_the_config_it_was_given_whatever_the_files_say_now(
    site: SiteServer, env: CrawlEnv, edit: dict[str, str]
) -> None:
    site.route("/feed.xml", rss(site.base, ARTICLES), content_type="application/rss+xml")
    env.settings = {**env.settings, "crawl": {**env.settings["crawl"], "user_agent": GIVEN_AGENT}}
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml")})
    config = load_config(env.config_dir)
    for name, text in edit.items():
        (env.config_dir / name).write_text(text, encoding="utf-8")

    outcome = run_crawl(database=env.database, config=config, source=config.source("rights"),
                        timeout=timedelta(seconds=90), log_file=env.root / "crawl.log",
                        scrapy_settings=env.scrapy)

    assert outcome.ok, (outcome.error, env.log()[-3000:])
    assert len(items(env, "rights")) == 2 == len(outcome.new_item_ids)
    [feed_request] = site.seen("/feed.xml")
    assert feed_request.headers.get("User-Agent") == GIVEN_AGENT


def test_the_child_can_still_be_run_by_hand_from_a_config_directory(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", rss(site.base, ARTICLES), content_type="application/rss+xml")
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml")})

    result = subprocess.run(
        [sys.executable, "-m", "crawler.child", "--config", str(env.config_dir), "--source", "rights",
         "--database-url", env.database.url, "--settings-json", json.dumps(env.scrapy)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
        timeout=120, check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    done = json.loads(result.stdout.strip().splitlines()[-1].removeprefix("TOCSIN "))
    assert done["event"] == "done" and done["ok"] is True
    assert len(items(env, "rights")) == 2, (result.stdout[-2000:], result.stderr[-3000:])


def test_credentials_travel_in_the_plan_never_on_the_command_line(env: CrawlEnv) -> None:
    env.sources({"id": "rights", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml",
                 "proxy": "http://user:proxy-s3cret@127.0.0.1:3128"})
    config = load_config(env.config_dir)
    database_url = "postgresql+psycopg://tocsin:db-s3cret@127.0.0.1/tocsin"
    plan = source_plan(config, config.source("rights"), database_url=database_url,
                       timeout=timedelta(minutes=10))

    command = " ".join(child_command(plan, env.config_dir))
    assert "s3cret" not in command
    assert "--source rights" in command and str(env.config_dir) in command  # what ps should show
    received = CrawlPlan.from_json(plan.to_json())
    assert received == plan
    assert received.database_url == database_url
    assert received.work.task == "source" and received.work.source.proxy == config.source("rights").proxy


# --- a crawl dies with its parent ------------------------------------------------------------------------


@pytest.fixture
def slow_crawl(site: SiteServer, env: CrawlEnv) -> Iterator[tuple[subprocess.Popen[bytes], list[proctree.Proc]]]:
    """A crawl child started as the runner starts it, stuck on a slow page after extracting a fast one
    (so its extraction workers exist); yields it and its descendants (forkserver, workers)."""
    proctree.require_proc()
    slow = "/news/slow.html"
    site.route(slow, "<html><body><article><p>slow</p></article></body></html>", delay=120)
    entries = [ARTICLES[0], (slow, "A page that takes its time", days_ago(1))]
    site.route("/feed.xml", rss(site.base, entries), content_type="application/rss+xml")
    env.settings = {**env.settings, "crawl": {**env.settings["crawl"], "download_timeout": "300s",
                                              "retries": 0}}
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml")})
    config = load_config(env.config_dir)
    with env.database.write() as session:  # what run_crawl does before it starts a child
        sync_source(session, source_id="rights", kind="feed", name="rights", url=site.url("/feed.xml"), tags=[])
    plan = source_plan(config, config.source("rights"), database_url=env.database.url,
                       timeout=timedelta(minutes=10), scrapy={**env.scrapy, "TOCSIN_EXTRACTION_WORKERS": 2})
    with open(env.root / "crawl.log", "ab") as log:
        child = subprocess.Popen(child_command(plan, env.config_dir), stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, cwd=REPO_ROOT,
                                 env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert child.stdin is not None
    child.stdin.write(plan.to_json().encode() + b"\n")
    child.stdin.flush()
    try:
        wait_until(lambda: site.seen(slow) and stored(env) == 1, timeout=60,
                   what="the fast article stored and the slow page requested")
        tree = proctree.descendants(child.pid)
        workers = [p for p in tree if "forkserver" in proctree.cmdline(p.pid)]
        assert len(workers) >= 2, f"expected a forkserver and its workers, found {tree}"
        yield child, tree
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            child.stdin.close()
        child.wait()


def stored(env: CrawlEnv) -> int:
    with env.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


def test_a_crawl_and_its_workers_stop_when_the_parent_is_gone(
    slow_crawl: tuple[subprocess.Popen[bytes], list[proctree.Proc]],
) -> None:
    child, tree = slow_crawl
    crawl = proctree.proc(child.pid)
    assert crawl is not None and tree

    assert child.stdin is not None
    child.stdin.close()  # what the kernel does when the parent dies, however it dies

    everything = [crawl, *tree]
    wait_until(lambda: not proctree.survivors(everything), timeout=10, what="the crawl and its workers to exit")


def test_extraction_workers_stop_when_the_crawl_process_is_killed_alone(
    slow_crawl: tuple[subprocess.Popen[bytes], list[proctree.Proc]],
) -> None:
    child, tree = slow_crawl

    os.kill(child.pid, signal.SIGKILL)  # the OOM killer, or a kill by hand: not the process group

    wait_until(lambda: not proctree.survivors(tree), timeout=10, what="the extraction workers to exit")
