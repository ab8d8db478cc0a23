"""StoragePipeline: batches commit together, one bad item never loses the others, events follow commits."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.evidence import export_items
from crawler.pipelines import StoragePipeline
from crawler.recheck import CheckedRecord
from storage.db import Database
from storage.models import Item, Snapshot
from storage.records import ItemRecord, SnapshotRecord
from storage.repository import sync_source
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import Post, telegram_page
from tests.crawler.test_evidence import read_warc
from tests.support.site import SiteServer

NOW = datetime(2025, 7, 19, 8, 0, tzinfo=UTC)
PAGE = "http://127.0.0.1/s/channel"


def post(number: int, *, page: bytes = b"<html>channel page</html>", fetched_at: datetime = NOW) -> ItemRecord:
    snapshot = SnapshotRecord(url=PAGE, final_url=PAGE, status=200, headers={}, body=page, fetched_at=NOW)
    return ItemRecord(source_id="tg", url=f"https://t.me/channel/{number}", title=f"Post {number}",
                      text=f"text of post {number}", fetched_at=fetched_at, snapshot=snapshot)


@pytest.fixture
def database(tmp_path: Path, migrated_template: Path) -> Database:
    shutil.copyfile(migrated_template, tmp_path / "tocsin.db")
    db = Database(f"sqlite:///{tmp_path / 'tocsin.db'}")
    with db.write() as session:
        sync_source(session, source_id="tg", kind="telegram", name="tg", url=PAGE, tags=[])
    return db


@pytest.fixture
def pipeline(database: Database) -> StoragePipeline:
    return StoragePipeline(database.url, get_crawler().stats, batch_size=100)


def events(out: str) -> list[dict[str, object]]:
    return [json.loads(line.removeprefix("TOCSIN ")) for line in out.splitlines() if line.startswith("TOCSIN ")]


def stored_urls(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(Item.url).order_by(Item.url)))


def test_a_batch_is_announced_once_committed(pipeline: StoragePipeline, database: Database,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for number in (1, 2, 3, 2):
        pipeline.process_item(post(number))
    assert events(capsys.readouterr().out) == []  # nothing is announced before its batch is committed
    pipeline.close_spider()
    announced = events(capsys.readouterr().out)
    with database.read() as session:
        ids = {url: item_id for item_id, url in session.execute(select(Item.id, Item.url))}
    assert announced == [{"event": "item", "id": ids[f"https://t.me/channel/{n}"], "outcome": "new", "version": 1}
                         for n in (1, 2, 3)]
    stats = pipeline.stats.get_stats()
    assert stats["tocsin/items_new"] == 3 and stats["tocsin/items_unchanged"] == 1
    assert stats["tocsin/items_seen"] == 4


def test_one_bad_item_does_not_lose_its_batch(pipeline: StoragePipeline, database: Database,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = post(2, fetched_at=datetime(2025, 7, 19, 8, 0))  # naive: the database layer refuses it
    for record in (post(1), bad, post(3), CheckedRecord(item_id=999_999, outcome="present")):
        pipeline.process_item(record)
    pipeline.close_spider()

    assert stored_urls(database) == ["https://t.me/channel/1", "https://t.me/channel/3"]
    assert [e["outcome"] for e in events(capsys.readouterr().out)] == ["new", "new"]
    stats = pipeline.stats.get_stats()
    assert stats["tocsin/store_errors"] == 2  # the bad post and the check of an item that does not exist
    assert stats["tocsin/items_new"] == 2
    with database.read() as session:  # the page's snapshot survived the failed first attempt
        snapshot_ids = set(session.scalars(select(Item.snapshot_id)))
        assert len(snapshot_ids) == 1
        assert session.get(Snapshot, snapshot_ids.pop()) is not None


def test_posts_of_one_page_keep_one_snapshot_across_batches(database: Database) -> None:
    pipeline = StoragePipeline(database.url, get_crawler().stats, batch_size=2)
    for number in range(1, 6):
        pipeline.process_item(post(number))
    pipeline.process_item(post(6, page=b"<html>the next page</html>"))
    pipeline.close_spider()
    with database.read() as session:
        assert len(stored_urls(database)) == 6
        assert session.scalars(select(Snapshot.body_size).order_by(Snapshot.id)).all() == [
            len(b"<html>channel page</html>"), len(b"<html>the next page</html>")]


def test_telegram_posts_share_the_page_snapshot_and_export_it(site: SiteServer, env: CrawlEnv,
                                                               tmp_path: Path) -> None:
    posts = [Post(12, "اعدام یک زندانی"), Post(11, "second post"), Post(10, "third post")]
    site.route("/t/s/chan", telegram_page("chan", posts, before=None))
    env.sources({"id": "tg", "kind": "telegram", "url": site.url("/t/s/chan")})
    assert env.crawl("tg").ok
    stored = items(env, "tg")
    assert len(stored) == 3
    assert len({item.snapshot_id for item in stored}) == 1
    out = tmp_path / "evidence.warc.gz"
    with env.database.read() as session:
        report = export_items(session, [item.id for item in stored], out)
    assert report.responses == 3 and report.skipped == []
    responses = [r for r in read_warc(out) if r[0] == "response"]
    assert len(responses) == 3 and all("tgme_widget_message" in body.decode() for _, _, body, _, _ in responses)
