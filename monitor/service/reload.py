"""Reload the configuration while the service runs, keeping the last good one when a new one is broken.

The watcher polls modification times and sizes (no inotify dependency; works on bind mounts and NFS) of
``settings.yaml``, ``sources.yaml``/``sources/``, ``rules/``, ``watchlists/`` and the secrets file. A change
is loaded once the files have stopped changing for one poll, so an editor's half-written file is not
reported as an error. A new config is only swapped in when all of it, rules included, loads cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config import last_good
from config.errors import ConfigError
from config.loader import TocsinConfig, load_config
from monitor.rules import RuleEngine

log = logging.getLogger(__name__)
WATCHED_FILES = ("settings.yaml", "sources.yaml")
WATCHED_DIRS = ("sources", "rules", "watchlists")
YAML_SUFFIXES = {".yaml", ".yml"}
# Changing these needs a restart: the service keeps using the values it started with.
RESTART_ONLY = (
    "database_url",
    "data_dir",
    "service.health_host",
    "service.health_port",
    "service.health_enabled",
    "service.max_concurrent_crawls",
)

Fingerprint = dict[str, tuple[int, int]]


def config_fingerprint(directory: Path, extra: list[Path] | None = None) -> Fingerprint:
    """(mtime_ns, size) of every file whose change should reload the config; absent files are left out."""
    paths = [directory / name for name in WATCHED_FILES] + list(extra or [])
    for name in WATCHED_DIRS:
        folder = directory / name
        if folder.is_dir():
            paths += [p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES]
    fingerprint: Fingerprint = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        fingerprint[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return fingerprint


def load_engine(config: TocsinConfig) -> RuleEngine:
    return RuleEngine.load(config.rule_files, config.watchlist_files)


def _setting(config: TocsinConfig, dotted: str) -> object:
    if dotted == "database_url":
        return config.database_url
    if dotted == "data_dir":
        return config.data_dir
    value: object = config.settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def restart_only_changes(old: TocsinConfig, new: TocsinConfig) -> list[str]:
    return [name for name in RESTART_ONLY if _setting(old, name) != _setting(new, name)]


@dataclass
class ConfigReloader:
    """Call :meth:`poll` every few seconds; it calls ``on_reload`` or ``on_error`` when files changed."""

    config: TocsinConfig
    on_reload: Callable[[TocsinConfig, RuleEngine], None]
    on_error: Callable[[str], None]
    _loaded: Fingerprint = field(default_factory=dict)
    _seen: Fingerprint = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        self._loaded = self._seen = self._fingerprint()

    def _fingerprint(self) -> Fingerprint:
        extra = []
        if self.config.settings.secrets_file:
            secrets = Path(self.config.settings.secrets_file).expanduser()
            extra.append(secrets if secrets.is_absolute() else self.config.directory / secrets)
        return config_fingerprint(self.config.directory, extra)

    def poll(self) -> bool | None:
        """True: reloaded; False: the new files are broken (old config kept); None: nothing to do yet."""
        current = self._fingerprint()
        settled = current == self._seen
        self._seen = current
        if current == self._loaded or not settled:
            return None
        self._loaded = current
        try:
            config = load_config(self.config.directory)
            engine = load_engine(config)
        except ConfigError as exc:
            return self._failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever breaks, the running config stays
            log.exception("unexpected error while reloading the configuration")
            return self._failed(f"{exc.__class__.__name__}: {exc}")
        for name in restart_only_changes(self.config, config):
            log.warning(
                "%s changed in the config; it takes effect after a restart",
                name,
                extra={"setting": name},
            )
        self.config, self.error = config, None
        last_good.save(config.directory)  # rules included: what read-only commands fall back to
        self.on_reload(config, engine)
        return True

    def _failed(self, message: str) -> bool:
        self.error = message
        log.error(
            "configuration not reloaded, the previous one stays active: %s",
            message,
            extra={"config_error": message},
        )
        self.on_error(message)
        return False
