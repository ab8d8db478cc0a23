"""Entry point of one crawl: ``python -m crawler.child --config DIR --source ID --database-url URL``.

Scrapy's reactor cannot be restarted in a process (ReactorNotRestartable, PITFALLS.md section 2), and memory
grows across crawls, so every crawl runs in a fresh child process; the service stays in the parent.
The last stdout line is ``TOCSIN {"event": "done", "stats": {...}}``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from config.errors import ConfigError
from config.loader import TocsinConfig, load_config
from config.sources import SourceBase
from crawler import settings as default_settings
from crawler.pipelines import announce
from crawler.spiders import SPIDERS
from storage.db import Database
from storage.repository import known_urls_for_source


def scrapy_settings(config: TocsinConfig, source: SourceBase, database_url: str) -> ScrapySettings:
    """Scrapy settings for one source: project defaults, then the user's crawl settings, then the source's."""
    crawl = config.settings.crawl
    settings = ScrapySettings()
    settings.setmodule(default_settings, priority="project")
    timeout = source.schedule.timeout or config.settings.schedule.crawl_timeout
    settings.setdict({
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots if source.obey_robots is None else source.obey_robots,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout.total_seconds(),
        "DOWNLOAD_MAXSIZE": crawl.max_response_size,
        "DOWNLOAD_WARNSIZE": min(crawl.max_response_size, default_settings.DOWNLOAD_WARNSIZE),
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "RETRY_TIMES": crawl.retries,
        "CLOSESPIDER_TIMEOUT": max(1, int(timeout.total_seconds()) - 5),
        "TOCSIN_DATABASE_URL": database_url,
        "TOCSIN_RECHECK_SECONDS": crawl.recheck_matched_for.total_seconds(),
        "TOCSIN_PROXY": source.proxy or "",
    }, priority="cmdline")
    return settings


def run(config: TocsinConfig, source: SourceBase, database_url: str) -> dict[str, Any]:
    spider_cls = SPIDERS.get(source.kind)
    if spider_cls is None:
        raise ConfigError(f"no spider for source kind {source.kind!r}", keypath=("sources", source.id))
    database = Database(database_url)
    with database.read() as session:
        known = frozenset(known_urls_for_source(session, source.id))
    database.dispose()
    process = CrawlerProcess(scrapy_settings(config, source, database_url), install_root_handler=True)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, source=source, known_urls=known)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return {key: value for key, value in stats.items() if isinstance(value, int | float | str)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.child", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    try:
        config = load_config(args.config)
        stats = run(config, config.source(args.source), args.database_url)
    except ConfigError as exc:
        announce("done", ok=False, error=str(exc), stats={})
        return 2
    announce("done", ok=True, stats=stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
