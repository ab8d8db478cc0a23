"""The shape of the house, checked on the source (``ast``, not grep): imports go one way, only storage builds
queries, only the outbox creates alert and delivery rows, every kind is registered, modules stay small, and
tests/ mirrors the tree. docs/architecture.md says why.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "storage", "crawler", "monitor")

# monitor's rooms and the rooms each may import (besides itself):
# cli -> service -> {delivery, console, trends} -> alerts -> {rules, messages}; all of them -> {config, storage}.
ROOMS: dict[str, frozenset[str]] = {
    "cli": frozenset({"service", "delivery", "console", "trends", "alerts", "rules", "messages", "demo"}),
    "service": frozenset({"delivery", "console", "trends", "alerts", "rules", "messages"}),
    "delivery": frozenset({"alerts", "rules", "messages"}),
    "console": frozenset({"alerts", "rules", "messages"}),  # the analyst console (web pages and API)
    "trends": frozenset({"alerts", "rules", "messages"}),
    "alerts": frozenset({"rules", "messages"}),
    "rules": frozenset(),
    "messages": frozenset(),
    "demo": frozenset(),  # the bundled demo site and its loopback server (data, not code of the house)
}
# The top-level packages each may import: data flows crawler -> storage -> monitor; config is the floor.
LAYERS: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "storage": frozenset({"config"}),
    "crawler": frozenset({"config", "storage"}),
    "monitor": frozenset({"config", "storage", "crawler"}),
}
QUERY_BUILDERS = frozenset({
    "select", "insert", "update", "delete", "union", "union_all", "exists", "func", "text", "and_", "or_",
    "Select", "Update", "Delete", "Insert",
})
# Module -> query builders it may import, and why.
QUERY_EXCEPTIONS: dict[str, frozenset[str]] = {
    # The PostgreSQL advisory lock runs on a dedicated connection of its own (not a Session): lock
    # mechanics of the service, not data access.
    "monitor/service/instance_lock.py": frozenset({"text"}),
}
OUTBOX = "monitor/alerts/outbox.py"
MAX_LINES = 400
# Module -> why it may be longer for now.
LONG_MODULES: dict[str, str] = {}
NOT_MIRRORED = frozenset({"data", "support", "e2e", "__pycache__"})


@dataclass(frozen=True)
class Source:
    path: str  # relative to the repository, with /
    module: str  # dotted name
    tree: ast.Module
    lines: int


def _sources() -> list[Source]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            text = path.read_text(encoding="utf-8")
            found.append(Source(relative, module, ast.parse(text, relative), len(text.splitlines())))
    return found


SOURCES = _sources()


def _imports(source: Source) -> Iterator[tuple[str, int]]:
    """Every module ``source`` imports (``from a import b`` gives ``a`` and ``a.b``), anywhere in the file."""
    package = source.module if source.path.endswith("__init__.py") else source.module.rpartition(".")[0]
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "monitor" and len(parts) > 1 else None


def _ids(sources: list[Source]) -> list[str]:
    return [source.path for source in sources]


MONITOR = [s for s in SOURCES if s.module.startswith("monitor.")]


def test_every_monitor_module_is_in_a_room() -> None:
    stray = [s.path for s in MONITOR if _room(s.module) not in ROOMS]
    assert stray == [], "put these in a room (monitor/<room>/) or add the room to ROOMS and the docs"


@pytest.mark.parametrize("source", MONITOR, ids=_ids(MONITOR))
def test_monitor_imports_go_one_way(source: Source) -> None:
    room = _room(source.module)
    assert room is not None
    allowed = ROOMS[room] | {room}
    wrong = sorted({f"line {line}: {name}" for name, line in _imports(source)
                    if name.startswith("monitor.") and (target := _room(name)) in ROOMS and target not in allowed})
    assert wrong == [], f"monitor/{room} may import only {sorted(allowed)}"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_packages_import_downstream_only(source: Source) -> None:
    package = source.module.split(".")[0]
    allowed = LAYERS[package] | {package}
    wrong = sorted({f"line {line}: {name}" for name, line in _imports(source)
                    if (top := name.split(".")[0]) in LAYERS and top not in allowed})
    assert wrong == [], f"{package}/ may import only {sorted(allowed)}"


def _query_builders(source: Source) -> set[str]:
    found = set()
    for node in ast.walk(source.tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found |= {alias.name for alias in node.names if alias.name in QUERY_BUILDERS}
        elif isinstance(node, ast.Attribute) and node.attr in QUERY_BUILDERS and \
                isinstance(node.value, ast.Name) and node.value.id in ("sqlalchemy", "sa"):
            found.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "query":
            found.add("Session.query")
    return found


OUTSIDE_STORAGE = [s for s in SOURCES if not s.module.startswith("storage")]


@pytest.mark.parametrize("source", OUTSIDE_STORAGE, ids=_ids(OUTSIDE_STORAGE))
def test_only_storage_builds_queries(source: Source) -> None:
    builders = _query_builders(source) - QUERY_EXCEPTIONS.get(source.path, frozenset())
    assert builders == set(), "move the query into a storage/*_repo.py function that takes a Session"


def _row_constructions(source: Source) -> list[str]:
    calls = []
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name in ("Alert", "Delivery"):
                calls.append(f"line {node.lineno}: {name}(")
    return calls


def test_only_the_outbox_creates_alert_and_delivery_rows() -> None:
    found = {s.path: calls for s in SOURCES if s.path != OUTBOX and (calls := _row_constructions(s))}
    assert found == {}, f"create alerts and deliveries through {OUTBOX}"
    assert _row_constructions(next(s for s in SOURCES if s.path == OUTBOX))


def _all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_all_subclasses(direct)}}


def _import_package(name: str) -> None:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
        importlib.import_module(info.name)


def test_every_channel_kind_is_registered() -> None:
    _import_package("monitor.delivery.channels")
    from monitor.delivery.channels import CHANNELS, Channel

    kinds = _all_subclasses(Channel)
    assert kinds, "no channel kind found"
    assert kinds == set(CHANNELS.values()), "register every Channel subclass in CHANNELS"
    for kind, channel in CHANNELS.items():
        assert channel.kind == kind
    schemes = [scheme for channel in CHANNELS.values() for scheme in channel.schemes]
    assert len(schemes) == len(set(schemes)), "a URL scheme belongs to one channel kind"


def test_every_source_kind_is_registered() -> None:
    _import_package("crawler.spiders")
    from config.sources import SOURCE_KINDS, SourceBase
    from crawler.spiders import SPIDERS, SourceSpider

    assert _all_subclasses(SourceSpider) == set(SPIDERS.values()), "register every spider in SPIDERS"
    assert _all_subclasses(SourceBase) == set(SOURCE_KINDS.values()), "register every source model in SOURCE_KINDS"
    assert set(SPIDERS) == set(SOURCE_KINDS), "every source kind needs a config model and a spider"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_no_application_module_is_over_400_lines(source: Source) -> None:
    if source.path in LONG_MODULES:
        pytest.skip(f"{source.path}: {LONG_MODULES[source.path]}")
    assert source.lines <= MAX_LINES, f"{source.path} has {source.lines} lines: split it by what its parts do"


def test_the_long_module_exceptions_are_still_needed() -> None:
    lines = {s.path: s.lines for s in SOURCES}
    stale = [path for path in LONG_MODULES if lines.get(path, 0) <= MAX_LINES]
    assert stale == [], "these are short now: drop them from LONG_MODULES"


def test_tests_mirror_the_tree() -> None:
    tests = ROOT / "tests"
    strays = []
    for directory in sorted(p for p in tests.rglob("*") if p.is_dir()):
        parts = directory.relative_to(tests).parts
        if parts[0] in NOT_MIRRORED or "__pycache__" in parts or "data" in parts:
            continue
        top = ROOT / parts[0]
        twin = top.joinpath(*parts[1:]) if top.is_dir() else ROOT / "monitor" / Path(*parts)
        if not twin.is_dir():
            strays.append(directory.relative_to(ROOT).as_posix())
    assert strays == [], "tests/ mirrors the tree: tests/<room>/... for monitor/<room>/..., tests/<package>/ else"
