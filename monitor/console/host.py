"""What the console is given: the running application (config, database, rules) and the services that live
in rooms above it (source status and trends, from ``monitor/service/web.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from config.schema import WebSettings
from monitor.rules import RuleEngine
from storage.db import Database


class ConsoleHost(Protocol):
    """``monitor.service.app.App`` fits: the config and rules change when the service reloads them."""

    @property
    def config(self) -> TocsinConfig: ...

    @property
    def database(self) -> Database: ...

    @property
    def rules(self) -> RuleEngine: ...


@dataclass(frozen=True)
class SeriesInfo:
    id: str
    title: str
    scope: str  # country, or the kind of place each series value is (prison, place, province)


@dataclass(frozen=True)
class ConsoleServices:
    """Functions from rooms the console may not import (``cli -> service -> {delivery, console, trends}``)."""

    # Each configured source's health, last success, error and next run (``tocsin status``'s rows).
    source_rows: Callable[[Session], list[dict[str, Any]]]
    # The surge series, and one as a view (TrendView) and as an SVG chart (``tocsin trends``).
    trend_series: Callable[[], list[SeriesInfo]]
    trend_view: Callable[[Session, str | None, str | None, int, datetime], Any]
    trend_svg: Callable[[Any], bytes]


def web_settings(config: TocsinConfig) -> WebSettings:
    return config.settings.web or WebSettings()


def corpus_dirs(config: TocsinConfig) -> list[Path]:
    """Where the rules lab finds labelled corpora: CONFIG/corpus, DATA_DIR/corpus, then ``web.corpus_dirs``."""
    extra = [Path(p) if Path(p).is_absolute() else config.directory / p for p in web_settings(config).corpus_dirs]
    return [config.directory / "corpus", config.data_dir / "corpus", *extra]
