"""What one crawl child is told to do: the parent's configuration, not the user's files.

The service keeps its last good configuration when an edit of ``sources.yaml`` or ``settings.yaml`` is
broken (monitor.service.reload). A child that re-read those files would fail, or crawl with a configuration the
service has not accepted yet, so the parent serialises what the crawl needs (the source, the crawl
settings, the database URL) into a :class:`CrawlPlan` and the child validates it again with the same
schemas. The plan travels on the child's stdin, never on its command line: proxies and database URLs may
carry credentials, and a command line is visible to every user in ``ps``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field

from config.loader import TocsinConfig
from config.schema import CrawlSettings, Strict
from config.sources import SourceBase, SourceConfig
from config.types import Duration


class SourceTask(Strict):
    """Crawl one source."""

    task: Literal["source"] = "source"
    source: SourceConfig


class RecheckTask(Strict):
    """Re-fetch matched items for edits and deletions; ``sources`` gives each item's source settings."""

    task: Literal["recheck"] = "recheck"
    sources: list[SourceConfig] = []
    limit: int = Field(200, ge=1)


class CrawlPlan(Strict):
    """Everything a crawl child needs, as one JSON document."""

    version: Literal[1] = 1
    database_url: str
    crawl: CrawlSettings
    timeout: Duration = Field(description="the hard limit the parent enforces; the spider closes before it")
    scrapy: dict[str, Any] = Field(default_factory=dict, description="Scrapy setting overrides (tests, bench)")
    work: Annotated[SourceTask | RecheckTask, Field(discriminator="task")]

    def to_json(self) -> str:
        """One line (the child reads up to the newline; the pipe then stays open as its lifeline)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> CrawlPlan:
        return cls.model_validate_json(text)


def source_plan(config: TocsinConfig, source: SourceBase, *, database_url: str, timeout: timedelta,
                scrapy: dict[str, Any] | None = None) -> CrawlPlan:
    # model_validate: the source goes through the discriminated union (its kind picks the schema).
    return CrawlPlan(database_url=database_url, crawl=config.settings.crawl, timeout=timeout,
                     scrapy=dict(scrapy or {}), work=SourceTask.model_validate({"source": source}))


def recheck_plan(config: TocsinConfig, *, database_url: str, timeout: timedelta, limit: int = 200,
                 scrapy: dict[str, Any] | None = None) -> CrawlPlan:
    return CrawlPlan(database_url=database_url, crawl=config.settings.crawl, timeout=timeout,
                     scrapy=dict(scrapy or {}),
                     work=RecheckTask.model_validate({"sources": config.sources, "limit": limit}))
