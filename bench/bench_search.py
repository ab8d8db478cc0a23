"""Item search (the console's search page, ``tocsin items search``): the cost of indexing stored items (each
title and text normalised as the rules normalise them) and of a query, on SQLite FTS5 and, with --postgres
URL, on PostgreSQL full text. The items are the labelled corpus's passages (tests/data/corpus, English and
Persian), stored --copies times under different URLs.

Prints items indexed per second and the median/p95 query time over a fixed set of English and Persian
queries (wall clock, the database included).

    .venv/bin/python bench/bench_search.py [--copies 20] [--postgres postgresql+psycopg://postgres@127.0.0.1/db]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.alerts.search import index_pending, search_items  # noqa: E402
from monitor.alerts.tuning import read_corpus  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.records import ItemRecord  # noqa: E402
from storage.repository import store_items, sync_source  # noqa: E402

QUERIES = ["executed", '"death sentence"', "prison transfer", "Qezel Hesar", "اعدام", "زنداني", "حكم اعدام",
           '"دیوان عالی"', "منافقین", "Evin prison lawyer"]


def fill(database: Database, copies: int) -> int:
    rows = [row for part in ("tuning", "check") for row in read_corpus(ROOT / "tests/data/corpus" / f"{part}.jsonl")]
    now = datetime.now(UTC)
    with database.write() as session:
        sync_source(session, source_id="bench", kind="feed", name="bench", url="http://127.0.0.1/", tags=[])
        records = [ItemRecord(source_id="bench", url=f"http://127.0.0.1/{copy}/{row.id}", title=row.title or "",
                              text=f"{row.text} ({copy})", lang=row.lang, fetched_at=now)
                   for copy in range(copies) for row in rows]
        store_items(session, records)
    return len(records)


def measure(database: Database, copies: int) -> None:
    migrate.upgrade(database)
    stored = fill(database, copies)
    started = time.perf_counter()
    with database.write() as session:
        indexed = index_pending(session)
    took = time.perf_counter() - started
    print(f"  indexed {indexed} of {stored} items in {took:.2f} s ({indexed / took:,.0f} items/s)")
    times, hits = [], []
    for _ in range(3):
        for query in QUERIES:
            started = time.perf_counter()
            with database.write() as session:
                result = search_items(session, query, limit=25)
            times.append(time.perf_counter() - started)
            hits.append(result.total)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"  query: median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms over "
          f"{len(times)} queries ({min(hits)}..{max(hits)} hits each)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20, help="times the corpus is stored")
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to measure too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        print("SQLite FTS5:")
        database = Database(f"sqlite:///{directory}/bench.db")
        measure(database, args.copies)
        database.dispose()
    if args.postgres:
        print("PostgreSQL full text:")
        database = Database(args.postgres)
        measure(database, args.copies)
        database.dispose()


if __name__ == "__main__":
    main()
