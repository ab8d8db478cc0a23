"""``tocsin status`` when no service runs: per-source health and next run from the database, the queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app as cli
from monitor.service.app import App
from storage.models import Alert, CrawlRun, Delivery, Source

RULES = "version: 1\nrules:\n  - {id: r, event: execution, severity: critical, query: 'executed'}\n"


def test_status_reports_sources_queue_and_alerts_of_a_stopped_service(
    tmp_config: Callable[..., Path],
) -> None:
    config = tmp_config(
        sources=[
            {
                "id": "hrana",
                "kind": "feed",
                "url": "http://127.0.0.1:9/feed",
                "schedule": {"interval": "15m"},
            },
            {"id": "off", "kind": "feed", "url": "http://127.0.0.1:9/x", "enabled": False},
        ],
        rules={"r.yaml": RULES},
        watchlists={},
    )
    started = datetime.now(UTC) - timedelta(minutes=5)
    app = App.open(config)
    with app.database.write() as session:
        session.add(
            Source(
                id="hrana",
                kind="feed",
                name="HRANA",
                url="http://127.0.0.1:9/feed",
                last_success_at=started,
                last_run_at=started,
                last_item_count=4,
                consecutive_failures=0,
            )
        )
        session.flush()
        session.add(CrawlRun(source_id="hrana", started_at=started, status="ok"))
        alert = Alert(
            dedup_key="k", event_type="execution", severity="critical", title="execution: X"
        )
        session.add(alert)
        session.flush()
        session.add(Delivery(alert_id=alert.id, channel="telegram", status="pending"))
    app.close()

    result = CliRunner().invoke(cli, ["status", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["service"]["running"] is False
    hrana, off = report["sources"]
    assert hrana["last_success"] is not None and hrana["items_last_run"] == 4
    next_run = datetime.fromisoformat(hrana["next_run"])  # its last start plus its interval
    assert abs(next_run - (started + timedelta(minutes=15))) < timedelta(seconds=1)
    assert off["enabled"] is False and off["next_run"] is None
    assert report["outbox"]["by_status"] == {"pending": 1}
    assert report["recent_alerts"][0]["deliveries"] == {"telegram": "pending"}

    text = CliRunner().invoke(cli, ["status", "--config", str(config)])
    assert text.exit_code == 0 and "not running" in text.stdout and "hrana" in text.stdout
