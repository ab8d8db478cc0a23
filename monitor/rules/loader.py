"""Reading rule and watchlist files into compiled form; every problem is a located ConfigError.

Checks beyond the schema: query syntax (line and column of the offending token inside the file),
unknown @list references, invalid regexes (RE2 syntax only), terms that normalise to nothing,
queries made only of NOT, and ids defined twice (both places named).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from config.errors import ConfigError, QueryError
from config.rules import RuleFile, WatchlistFile
from config.yamlfile import YamlDocument, load_yaml, validate
from monitor.rules.compiled import (
    Clause,
    CompiledList,
    CompiledRule,
    Entity,
    has_positive_part,
    needed_sets,
    required_terms,
    union_triggers,
)
from monitor.rules.locate import locate_in_value
from monitor.rules.query import (
    Field,
    ListRef,
    Node,
    QuerySyntaxError,
    Regex,
    Term,
    parse,
    parse_primary,
    walk,
)
from monitor.rules.scanner import TermTable
from monitor.rules.terms import literal_keys
from monitor.rules.variants import name_variants

KeyPath = tuple[str | int, ...]
REGEX_MAX_MEM = 64 << 20


@dataclass
class Compiler:
    """Accumulates the term table, lists, regexes and rules of one engine."""

    table: TermTable = field(default_factory=TermTable)
    lists: dict[str, CompiledList] = field(default_factory=dict)
    entities: dict[int, list[Entity]] = field(default_factory=dict)
    regexes: list[Any] = field(default_factory=list)
    rules: list[CompiledRule] = field(default_factory=list)
    _rule_places: dict[str, str] = field(default_factory=dict)
    _sets: dict[frozenset[int], frozenset[int]] = field(default_factory=dict)

    def intern(self, ids: frozenset[int]) -> frozenset[int]:
        """One object per distinct set, so per-document caches keyed by set identity are shared."""
        return self._sets.setdefault(ids, ids)

    # ----------------------------------------------------------------------------------- watchlists
    def add_watchlist_file(self, path: Path) -> None:
        document = load_yaml(path)
        parsed = validate(WatchlistFile, document)
        for index, spec in enumerate(parsed.lists):
            keypath: KeyPath = ("lists", index, "id")
            line, column = document.locate(keypath)
            if spec.id in self.lists:
                first = self.lists[spec.id]
                raise ConfigError(
                    f"duplicate list id '{spec.id}' (first defined at {first.file}:{first.line})",
                    file=path,
                    line=line,
                    column=column,
                    keypath=keypath,
                )
            term_ids: list[int] = []
            keys = 0
            for entry_index, entry in enumerate(spec.entries):
                generate = entry.variants if entry.variants is not None else spec.generate_variants
                entity = Entity(spec.id, spec.kind, entry.name)
                forms = [entry.name, *entry.aliases]
                for form_index, form in enumerate(forms):
                    prefix = form.endswith("*") and spec.kind == "term"
                    strict = form.startswith("=") and spec.kind == "term"
                    bare = form.rstrip("*") if prefix else form
                    found = literal_keys(bare[1:] if strict else bare)
                    if not found:
                        where: KeyPath = (
                            "lists",
                            index,
                            "entries",
                            entry_index,
                            *(("name",) if form_index == 0 else ("aliases", form_index - 1)),
                        )
                        raise document.error(
                            "this name is empty after normalisation (only marks or spaces)", where
                        )
                    if generate:
                        found = list(dict.fromkeys(v for key in found for v in name_variants(key)))
                    for key in found:
                        term_id = self.table.add(key, prefix, strict=strict)
                        term_ids.append(term_id)
                        bucket = self.entities.setdefault(term_id, [])
                        if entity not in bucket:
                            bucket.append(entity)
                    keys += len(found)
            self.lists[spec.id] = CompiledList(spec, path, line, frozenset(term_ids), keys)

    # -------------------------------------------------------------------------------------- rules
    def add_rule_file(self, path: Path) -> None:
        document = load_yaml(path)
        parsed = validate(RuleFile, document)
        for index, spec in enumerate(parsed.rules):
            base: KeyPath = ("rules", index)
            line, column = document.locate((*base, "id"))
            if spec.id in self._rule_places:
                raise ConfigError(
                    f"duplicate rule id '{spec.id}' "
                    f"(first defined at {self._rule_places[spec.id]})",
                    file=path,
                    line=line,
                    column=column,
                    keypath=(*base, "id"),
                )
            self._rule_places[spec.id] = f"{path}:{line}"
            rule = CompiledRule(spec=spec, file=path, line=line, index=len(self.rules), query=None)
            if spec.query is not None:
                rule.query = self._clause(document, (*base, "query"), spec.query, positive=True)
                if spec.background == "ignore":
                    rule.query = Clause(spec.query, Field(0, len(spec.query), name="main", part=rule.query.node))
            if spec.context is not None:
                rule.context = self._clause(
                    document, (*base, "context"), spec.context, positive=True
                )
            if spec.about is not None:
                rule.about = self._clause(document, (*base, "about", "query"), spec.about.query, positive=True)
                if spec.about.other is not None:
                    rule.elsewhere = self._clause(
                        document, (*base, "about", "other"), spec.about.other, positive=True
                    )
            raw_excludes = document.data["rules"][index].get("exclude") or []
            for i, exclusion in enumerate(spec.exclude):
                where: KeyPath = (*base, "exclude", i)
                if isinstance(raw_excludes[i], dict):
                    where = (*where, "query")
                clause = self._clause(document, where, exclusion.query, positive=True)
                clause.scope = exclusion.within
                rule.excludes.append(clause)
            raw_negations = document.data["rules"][index].get("negations") or []
            for i, negation in enumerate(spec.negations):
                where = (*base, "negations", i)
                if isinstance(raw_negations[i], dict):
                    where = (*where, "query")
                clause = self._clause(document, where, negation.query, positive=True)
                clause.scope = negation.within
                rule.negations.append(clause)
            if spec.weights is not None:
                for key, weight in spec.weights.terms.items():
                    clause = self._clause(
                        document,
                        (*base, "weights", "terms", key),
                        key,
                        positive=True,
                        single=True,
                        in_key=True,
                    )
                    clause.weight = weight
                    rule.weights.append(clause)
            trigger = self._trigger(rule)
            rule.trigger = self.intern(trigger) if trigger is not None else None
            needs = [
                *(needed_sets(rule.query.node) if rule.query else ()),
                *(needed_sets(rule.context.node) if rule.context else ()),
                # "here" must be named somewhere, unless the rule assumes it when nothing names a place
                *(
                    [required]
                    if rule.about
                    and spec.about is not None
                    and spec.about.otherwise == "elsewhere"
                    and (required := required_terms(rule.about.node))
                    else ()
                ),
            ]
            # The trigger set is present whenever the rule is a candidate: no need to test it again.
            rule.needs = tuple(
                self.intern(needed) for needed in dict.fromkeys(needs) if needed != trigger
            )
            self.rules.append(rule)

    def _trigger(self, rule: CompiledRule) -> frozenset[int] | None:
        if rule.query is not None:
            return required_terms(rule.query.node)
        return union_triggers([required_terms(clause.node) for clause in rule.weights])

    def _clause(
        self,
        document: YamlDocument,
        keypath: KeyPath,
        text: str,
        *,
        positive: bool,
        single: bool = False,
        in_key: bool = False,
    ) -> Clause:
        try:
            node = parse_primary(text) if single else parse(text)
            self._resolve(node)
            if positive and not has_positive_part(node):
                raise QueryError(
                    "this matches documents by what they lack; add a term that must occur "
                    "(NOT alone matches almost everything)",
                    node.start,
                )
        except (QuerySyntaxError, QueryError) as exc:
            raise _located(document, keypath, exc.offset, exc.message, in_key=in_key) from None
        return Clause(text, node)

    def _resolve(self, root: Node) -> None:
        for node in walk(root):
            if isinstance(node, Term):
                keys = literal_keys(node.raw)
                if not keys:
                    raise QueryError(f"'{node.raw}' is empty after normalisation", node.start)
                node.term_ids = self.intern(
                    frozenset(self.table.add(key, node.prefix, strict=node.strict) for key in keys)
                )
            elif isinstance(node, ListRef):
                found = self.lists.get(node.name)
                if found is None:
                    raise QueryError(self._unknown_list(node.name), node.start)
                node.term_ids = found.term_ids
            elif isinstance(node, Regex):
                node.index = self._regex(node)

    def _unknown_list(self, name: str) -> str:
        known = sorted(self.lists)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '@{close[0]}'?" if close else ""
        listing = ", ".join(known) if known else "none loaded"
        return f"unknown list '@{name}'{hint} (lists: {listing})"

    def _regex(self, node: Regex) -> int:
        options = re2.Options()
        options.log_errors = False
        options.max_mem = REGEX_MAX_MEM
        try:
            compiled = re2.compile(node.pattern, options)
        except re2.error as exc:
            detail = (
                exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            )
            raise QueryError(
                f"invalid regex (RE2 syntax, no backreferences or lookaround): {detail}", node.start
            ) from None
        self.regexes.append(compiled)
        return len(self.regexes) - 1


def _located(
    document: YamlDocument, keypath: KeyPath, offset: int, message: str, *, in_key: bool = False
) -> ConfigError:
    position = locate_in_value(document.path, keypath, offset, in_key=in_key)
    line, column = position if position else document.locate(keypath)
    return ConfigError(message, file=document.path, line=line, column=column, keypath=keypath)


def compile_files(rule_files: Sequence[Path], watchlist_files: Sequence[Path]) -> Compiler:
    """Load watchlists first (rules refer to them), then rules, in the order given."""
    compiler = Compiler()
    for path in watchlist_files:
        compiler.add_watchlist_file(Path(path))
    for path in rule_files:
        compiler.add_rule_file(Path(path))
    return compiler
