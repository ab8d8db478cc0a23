"""The configuration reference documents every settings key, so the docs cannot silently fall behind."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from config.schema import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def keys(model: type[BaseModel]) -> set[str]:
    found = set()
    for name, field in model.model_fields.items():
        found.add(field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= keys(annotation)
    return found


def test_every_settings_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    from config.schema import ChannelConfig

    missing = sorted(k for k in keys(Settings) | keys(ChannelConfig) if f"`{k}`" not in text)
    assert missing == [], f"document these keys in {DOC}: {missing}"
