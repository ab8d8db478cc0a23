"""Outbox benchmark: what finding the deliveries due costs when the queue is long.

``storage.alerts_repo.due_deliveries`` runs before every send of the dispatcher. It keeps each channel's
queue head-of-line: a delivery waits while an older one to the same channel waits for its retry. This
fills a migrated SQLite file (WAL, as in production) with --alerts alerts, each queued for --channels
channels, and puts the oldest delivery of half the channels in retry backoff (a channel outage). Prints
the median ms per call (of --repeat calls) of due_deliveries(limit=50), and how many it returned.

    .venv/bin/python bench/bench_outbox.py [--alerts 5000] [--channels 4] [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import alerts_repo, migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Alert, Delivery  # noqa: E402

NOW = datetime(2025, 9, 19, 9, 0, tzinfo=UTC)


def fill(database: Database, *, alerts: int, channels: int) -> None:
    names = [f"channel{n}" for n in range(channels)]
    with database.write() as session:
        rows = [Alert(dedup_key=f"bench|{n}", kind="event", event_type="transfer", severity="critical",
                      title=f"alert {n}", first_seen_at=NOW, last_seen_at=NOW) for n in range(alerts)]
        session.add_all(rows)
        session.flush()
        queued = [Delivery(alert_id=alert.id, channel=name, kind="new", next_attempt_at=NOW, created_at=NOW)
                  for alert in rows for name in names]
        for head in queued[: channels // 2]:  # these channels are down: their oldest waits for its retry
            head.attempts, head.next_attempt_at = 1, NOW + timedelta(minutes=5)
        session.add_all(queued)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(database)
        fill(database, alerts=args.alerts, channels=args.channels)
        timings, found = [], 0
        with database.read() as session:
            for _ in range(args.repeat):
                start = time.perf_counter()
                found = len(alerts_repo.due_deliveries(session, now=NOW, limit=50))
                timings.append((time.perf_counter() - start) * 1000)
        database.dispose()
    queued = args.alerts * args.channels
    print(f"due_deliveries over {queued} queued deliveries ({args.channels // 2} of {args.channels} channels held "
          f"by a delivery in backoff): {statistics.median(timings):.2f} ms per call (median of {args.repeat}), "
          f"{found} due")


if __name__ == "__main__":
    main()
