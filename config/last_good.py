"""The last configuration that loaded cleanly, kept so read-only commands still work while a file is broken.

An operator who breaks ``settings.yaml`` or a rule file needs ``tocsin status`` and ``tocsin alerts list``
most exactly then. Every clean load copies the configuration's files (settings, sources, rules,
watchlists, early warning; never the secrets file) into a state directory; when a later load fails, the
read-only commands load that copy instead and say so. Relative paths in it (``data_dir``,
``secrets_file``) still mean the configuration directory's, and secrets still come from the environment.

Where: ``$TOCSIN_STATE_DIR``, else ``$XDG_STATE_HOME/tocsin``, else ``~/.local/state/tocsin``, under
``last-good/<hash of the configuration directory's path>/``. The service's unit has its home in its
writable state directory; a copy that cannot be written is skipped (the commands then fail as before).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)
ENV_STATE_DIR = "TOCSIN_STATE_DIR"
FILES = ("settings.yaml", "sources.yaml", "early_warning.yaml")
FOLDERS = ("sources", "rules", "watchlists")
MANIFEST = "last-good.json"


@dataclass(frozen=True)
class LastGood:
    """Where the copy is and when it was taken."""

    files: Path
    saved_at: datetime


def state_dir() -> Path:
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR]).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state") / "tocsin"


def copy_dir(directory: Path) -> Path:
    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return state_dir() / "last-good" / key


def config_files(directory: Path) -> list[Path]:
    """The files a configuration is made of, relative to its directory."""
    found = [Path(name) for name in FILES if (directory / name).is_file()]
    for folder in FOLDERS:
        if (directory / folder).is_dir():
            found += sorted(p.relative_to(directory) for p in (directory / folder).iterdir()
                            if p.is_file() and p.suffix in {".yaml", ".yml"})
    return found


def _fingerprint(directory: Path, files: list[Path]) -> dict[str, list[int]]:
    stats = {}
    for name in files:
        stat = (directory / name).stat()
        stats[str(name)] = [stat.st_mtime_ns, stat.st_size]
    return stats


def save(directory: Path) -> bool:
    """Keep a copy of the configuration in ``directory`` (just loaded cleanly). False when skipped."""
    target = copy_dir(directory)
    try:
        files = config_files(directory)
        fingerprint = _fingerprint(directory, files)
        manifest = target / MANIFEST
        if manifest.is_file() and json.loads(manifest.read_text("utf-8")).get("fingerprint") == fingerprint:
            return False  # unchanged since the last copy
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        for name in files:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(directory / name, staging / name)
        (staging / MANIFEST).write_text(json.dumps({
            "directory": str(directory), "saved_at": datetime.now(UTC).isoformat(), "fingerprint": fingerprint,
        }), encoding="utf-8")
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return True
    except (OSError, ValueError) as exc:
        log.debug("could not keep a copy of the configuration in %s: %s", target, exc)
        return False


def find(directory: Path) -> LastGood | None:
    """The copy kept for ``directory``, if any."""
    target = copy_dir(directory)
    try:
        manifest = json.loads((target / MANIFEST).read_text("utf-8"))
        return LastGood(files=target, saved_at=datetime.fromisoformat(manifest["saved_at"]))
    except (OSError, ValueError, KeyError):
        return None
