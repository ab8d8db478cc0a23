"""Where rule and watchlist files live: ``DIR/rules/*.yaml``, ``DIR/watchlists/*.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import config

if TYPE_CHECKING:
    from monitor.rules.engine import RuleEngine

DEFAULT_CONFIG_DIR = Path(config.__file__).resolve().parent / "defaults"


def yaml_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else its ``*.yaml`` files in name order."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.yaml") if p.is_file())
    return [path]


def config_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """(rule files, watchlist files) of a configuration directory; a missing folder holds none."""
    rules, watchlists = directory / "rules", directory / "watchlists"
    return (
        yaml_files(rules) if rules.exists() else [],
        yaml_files(watchlists) if watchlists.exists() else [],
    )


def default_engine() -> RuleEngine:
    """An engine over the packaged default rules and watchlists."""
    from monitor.rules.engine import RuleEngine

    rules, watchlists = config_files(DEFAULT_CONFIG_DIR)
    return RuleEngine.load(rules, watchlists)
