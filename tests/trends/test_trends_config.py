"""early_warning.yaml: the shipped defaults load, and mistakes are reported at their line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.early_warning import DEFAULT_FILE, FILE_NAME, load_early_warning
from config.errors import ConfigError


def test_the_shipped_defaults_load_with_every_section(tmp_path: Path) -> None:
    settings = load_early_warning(tmp_path)  # no file in the directory: the packaged defaults
    assert [s.id for s in settings.series] == ["executions", "executions-by-province", "executions-by-prison",
                                               "death-sentences"]
    assert settings.ladder is not None and [lv.level for lv in settings.ladder.levels] == [
        "watch", "sentenced", "high", "imminent", "executed"]
    assert settings.province_of()["Qezel Hesar"] == "Alborz"
    per_prison = settings.series[2].thresholds(settings.surge)
    assert per_prison.min_ratio == 2 and per_prison.critical_alpha is None  # explicit null switches it off
    assert settings.series[0].thresholds(settings.surge).critical_alpha == 1e-6


def test_a_directorys_own_file_wins(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("surge: {window: 14d}\nseries: [{id: x, event: execution}]\n",
                                      encoding="utf-8")
    settings = load_early_warning(tmp_path)
    assert settings.series[0].thresholds(settings.surge).window == timedelta(days=14)
    assert settings.ladder is None


@pytest.mark.parametrize(("text", "where", "message"), [
    ("surge:\n  alpha: 2\n", ":2:10: surge.alpha:", "less than 0.5"),
    ("series:\n  - id: x\n    event: execution\n    typo: 1\n", ":4:5: series[0].typo:", "unknown key"),
    ("series:\n  - {id: w, event: rhetoric, bin: week, baseline: 90d}\n", ":2:5: series[0]:",
     "baseline must be a whole number of weeks"),
    ("analysis:\n  timezone: Mars/Olympus\n", ":2:13: analysis.timezone:", "unknown time zone"),
    ("rhetoric:\n  window: 10d\n", ":2:11: rhetoric.window:", "whole number of weeks"),
    ("ladder:\n  levels:\n    - {level: a, severity: high, any_of: [{all_of: [{events: [x], within: 1d}]}]}\n",
     ":3:28: ladder.levels[0].severity:", "'high'"),
])
def test_mistakes_are_located(tmp_path: Path, text: str, where: str, message: str) -> None:
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_early_warning(tmp_path)
    assert where in str(caught.value) and message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / FILE_NAME))


def test_defaults_file_is_the_one_documented() -> None:
    assert DEFAULT_FILE.name == FILE_NAME and DEFAULT_FILE.is_file()
