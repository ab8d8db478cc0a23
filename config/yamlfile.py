"""Load YAML with the position of every key, so errors can name the line a user must fix.

Only ``yaml.SafeLoader`` is used: user files never construct Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from config.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
Position = tuple[int, int]  # 1-based line, 1-based column


@dataclass
class YamlDocument:
    """A parsed YAML file plus where each value sits in it."""

    path: Path
    data: Any
    positions: dict[tuple[str | int, ...], Position] = field(default_factory=dict)

    def locate(self, keypath: Sequence[str | int]) -> Position:
        """Line and column of the value at ``keypath``, or of its nearest existing ancestor."""
        key = tuple(keypath)
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return self.positions.get((), (1, 1))

    def error(self, message: str, keypath: Sequence[str | int] = ()) -> ConfigError:
        line, column = self.locate(keypath)
        return ConfigError(message, file=self.path, line=line, column=column, keypath=keypath)


def _walk(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], Position]) -> None:
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            _walk(value_node, (*path, key), out)
            # Point errors about a key itself (e.g. "extra key not allowed") at the key, not its value.
            out.setdefault((*path, key, "__key__"), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse ``text`` (the contents of ``path``) safely, recording positions."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=path, line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=path) from None
    positions: dict[tuple[str | int, ...], Position] = {}
    if node is not None:
        _walk(node, (), positions)
    return YamlDocument(path=path, data=data, positions=positions)


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file; unreadable or non-UTF-8 files raise ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}): save the file as UTF-8", file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=path) from None
    return parse_yaml(text, path)


def _candidates(annotation: Any, value: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold for ``value`` (unwrapping Optional, list, dict, unions on kind)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin is Annotated:
        return _candidates(args[0], value)
    if origin in (list, tuple, set, frozenset) and args:
        return _candidates(args[0], value)
    if origin is dict and len(args) == 2:
        return _candidates(args[1], value)
    if origin in (Union, UnionType):
        models = [m for arg in args for m in _candidates(arg, value)]
        kind = value.get("kind") if isinstance(value, dict) else None
        tagged = [m for m in models if "kind" in m.model_fields
                  and kind in get_args(m.model_fields["kind"].annotation)]
        return tagged or models
    return []


def allowed_keys(model: type[BaseModel], document: YamlDocument, keypath: Sequence[str | int]) -> list[str]:
    """The keys the schema allows in the mapping at ``keypath`` (for 'unknown key' messages)."""
    annotation: Any = model
    value: Any = document.data
    for part in keypath:
        models = _candidates(annotation, value)
        if isinstance(part, str) and models and part in models[0].model_fields:
            annotation = models[0].model_fields[part].annotation
        # Otherwise ``part`` indexes a list or names a dict key: the container's annotation is unwrapped next.
        value = _child(value, part)
    models = _candidates(annotation, value)
    return sorted(models[0].model_fields) if models else []


def _child(value: Any, part: str | int) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return None


def _describe(error: Any, model: type[BaseModel], document: YamlDocument, keypath: list[str | int]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = allowed_keys(model, document, keypath[:-1])
        return "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    value = error.get("input")
    shows_value = kind in {"literal_error", "enum"} or kind.endswith(("_type", "_parsing"))
    if shows_value and not isinstance(value, dict | list):
        message = f"{message}, got {value!r}"
    return message


def validate(model: type[M], document: YamlDocument, *, context: dict[str, Any] | None = None) -> M:
    """Validate ``document`` against ``model``; the first error becomes a located ConfigError."""
    data = document.data if document.data is not None else {}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        keypath = _keypath(document, first["loc"])
        if first["type"] == "extra_forbidden":
            line, column = document.locate((*keypath, "__key__"))
        else:
            line, column = document.locate(keypath)
        raise ConfigError(
            _describe(first, model, document, keypath), file=document.path, line=line, column=column, keypath=keypath
        ) from None


def _keypath(document: YamlDocument, loc: Sequence[str | int]) -> list[str | int]:
    """Map pydantic's error location to keys in the file.

    pydantic inserts the tag of a discriminated union (``"listing"``) into the location; such parts are
    not keys of the file and are dropped, except a last part naming a key that is missing.
    """
    keypath: list[str | int] = []
    for index, part in enumerate(loc):
        if (*keypath, part) in document.positions or index == len(loc) - 1:
            keypath.append(part)
    return keypath
