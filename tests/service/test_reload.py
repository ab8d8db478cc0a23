"""Config reload: a good change is applied whole, a broken one is reported and the running config stays."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from config.loader import TocsinConfig, load_config
from monitor.rules import Document, RuleEngine
from monitor.service.reload import ConfigReloader, config_fingerprint

RULES = """version: 1
rules:
  - id: executed
    event: execution
    severity: critical
    query: 'executed'
"""
FLOGGED = (
    RULES
    + """  - id: flogged
    event: corporal_punishment
    severity: warning
    query: 'flogged'
"""
)
BROKEN = RULES.replace("severity: critical", "severity: extreme")


class Recorder:
    def __init__(self) -> None:
        self.reloads: list[tuple[TocsinConfig, RuleEngine]] = []
        self.errors: list[str] = []

    def reloader(self, directory: Path) -> ConfigReloader:
        return ConfigReloader(
            load_config(directory),
            on_reload=lambda c, e: self.reloads.append((c, e)),
            on_error=self.errors.append,
        )


def rewrite(path: Path, text: str) -> None:
    """Write and move the mtime forward, as a later edit would (file systems with coarse mtimes)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def events(engine: RuleEngine, text: str) -> list[str]:
    return [
        m.event
        for m in engine.match(
            Document(id="1", text=text, title="", lang="en", source="s", tags=frozenset())
        )
    ]


@pytest.fixture
def config_dir(tmp_config: Callable[..., Path]) -> Path:
    return tmp_config(
        rules={"watch.yaml": RULES},
        watchlists={},
        sources=[{"id": "news", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"}],
    )


def test_nothing_changed_means_nothing_to_do(config_dir: Path) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    assert reloader.poll() is None
    assert recorder.reloads == [] and recorder.errors == []


def test_an_edited_rule_file_is_loaded_once_it_stops_changing(config_dir: Path) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    rewrite(config_dir / "rules" / "watch.yaml", FLOGGED)
    assert reloader.poll() is None  # just changed: maybe still being written
    assert reloader.poll() is True
    [(_, engine)] = recorder.reloads
    assert events(engine, "A student was flogged in public.") == ["corporal_punishment"]
    assert reloader.poll() is None  # and only once


def test_new_and_removed_files_count_as_changes(config_dir: Path) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    rewrite(
        config_dir / "rules" / "more.yaml",
        FLOGGED.replace("id: executed", "id: executed-2").replace("id: flogged", "id: flogged-2"),
    )
    reloader.poll()
    assert reloader.poll() is True
    (config_dir / "rules" / "more.yaml").unlink()
    reloader.poll()
    assert reloader.poll() is True
    assert len(recorder.reloads) == 2


def test_a_broken_rule_file_is_reported_with_its_location_and_the_old_config_stays(
    config_dir: Path,
) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    running = reloader.config
    rewrite(config_dir / "rules" / "watch.yaml", BROKEN)
    reloader.poll()
    assert reloader.poll() is False
    assert recorder.reloads == []
    [error] = recorder.errors
    assert "watch.yaml:5" in error and "severity" in error
    assert reloader.config is running and reloader.error == error
    assert reloader.poll() is None  # the same broken files are reported once, not at every poll

    rewrite(config_dir / "rules" / "watch.yaml", FLOGGED)
    reloader.poll()
    assert reloader.poll() is True
    assert reloader.error is None


def test_a_broken_sources_file_keeps_the_sources_running(config_dir: Path) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    rewrite(
        config_dir / "sources.yaml",
        "sources:\n  - id: news\n    kind: carrier-pigeon\n    url: x\n",
    )
    reloader.poll()
    assert reloader.poll() is False
    assert "sources.yaml" in recorder.errors[0]
    assert [s.id for s in reloader.config.sources] == ["news"]


def test_settings_that_need_a_restart_are_named_in_the_log(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    reloader = recorder.reloader(config_dir)
    settings = yaml.safe_load((config_dir / "settings.yaml").read_text())
    rewrite(
        config_dir / "settings.yaml", yaml.safe_dump({**settings, "service": {"health_port": 9999}})
    )
    reloader.poll()
    with caplog.at_level(logging.WARNING, logger="monitor.service.reload"):
        assert reloader.poll() is True
    assert "service.health_port changed" in caplog.text


def test_the_fingerprint_covers_every_config_file(config_dir: Path) -> None:
    names = {Path(path).name for path in config_fingerprint(config_dir)}
    assert {"settings.yaml", "sources.yaml", "watch.yaml"} <= names
