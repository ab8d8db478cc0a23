"""A bad config file fails with one line naming the file, the line and the key path, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import load_config

CASES = [
    ("unknown key", "settings.yaml", "data_dir: data\ncrawl:\n  retires: 3\n", ":3:3: crawl.retires: unknown key"),
    ("bad enum", "settings.yaml", "channels:\n  tg:\n    url: json://127.0.0.1/x\n    min_severity: high\n",
     ":4:19: channels.tg.min_severity: Input should be 'info', 'warning' or 'critical', got 'high'"),
    ("bad duration", "settings.yaml", "schedule:\n  interval: soon\n",
     ":2:13: schedule.interval: Value error, expected a duration"),
    ("yaml syntax", "settings.yaml", "schedule:\n  interval: [30m\n", "invalid YAML"),
    ("missing secret", "settings.yaml", "channels:\n  tg:\n    url: tgram://${TOCSIN_TEST_UNSET_TOKEN}/123\n",
     ":3:10: channels.tg.url: environment variable TOCSIN_TEST_UNSET_TOKEN is not set"),
    ("unknown source kind", "sources.yaml", "sources:\n  - id: a\n    kind: rss\n    url: http://127.0.0.1/\n",
     "sources[0]: Input tag 'rss' found using 'kind' does not match any of the expected tags"),
    ("source missing key", "sources.yaml",
     "sources:\n  - id: a\n    kind: listing\n    url: http://127.0.0.1/\n",
     ":2:5: sources[0].link_selector: required key is missing"),
    ("relative url", "sources.yaml", "sources:\n  - id: a\n    kind: feed\n    url: /feed.xml\n",
     ":4:10: sources[0].url: Value error, expected an absolute http(s) URL"),
    ("zero source interval", "sources.yaml",
     "sources:\n  - id: a\n    kind: feed\n    url: http://127.0.0.1/\n    schedule:\n      interval: 0s\n",
     ":6:17: sources[0].schedule.interval: Value error, must be longer than 0 (short values such as '1s' are "
     "allowed), got '0s'"),
    ("negative interval", "settings.yaml", "schedule:\n  dispatch_interval: -5s\n",
     ":2:22: schedule.dispatch_interval: Value error, a duration cannot be negative, got '-5s'"),
    ("negative seconds", "settings.yaml", "alerts:\n  retry_base: -1\n",
     ":2:15: alerts.retry_base: Value error, a duration cannot be negative, got -1"),
    ("zero rate limit window", "settings.yaml",
     "channels:\n  tg:\n    url: json://127.0.0.1/x\n    rate_limit: {count: 3, per: 0m}\n",
     ":4:33: channels.tg.rate_limit.per: Value error, must be longer than 0"),
    ("duplicate source", "sources.yaml",
     "sources:\n  - {id: a, kind: feed, url: 'http://127.0.0.1/1'}\n  - {id: a, kind: feed, url: 'http://127.0.0.1/2'}\n",
     ":3:10: sources[1].id: duplicate source id 'a'"),
]


@pytest.mark.parametrize(("filename", "content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_located_error(tmp_path: Path, filename: str, content: str, expected: str) -> None:
    (tmp_path / filename).write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / filename))
    assert expected in message


def test_short_intervals_stay_allowed_and_zero_jitter_is_fine(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: a\n    kind: feed\n    url: http://127.0.0.1/\n"
        "    schedule: {interval: 1s, jitter: 0s, timeout: 1s}\n", encoding="utf-8")
    (tmp_path / "settings.yaml").write_text("schedule: {dispatch_interval: 1s, jitter: 0s}\n", encoding="utf-8")
    config = load_config(tmp_path)
    assert config.sources[0].schedule.interval is not None
    assert config.sources[0].schedule.interval.total_seconds() == 1.0
    assert config.settings.schedule.jitter.total_seconds() == 0.0


def test_config_check_refuses_a_zero_interval_with_its_location(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: a\n    kind: feed\n    url: http://127.0.0.1/\n    schedule:\n      interval: 0s\n",
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "config", "check", "--config", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{tmp_path / 'sources.yaml'}:6:17: sources[0].schedule.interval: " in result.stderr
    assert "must be longer than 0" in result.stderr and "Traceback" not in result.stderr


def test_not_utf8_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_bytes("data_dir: داده\n".encode("cp1256"))
    with pytest.raises(ConfigError, match="settings.yaml: not UTF-8"):
        load_config(tmp_path)


def test_missing_config_dir_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tocsin init"):
        load_config(tmp_path / "nope")


def test_cli_prints_one_line_and_exits_nonzero(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("crawl:\n  retires: 3\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "config", "check", "--config", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "settings.yaml:2:3: crawl.retires: unknown key (allowed: " in lines[0]
    assert "retries" in lines[0]
    assert "Traceback" not in result.stderr


def test_secrets_come_from_env_or_secrets_file_and_are_never_printed(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("TOCSIN_TEST_TOKEN=123456:SECRET-abcdef\n", encoding="utf-8")
    (tmp_path / "settings.yaml").write_text(
        "secrets_file: secrets.env\nchannels:\n  tg:\n    url: tgram://${TOCSIN_TEST_TOKEN}/-100123\n",
        encoding="utf-8")
    config = load_config(tmp_path)
    assert config.channel_urls["tg"] == "tgram://123456:SECRET-abcdef/-100123"
    assert "SECRET" not in repr(config.settings) and "SECRET" not in repr(config)
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "config", "check", "--config", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "SECRET" not in result.stdout + result.stderr
    assert "channel tg" in result.stdout
