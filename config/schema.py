"""The settings file (``settings.yaml``): database, data directory, schedules, crawling, channels."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from config.types import ByteSize, ClockTime, Duration, Interval

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Strict(BaseModel):
    """Every user-facing model rejects unknown keys: a typo must fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid")


class ScheduleDefaults(Strict):
    interval: Interval = timedelta(minutes=30)
    jitter: Duration = timedelta(seconds=60)
    crawl_timeout: Interval = timedelta(minutes=10)
    dispatch_interval: Interval = timedelta(seconds=30)


class CrawlSettings(Strict):
    user_agent: str = "Tocsin/0.1 (+https://github.com/tocsin-monitor/tocsin; human-rights early warning)"
    obey_robots: bool = True
    download_timeout: Interval = timedelta(seconds=30)
    max_response_size: ByteSize = 10 * 2**20
    concurrent_per_domain: int = Field(2, ge=1, le=32)
    autothrottle: bool = True
    retries: int = Field(3, ge=0, le=10)
    max_items_per_run: int = Field(200, ge=1)
    recheck_matched_for: Duration = timedelta(days=7)
    unhealthy_after: int = Field(3, ge=1, description="consecutive failed or empty runs before an operator alert")


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Asia/Tehran' or 'UTC')") \
            from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_timezone)]


class QuietHours(Strict):
    """No messages between ``start`` and ``end`` (overnight when start > end); they wait until ``end``."""

    start: ClockTime
    end: ClockTime
    timezone: TimeZoneName | None = Field(None, description="defaults to the channel's timezone")
    allow_critical: bool = Field(True, description="critical alerts break through quiet hours")


class RateLimit(Strict):
    count: int = Field(ge=1)
    per: Interval


class ChannelConfig(Strict):
    """A named Apprise destination and which alerts it wants."""

    url: SecretStr = Field(description="Apprise URL; write secrets as ${ENV_VAR}")
    enabled: bool = True
    min_severity: Severity = "info"
    events: list[str] | None = None
    tags: list[str] | None = None
    languages: list[str] | None = None
    updates: bool = True
    digest: ClockTime | None = Field(None, description="send non-critical alerts as one digest at this time")
    quiet_hours: QuietHours | None = None
    rate_limit: RateLimit | None = None
    timezone: TimeZoneName = Field("UTC", description="time zone of `digest` and of `quiet_hours`")


class AlertSettings(Strict):
    dedup_window: Interval = timedelta(days=7)
    max_attempts: int = Field(8, ge=1)
    retry_base: Interval = timedelta(seconds=30)
    retry_max: Interval = timedelta(hours=1)
    send_lease: Interval = Field(
        timedelta(minutes=5),
        description="a delivery left 'sending' by a crash is retried after this; the one message in flight "
                    "may then arrive twice",
    )
    removal_severity: Severity = Field(
        "warning", description="severity of `article_removed` alerts (a matched article deleted at its source)")
    evidence_url: str | None = Field(
        None, description="where exported evidence is published, with {alert} for the alert id, e.g. "
                          "'https://archive.example.org/tocsin/alert-{alert}.warc.gz'; messages link to it")
    facets: list[str] = Field(
        ["watchlist"],
        description="event types that never raise a message of their own when the same article reports another "
                    "event: they fold into that event's alert as facets (one article, one alert per event)")

    @field_validator("evidence_url")
    @classmethod
    def _evidence_template(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith(("http://", "https://")) or "{alert}" not in value):
            raise ValueError(f"expected an http(s) URL containing {{alert}}, got {value!r}")
        return value


class LogSettings(Strict):
    """The service's own log (stderr) and the crawl log (``DATA_DIR/logs/crawl.log``, rotated by size)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(False, alias="json")
    crawl_log_max_bytes: ByteSize = Field(default=10 * 2**20, ge=1024,
                                          description="crawl.log is rotated before it grows past this")
    crawl_log_backups: int = Field(default=5, ge=1, le=100,
                                   description="rotated crawl logs kept: crawl.log.1 (newest) to .N")


class ServiceSettings(Strict):
    """``tocsin run``: health endpoint, concurrency, reload, shutdown and housekeeping."""

    health_enabled: bool = True
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8787, ge=0, le=65535,
                             description="0 picks a free port (see `tocsin status`)")
    max_concurrent_crawls: int = Field(default=4, ge=1, le=64)
    reload_poll: Interval = Field(default=timedelta(seconds=2),
                                  description="how often config files are checked")
    shutdown_grace: Duration = Field(default=timedelta(seconds=5),
                                     description="wait this long for crawls to stop")
    standby_poll: Interval = Field(default=timedelta(seconds=5),
                                   description="--standby: how often to try the lock")
    heartbeat_interval: Interval = timedelta(seconds=10)
    recheck_interval: Interval = Field(default=timedelta(minutes=30),
                                       description="how often matched items are re-fetched for edits/deletions")
    housekeeping_at: ClockTime = Field(default=time(3, 30), description="daily, UTC")
    evidence_max_age: Duration = timedelta(days=365)
    evidence_max_bytes: ByteSize = 5 * 2**30
    keep_matched_evidence: bool = Field(
        default=True, description="never prune raw pages of items that matched a rule (alert evidence)")
    crawl_run_retention: Duration = timedelta(days=90)
    delivery_attempt_retention: Duration = Field(
        default=timedelta(days=90),
        description="send attempts of finished deliveries kept this long (`tocsin alerts show`)")
    http_cache_retention: Duration = Field(
        default=timedelta(days=90), description="ETag/Last-Modified of URLs not refreshed for this long")


class WebSettings(Strict):
    """The analyst console: ``tocsin web``, and served by ``tocsin run`` when ``web:`` is in settings.yaml."""

    host: str = Field("127.0.0.1", description="keep it on loopback; put a TLS reverse proxy in front")
    port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    public_url: str | None = Field(None, description="the console's address as people reach it (feed links), "
                                                     "e.g. https://tocsin.example.org")
    secure_cookies: bool | None = Field(None, description="send the session cookie over HTTPS only (default: "
                                                           "when the request came over HTTPS)")
    trusted_proxies: list[str] = Field(default=["127.0.0.1"], description="X-Forwarded-* headers are believed "
                                                                          "from these addresses only")
    session_lifetime: Duration = timedelta(hours=12)
    login_attempts: int = Field(5, ge=1, description="failed logins per name or address before a pause")
    login_window: Duration = Field(timedelta(minutes=15), description="how long failed logins are counted")
    refresh: Duration = Field(timedelta(seconds=15), description="how often an open alert queue updates itself")
    corpus_dirs: list[str] = Field(default=[], description="more directories of labelled corpora (*.jsonl) "
                                                          "for the rules lab, besides CONFIG/corpus")


class Settings(Strict):
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under data_dir")
    data_dir: str = "data"
    secrets_file: str | None = None
    schedule: ScheduleDefaults = ScheduleDefaults()
    crawl: CrawlSettings = CrawlSettings()
    alerts: AlertSettings = AlertSettings()
    log: LogSettings = LogSettings()
    service: ServiceSettings = ServiceSettings()
    web: WebSettings | None = Field(None, description="the analyst console; `tocsin run` serves it when set")
    operator_channel: str | None = Field(None, description="channel for source-health and config errors")
    channels: dict[str, ChannelConfig] = {}

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, ChannelConfig]) -> dict[str, ChannelConfig]:
        for name in value:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"channel name {name!r} may only use letters, digits, '-' and '_'")
        return value
