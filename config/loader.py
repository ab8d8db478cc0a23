"""Find, read and validate a configuration directory.

A configuration directory holds::

    settings.yaml        database, data directory, schedules, channels
    sources.yaml         what to crawl (or sources/*.yaml)
    rules/*.yaml         watch criteria
    watchlists/*.yaml    people, prisons, courts, charges
    early_warning.yaml   surge detection and the escalation ladder (optional; packaged defaults otherwise)

``tocsin init DIR`` writes an editable copy of the packaged defaults. Every command takes ``--config DIR``
(or ``TOCSIN_CONFIG``); without either, the packaged defaults are used read-only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from config import last_good
from config.early_warning import EarlyWarningConfig, load_early_warning
from config.errors import ConfigError
from config.schema import ChannelConfig, Settings
from config.secrets import expand, missing_placeholders, secret_environment
from config.sources import SourceBase, SourcesFile
from config.yamlfile import YamlDocument, load_yaml, validate

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
ENV_CONFIG = "TOCSIN_CONFIG"
ENV_DATABASE_URL = "TOCSIN_DATABASE_URL"
ENV_DATA_DIR = "TOCSIN_DATA_DIR"


@dataclass
class TocsinConfig:
    """Everything loaded from one configuration directory, validated."""

    directory: Path
    settings: Settings
    sources: list[SourceBase]
    rule_files: list[Path]
    watchlist_files: list[Path]
    data_dir: Path
    database_url: str
    channel_urls: dict[str, str] = field(default_factory=dict, repr=False)
    early_warning: EarlyWarningConfig = field(default_factory=EarlyWarningConfig)
    # Set when the files are broken and this is the last good copy (config.last_good): why, and from when.
    fallback: str | None = None

    @property
    def is_packaged_default(self) -> bool:
        return self.directory == DEFAULTS_DIR

    def source(self, source_id: str) -> SourceBase:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"unknown source {source_id!r} (known: {known})", file=self.directory / "sources.yaml")

    def enabled_channels(self) -> dict[str, ChannelConfig]:
        return {name: ch for name, ch in self.settings.channels.items() if ch.enabled}


def resolve_config_dir(option: Path | str | None = None) -> Path:
    """``--config`` beats ``TOCSIN_CONFIG`` beats the packaged defaults."""
    chosen = option or os.environ.get(ENV_CONFIG)
    if not chosen:
        return DEFAULTS_DIR
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError("configuration directory not found (create one with `tocsin init DIR`)", file=path)
    return path


def _yaml_files(directory: Path, name: str) -> list[Path]:
    """``name.yaml`` and/or every ``name/*.yaml``, in a stable order."""
    files = [directory / f"{name}.yaml"] if (directory / f"{name}.yaml").is_file() else []
    if (directory / name).is_dir():
        files += sorted(p for p in (directory / name).iterdir() if p.suffix in {".yaml", ".yml"})
    return files


def _load_sources(directory: Path) -> list[SourceBase]:
    sources: list[SourceBase] = []
    seen: dict[str, Path] = {}
    for path in _yaml_files(directory, "sources"):
        document = load_yaml(path)
        parsed = validate(SourcesFile, document)
        for index, source in enumerate(parsed.sources):
            if source.id in seen:
                raise document.error(f"duplicate source id {source.id!r} (first defined in {seen[source.id]})",
                                     ("sources", index, "id"))
            seen[source.id] = path
            sources.append(source)
    return sources


def _channel_urls(settings: Settings, document: YamlDocument, env: dict[str, str]) -> dict[str, str]:
    """Expand ``${VAR}`` in enabled channels' URLs; a missing secret is a located error."""
    urls: dict[str, str] = {}
    for name, channel in settings.channels.items():
        raw = channel.url.get_secret_value()
        missing = missing_placeholders(raw, env)
        if missing and channel.enabled:
            raise document.error(
                f"environment variable {missing[0]} is not set (export it, or put it in the secrets file)",
                ("channels", name, "url"),
            )
        if not missing:
            urls[name] = expand(raw, env)
    if settings.operator_channel and settings.operator_channel not in settings.channels:
        raise document.error(f"no channel named {settings.operator_channel!r}", ("operator_channel",))
    return urls


def _resolve(value: str, *, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def load_config(option: Path | str | None = None, *, files: Path | None = None) -> TocsinConfig:
    """Load and validate the whole configuration; raises :class:`ConfigError` on the first problem.

    ``files``: read the files from there (a kept copy, config.last_good) while relative paths still mean
    the configuration directory's.
    """
    directory = resolve_config_dir(option)
    source = files or directory
    settings_path = source / "settings.yaml"
    if settings_path.is_file():
        document = load_yaml(settings_path)
        settings = validate(Settings, document)
    else:
        document = YamlDocument(path=settings_path, data={})
        settings = Settings()
    # Relative paths in a user's config are relative to that directory; the packaged defaults are read-only,
    # so their relative data directory lives in the current working directory instead.
    base = Path.cwd() if directory == DEFAULTS_DIR else directory
    data_dir = Path(os.environ[ENV_DATA_DIR]).expanduser() if os.environ.get(ENV_DATA_DIR) else _resolve(
        settings.data_dir, base=base)
    data_dir = data_dir.resolve()
    secrets_file = _resolve(settings.secrets_file, base=base) if settings.secrets_file else None
    env = secret_environment(secrets_file)
    database_url = os.environ.get(ENV_DATABASE_URL) or settings.database_url or f"sqlite:///{data_dir / 'tocsin.db'}"
    return TocsinConfig(
        directory=directory,
        settings=settings,
        sources=_load_sources(source),
        rule_files=_yaml_files(source, "rules"),
        watchlist_files=_yaml_files(source, "watchlists"),
        data_dir=data_dir,
        database_url=database_url,
        channel_urls=_channel_urls(settings, document, env),
        early_warning=load_early_warning(source),
    )


def load_config_for_reading(option: Path | str | None = None) -> TocsinConfig:
    """:func:`load_config`, or, when a file is broken, the last configuration that loaded cleanly
    (``config.fallback`` then says what is broken and when the copy was kept). For commands that only
    read the database: they are needed most while a file is broken. No copy: the error as usual."""
    try:
        return load_config(option)
    except ConfigError as broken:
        directory = resolve_config_dir(option)
        kept = last_good.find(directory)
        if kept is None:
            raise
        try:
            config = load_config(directory, files=kept.files)
        except ConfigError:
            raise broken from None
        config.fallback = (f"{broken} — using the last good configuration (kept {kept.saved_at:%Y-%m-%d %H:%M} "
                           "UTC) until the file is fixed (`tocsin config check`)")
        return config
