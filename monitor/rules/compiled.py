"""Compiled rules and watchlists: what the engine keeps after loading and checking the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from config.rules import RuleSpec, WatchList
from monitor.rules.evaluate import Test, compile_node
from monitor.rules.query import And, Field, ListRef, Near, Node, Not, Or, Regex, Term


@dataclass(frozen=True, slots=True)
class Entity:
    """A watchlist entry a term id stands for."""

    list_id: str
    kind: str  # person, prison, court, charge, place, term
    name: str  # canonical name, reported in matches


@dataclass
class CompiledList:
    spec: WatchList
    file: Path
    line: int
    term_ids: frozenset[int]
    keys: int  # automaton keys generated (aliases and variants)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.kind


@dataclass
class Clause:
    """A query string from a rule file and its syntax tree."""

    source: str
    node: Node  # with its term ids resolved
    weight: float = 0.0
    scope: str | None = None  # exclusions only: sentence, paragraph or document (None: the rule's)
    test: Test = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.test = compile_node(self.node)


@dataclass
class CompiledRule:
    spec: RuleSpec
    file: Path
    line: int
    index: int  # position in the engine, for stable output order
    query: Clause | None
    context: Clause | None = None
    about: Clause | None = None  # "here": see config.rules.About
    elsewhere: Clause | None = None  # "elsewhere"
    excludes: list[Clause] = field(default_factory=list)
    negations: list[Clause] = field(default_factory=list)
    weights: list[Clause] = field(default_factory=list)
    trigger: frozenset[int] | None = None  # term ids; None = evaluate on every document
    needs: tuple[frozenset[int], ...] = ()  # each set must occur somewhere for the rule to fire

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def scoped(self) -> bool:
        """Whether the rule only looks at some sources or languages."""
        scope = self.spec.sources
        return bool(
            scope.ids
            or scope.tags
            or scope.exclude_ids
            or scope.exclude_tags
            or self.spec.languages
        )

    @property
    def event(self) -> str:
        return self.spec.event

    @property
    def severity(self) -> str:
        return self.spec.severity

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def required_terms(node: Node) -> frozenset[int] | None:
    """Term ids of which at least one must occur for ``node`` to be true (None: cannot tell)."""
    if isinstance(node, Term | ListRef):
        return node.term_ids
    if isinstance(node, Regex | Not):
        return None
    if isinstance(node, Field):
        return required_terms(node.part) if node.part else None
    if isinstance(node, Or):
        union: set[int] = set()
        for part in node.parts:
            needed = required_terms(part)
            if needed is None:
                return None
            union |= needed
        return frozenset(union)
    if isinstance(node, And | Near):
        candidates = [required_terms(part) for part in node.children()]
        known = [needed for needed in candidates if needed is not None]
        return min(known, key=len) if known else None
    return None


def needed_sets(node: Node) -> list[frozenset[int]]:
    """Term-id sets that must each occur in the document for ``node`` to be true: a cheap test
    that skips most rules before any window is evaluated."""
    if isinstance(node, Term | ListRef):
        return [node.term_ids]
    if isinstance(node, And | Near):
        return [needed for part in node.children() for needed in needed_sets(part)]
    if isinstance(node, Field):
        return needed_sets(node.part) if node.part else []
    if isinstance(node, Or):
        needed = required_terms(node)
        return [needed] if needed is not None else []
    return []


def has_positive_part(node: Node) -> bool:
    """Whether ``node`` can only be true when something occurs (a pure NOT cannot)."""
    if isinstance(node, Term | ListRef | Regex):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, Or):
        return all(has_positive_part(part) for part in node.parts)
    if isinstance(node, And | Near):
        return any(has_positive_part(part) for part in node.children())
    if isinstance(node, Field):
        return node.part is not None and has_positive_part(node.part)
    return False


def union_triggers(parts: Sequence[frozenset[int] | None]) -> frozenset[int] | None:
    out: set[int] = set()
    for part in parts:
        if part is None:
            return None
        out |= part
    return frozenset(out)
