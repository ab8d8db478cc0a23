"""Expand ``${NAME}`` placeholders from the environment or a secrets file.

Secrets (bot tokens, SMTP passwords) never live in the YAML users share: the YAML says ``${TELEGRAM_BOT_TOKEN}``
and the value comes from the process environment or from a ``KEY=VALUE`` secrets file (mode 0600 advised).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def read_secrets_file(path: Path) -> dict[str, str]:
    """Parse a systemd-style environment file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def missing_placeholders(text: str, env: Mapping[str, str]) -> list[str]:
    return [name for name in PLACEHOLDER.findall(text) if name not in env]


def expand(text: str, env: Mapping[str, str]) -> str:
    """Replace every ``${NAME}``; callers check :func:`missing_placeholders` first."""
    return PLACEHOLDER.sub(lambda found: env[found[1]], text)


def secret_environment(secrets_file: Path | None) -> dict[str, str]:
    """The environment with the secrets file's values underneath it (the environment wins)."""
    env: dict[str, str] = {}
    if secrets_file is not None and secrets_file.exists():
        env.update(read_secrets_file(secrets_file))
    env.update(os.environ)
    return env
