"""Rule tuning on stored items: `rules explain --item`, and `rules test --since` backtesting the current rules
against what fired, pointing out the dismissed false positives a change would avoid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from monitor.alerts.lifecycle import dismiss
from monitor.alerts.matching import process_pending
from monitor.alerts.tuning import backtest_stored
from monitor.cli import app as cli
from monitor.rules import RuleEngine
from monitor.service.app import App
from storage.models import Alert
from storage.records import ItemRecord
from storage.repository import store_item, sync_source

RULE = """\
version: 1
rules:
  - id: transfer.test
    event: transfer
    severity: warning
    query: {query}
"""
runner = CliRunner()


def setup(tmp_config: Callable[..., Path], query: str) -> tuple[Path, App]:
    config = tmp_config(rules={"r.yaml": RULE.format(query=query)}, watchlists={})
    app = App.open(config)
    now = datetime.now(UTC)
    with app.database.write() as session:
        sync_source(session, source_id="news", kind="feed", name="News", url="http://127.0.0.1/", tags=[])
        for n, text in enumerate(["The prisoner was transferred to Zahedan Prison.",
                                  "The striker's transfer to the club was completed."]):
            store_item(session, ItemRecord(source_id="news", url=f"http://127.0.0.1/{n}", title=f"Item {n}",
                                           text=text, fetched_at=now - timedelta(days=1)))
    process_pending(app.database, app.rules, app.config)
    return config, app


def test_backtest_shows_newly_firing_and_avoided_false_positives(tmp_config: Callable[..., Path]) -> None:
    config, app = setup(tmp_config, "transfer*")
    try:
        with app.database.write() as session:
            football = next(a for a in session.query(Alert).all() if "striker" in a.matches[0].item.text)
            dismiss(session, football.id, reason="football, not a prisoner")
        (config / "rules" / "r.yaml").write_text(RULE.format(query="'transfer* NEAR/6 prison*'"), encoding="utf-8")
        tighter = RuleEngine.load(app.config.rule_files, app.config.watchlist_files)
        with app.database.read() as session:
            report = backtest_stored(session, tighter, since=datetime.now(UTC) - timedelta(days=30))
        assert report.documents == 2 and report.unchanged == 1
        assert [(c.rule_id, c.dismissed_alert) for c in report.avoided_dismissals] == [("transfer.test", football.id)]
        assert report.newly_firing == []

        result = runner.invoke(cli, ["rules", "test", "--since", "30d", "--config", str(config)])
        assert "0 would newly fire, 1 would stop firing (1 of them dismissed as false positives)" in " ".join(
            result.output.split())
    finally:
        app.close()


def test_explain_a_stored_item(tmp_config: Callable[..., Path]) -> None:
    config, app = setup(tmp_config, "transfer*")
    app.close()
    result = runner.invoke(cli, ["rules", "explain", "--item", "1", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "transfer.test" in result.output and "Zahedan" in result.output
    missing = runner.invoke(cli, ["rules", "explain", "--item", "999", "--config", str(config)])
    assert missing.exit_code == 2 and "no stored item 999" in missing.output
