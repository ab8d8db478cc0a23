"""Storage benchmark: what storing one crawled article costs, and whether the cost grows with the table.

Uses the article pages of bench/bench_crawl.py (~31 KB, 1 in 3 Persian) as raw responses, on a migrated
SQLite file (WAL, as in production). Prints CPU ms per item (median of --repeat runs) for:

- evidence   gzip of the raw body at each level, with the compression ratio (and on the real pages under
             ../shared/fixtures/html when present: they are larger, so the level matters more);
- batch      storage.repository.store_items, the crawl pipeline's path (one transaction per batch);
- one by one store_item per record with a savepoint each, 25 per transaction: the pipeline's fallback
             when a batch fails, and what every item cost before batching;
- unchanged  a re-crawl of the same items (every record already stored);
- late       the batch path again after --rows items are stored: lookups must not scan the table.

    .venv/bin/python bench/bench_store.py [--items 2000] [--rows 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_crawl import article_page  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.records import GZIP_LEVEL, ItemRecord, SnapshotRecord  # noqa: E402
from storage.repository import store_item, store_items, sync_source  # noqa: E402

FIXTURES = ROOT / ".." / "shared" / "fixtures" / "html"
BATCH = 100
FALLBACK_BATCH = 25


def records(pages: Sequence[bytes], *, start: int = 0, tag: str = "") -> list[ItemRecord]:
    now = datetime.now(UTC)
    out = []
    for offset, body in enumerate(pages):
        url = f"http://127.0.0.1/a/{start + offset}.html"
        text = body[2000:7000].decode("utf-8", "ignore") + tag  # stands in for the extracted text
        snapshot = SnapshotRecord(url=url, final_url=url, status=200, headers={"Content-Type": "text/html"},
                                  body=body, fetched_at=now)
        out.append(ItemRecord(source_id="bench", url=url, title=f"Article {start + offset}", text=text,
                              fetched_at=now, lang="en", snapshot=snapshot))
    return out


def cpu_ms_per_item(store: Callable[[Database, Sequence[ItemRecord]], None], database: Database,
                    items: Sequence[ItemRecord]) -> float:
    start = time.process_time()
    store(database, items)
    return 1000 * (time.process_time() - start) / max(1, len(items))


def fresh_database(directory: Path, name: str) -> Database:
    database = Database(f"sqlite:///{directory / name}")
    migrate.upgrade(database)
    with database.write() as session:
        sync_source(session, source_id="bench", kind="sitemap", name="bench", url="http://127.0.0.1/", tags=[])
    return database


def store_batched(database: Database, items: Sequence[ItemRecord]) -> None:
    for start in range(0, len(items), BATCH):
        with database.write() as session:
            store_items(session, items[start:start + BATCH])


def store_one_by_one(database: Database, items: Sequence[ItemRecord]) -> None:
    for start in range(0, len(items), FALLBACK_BATCH):
        with database.write() as session:
            for record in items[start:start + FALLBACK_BATCH]:
                with session.begin_nested():
                    store_item(session, record)


def gzip_figures(label: str, pages: Sequence[bytes]) -> None:
    size = sum(map(len, pages))
    for level in (1, 4, 6, 9):
        start = time.process_time()
        packed = sum(len(gzip.compress(page, compresslevel=level, mtime=0)) for page in pages)
        ms = 1000 * (time.process_time() - start) / len(pages)
        mark = " (used)" if level == GZIP_LEVEL else ""
        print(f"  gzip level {level}{mark:<7} {label:<36} {ms:6.2f} CPU ms/page   ratio {size / packed:4.2f}")


def real_pages(limit: int = 300) -> list[bytes]:
    if not FIXTURES.is_dir():
        return []
    found = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".html", ".htm"))
    return [p.read_bytes() for p in found[:limit]]


def one_run(pages: Sequence[bytes], rows: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        batched = fresh_database(Path(tmp), "batch.db")
        single = fresh_database(Path(tmp), "single.db")
        figures["batch"] = cpu_ms_per_item(store_batched, batched, records(pages))
        figures["unchanged"] = cpu_ms_per_item(store_batched, batched, records(pages))
        figures["one by one"] = cpu_ms_per_item(store_one_by_one, single, records(pages))
        for start in range(len(pages), rows, len(pages)):
            store_batched(batched, records(pages, start=start, tag=f" {start}"))
        figures["late"] = cpu_ms_per_item(store_batched, batched, records(pages, start=rows + len(pages)))
        batched.dispose()
        single.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20000, help="items stored before the 'late' figure")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pages = [article_page(i) for i in range(args.items)]
    print(f"{args.items} generated pages of ~{sum(map(len, pages)) // len(pages) // 1024} KB")
    gzip_figures("generated pages", pages)
    if real := real_pages():
        gzip_figures(f"{len(real)} real pages of ~{sum(map(len, real)) // len(real) // 1024} KB", real)

    runs = [one_run(pages, args.rows) for _ in range(args.repeat)]
    labels = {
        "batch": f"store_items, batches of {BATCH}",
        "one by one": f"store_item + savepoint each, {FALLBACK_BATCH} per transaction",
        "unchanged": "store_items, all unchanged (re-crawl)",
        "late": f"store_items after ~{args.rows:,} rows",
    }
    for key, label in labels.items():
        median = statistics.median(run[key] for run in runs)
        print(f"  {label:<58} {median:6.3f} CPU ms/item  {1000 / median:8.0f} items/s (CPU)")


if __name__ == "__main__":
    main()
