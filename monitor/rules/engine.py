"""The rules engine: documents in, matches out. Pure: no database, no network, no clock.

``RuleEngine.load`` either returns a complete new engine or raises ConfigError, so a service can
keep the previous engine when an edited file is broken (hot reload without a half-loaded state).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.rules import conditions
from monitor.rules.compiled import CompiledList, CompiledRule, Entity
from monitor.rules.conditions import quote
from monitor.rules.evaluate import evaluate, failed_clause, progress
from monitor.rules.extract import Mention, extract, mentions_in
from monitor.rules.loader import Compiler, compile_files
from monitor.rules.scanner import Scanner, Span
from monitor.rules.view import DocumentView, Window


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str = ""
    lang: str | None = None
    source: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    rule_id: str
    event: str
    severity: str  # info | warning | critical
    score: float
    entities: dict[str, Any]
    spans: list[tuple[int, int]]  # into Document.text
    title_spans: list[tuple[int, int]]  # into Document.title

    def to_json(self, document_id: str) -> dict[str, Any]:
        """The ``tocsin match`` output line: spans into the text as ``[start, end]``, spans into the
        title marked as ``["title", start, end]`` (the shape storage keeps too)."""
        spans: list[list[Any]] = [[start, end] for start, end in self.spans]
        spans += [["title", start, end] for start, end in self.title_spans]
        return {
            "id": document_id,
            "rule": self.rule_id,
            "event": self.event,
            "severity": self.severity,
            "score": self.score,
            "entities": self.entities,
            "spans": spans,
        }


@dataclass
class RuleTrace:
    """Why one rule fired or not on one document."""

    rule_id: str
    event: str
    severity: str
    fired: bool
    reason: str  # "fired", or the first thing that failed
    failed_clause: str | None = None  # the query text of the clause that failed
    match: Match | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)  # evidence seen (near misses too)
    title_spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Explanation:
    document: Document
    fired: list[RuleTrace]
    near_misses: list[RuleTrace]  # rules whose terms occurred but that did not fire


@dataclass
class _Outcome:
    fired: bool
    reason: str
    clause: str | None = None
    windows: list[Window] = field(default_factory=list)
    evidence: list[Span] = field(default_factory=list)
    score: float = 1.0


def guess_language(text: str) -> str:
    """'fa' when Arabic-script letters outnumber Latin ones in the first 2,000 characters, else
    'en'.
    """
    sample = text[:2000]
    persian = sum(1 for ch in sample if "\u0600" <= ch <= "\u06ff")
    latin = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return "fa" if persian > latin else "en"


class RuleEngine:
    """Compiled rules and watchlists sharing one automaton."""

    def __init__(self, compiled: Compiler) -> None:
        """An engine over ``compiled`` (use ``RuleEngine.load`` to read files)."""
        self.rules: Sequence[CompiledRule] = tuple(compiled.rules)
        self.watchlists: dict[str, CompiledList] = compiled.lists
        self.entities: dict[int, list[Entity]] = compiled.entities
        self.scanner = Scanner(compiled.table)
        self.regexes: tuple[Any, ...] = tuple(compiled.regexes)
        self._by_id = {rule.id: rule for rule in self.rules}
        self._always = [rule for rule in self.rules if rule.trigger is None and rule.spec.enabled]
        self._triggered_by: dict[int, list[CompiledRule]] = {}
        for rule in self.rules:
            if rule.trigger is not None and rule.spec.enabled:
                for term_id in rule.trigger:
                    self._triggered_by.setdefault(term_id, []).append(rule)

    @classmethod
    def load(cls, rule_files: Sequence[Path], watchlist_files: Sequence[Path]) -> RuleEngine:
        """Compile the files into a new engine; any problem raises a located ConfigError."""
        return cls(compile_files(rule_files, watchlist_files))

    def rule(self, rule_id: str) -> CompiledRule:
        return self._by_id[rule_id]

    @property
    def automaton_size(self) -> int:
        return self.scanner.size

    # ------------------------------------------------------------------------------------- matching
    def view(self, doc: Document) -> DocumentView:
        return DocumentView(doc.title, doc.text, self.scanner, self._regex_spans)

    def _regex_spans(self, index: int, text: str) -> list[Span]:
        return [match.span() for match in self.regexes[index].finditer(text)]

    def candidates(self, view: DocumentView) -> list[CompiledRule]:
        """Rules worth evaluating: those whose trigger terms occur, plus those that have none."""
        chosen: dict[int, CompiledRule] = {rule.index: rule for rule in self._always}
        for term_id in view.hits:
            for rule in self._triggered_by.get(term_id, ()):
                chosen[rule.index] = rule
        return [chosen[index] for index in sorted(chosen)]

    def match(self, doc: Document) -> list[Match]:
        view = self.view(doc)
        language = doc.lang or guess_language(doc.text or doc.title)
        mentions: list[Mention] | None = None
        out: list[Match] = []
        found = view.hits.keys()
        present: dict[int, bool] = {}  # id(term set) -> does any of it occur; sets are shared
        for rule in self.candidates(view):
            missing = False
            for needed in rule.needs:
                here = present.get(id(needed))
                if here is None:
                    here = present[id(needed)] = not needed.isdisjoint(found)
                if not here:
                    missing = True  # a term the rule cannot do without is absent
                    break
            if missing:
                continue
            outcome = self._fires(rule, view, doc, language)
            if outcome is not None:
                if mentions is None:
                    mentions = mentions_in(view, self.entities)
                out.append(self._match(rule, view, outcome, mentions))
        return out

    def _fires(
        self, rule: CompiledRule, view: DocumentView, doc: Document, language: str
    ) -> _Outcome | None:
        """``_evaluate`` without the explanations: the outcome when the rule fires, else None."""
        if rule.scoped and conditions.out_of_scope(rule, doc.source, doc.tags, language):
            return None
        whole = view.whole
        if rule.context is not None and not rule.context.test(view, whole)[0]:
            return None
        score = 1.0
        evidence: list[Span] = []
        if rule.weights:
            total = 0.0
            for clause in rule.weights:
                ok, spans = clause.test(view, whole)
                if ok:
                    total += clause.weight
                    evidence += spans
            if rule.spec.weights is not None and total < rule.spec.weights.threshold:
                return None
            score = total
        if rule.query is None:
            kept = [(whole, evidence)]
        else:
            test = rule.query.test
            kept = []
            for window in self._windows(rule, view):
                ok, spans = test(view, window)
                if ok and not (rule.excludes and conditions.excluded(rule, view, window)):
                    kept.append((window, spans))
            if not kept:
                return None
        if rule.about is not None:
            kept = [(window, spans) for window, spans in kept if conditions.here(rule, view, window, spans)[0]]
            if not kept:
                return None
        if rule.negations and conditions.negated(rule, view, kept):
            return None
        evidence = sorted(set(evidence).union(*(set(spans) for _, spans in kept)))
        return _Outcome(True, "fired", windows=[w for w, _ in kept], evidence=evidence, score=score)

    def explain(self, doc: Document) -> Explanation:
        view = self.view(doc)
        language = doc.lang or guess_language(doc.text or doc.title)
        mentions = mentions_in(view, self.entities)
        fired: list[RuleTrace] = []
        missed: list[RuleTrace] = []
        for rule in self.candidates(view):
            outcome = self._evaluate(rule, view, doc, language, explain=True)
            text_spans, title_spans = _raw_spans(view, outcome.evidence)
            trace = RuleTrace(
                rule.id,
                rule.event,
                rule.severity,
                outcome.fired,
                outcome.reason,
                outcome.clause,
                spans=text_spans,
                title_spans=title_spans,
            )
            if outcome.fired:
                trace.match = self._match(rule, view, outcome, mentions)
                fired.append(trace)
            else:
                missed.append(trace)
        return Explanation(doc, fired, missed)

    def match_rule(self, rule_id: str, doc: Document) -> tuple[Match | None, str]:
        """Evaluate one rule (enabled or not) on ``doc``: its match, or why it did not fire."""
        rule = self._by_id[rule_id]
        view = self.view(doc)
        language = doc.lang or guess_language(doc.text or doc.title)
        outcome = self._evaluate(rule, view, doc, language, explain=True)
        if not outcome.fired:
            return None, outcome.reason
        return self._match(rule, view, outcome, mentions_in(view, self.entities)), "fired"

    def _match(
        self, rule: CompiledRule, view: DocumentView, outcome: _Outcome, mentions: Sequence[Mention]
    ) -> Match:
        entities = extract(view, mentions, outcome.windows, outcome.evidence, rule.event)
        text_spans, title_spans = _raw_spans(view, outcome.evidence)
        return Match(
            rule.id,
            rule.event,
            rule.severity,
            round(outcome.score, 3),
            entities,
            text_spans,
            title_spans,
        )

    # ------------------------------------------------------------------------------------- one rule
    def _evaluate(
        self,
        rule: CompiledRule,
        view: DocumentView,
        doc: Document,
        language: str,
        *,
        explain: bool = False,
    ) -> _Outcome:
        spec = rule.spec
        if rule.scoped:
            refused = conditions.out_of_scope(rule, doc.source, doc.tags, language)
            if refused:
                return _Outcome(False, refused)
        if rule.context is not None and not evaluate(rule.context.node, view, view.whole)[0]:
            return _Outcome(False, "context not found in the document", rule.context.source)

        score = 1.0
        evidence: list[Span] = []
        if rule.weights:
            total = 0.0
            for clause in rule.weights:
                ok, spans = evaluate(clause.node, view, view.whole)
                if ok:
                    total += clause.weight
                    evidence.extend(spans)
            threshold = spec.weights.threshold if spec.weights else 0.0
            if total < threshold:
                return _Outcome(
                    False, f"weights {total:g} below threshold {threshold:g}", evidence=evidence
                )
            score = total

        if rule.query is None:
            windows = [view.whole]
            kept = [(view.whole, evidence)]
            reason = ""
        else:
            windows = self._windows(rule, view)
            kept, reason, failed = self._hold(rule, view, windows, explain)
            if not kept:
                return _Outcome(False, reason, failed)
        if rule.about is not None:
            decided = [(window, spans, conditions.here(rule, view, window, spans)) for window, spans in kept]
            kept = [(window, spans) for window, spans, (here, _) in decided if here]
            if not kept:
                return _Outcome(False, decided[0][2][1], rule.about.source)
        cancelled = conditions.negated(rule, view, kept)
        if cancelled:
            return _Outcome(False, cancelled[0], cancelled[1])
        held = [window for window, _ in kept]
        evidence = sorted(set(evidence).union(*(set(spans) for _, spans in kept)))
        return _Outcome(True, "fired", windows=held, evidence=evidence, score=score)

    def _windows(self, rule: CompiledRule, view: DocumentView) -> list[Window]:
        """The segments worth trying: those containing a trigger term (all of them without a
        trigger).
        """
        scope = rule.spec.within
        if scope == "document":
            return [view.whole]
        if rule.trigger is None:
            return view.segments(scope)
        key = ("windows", id(rule.trigger), scope)  # rules often share a trigger set
        chosen: list[Window] | None = view.memo.get(key)
        if chosen is None:
            chosen = []
            for start, _ in view.term_spans(rule.trigger, view.whole):  # in text order
                if chosen and chosen[-1][0] <= start < chosen[-1][1]:
                    continue
                chosen.append(view.segment_of(scope, start))
            view.memo[key] = chosen
        return chosen

    def _hold(
        self, rule: CompiledRule, view: DocumentView, windows: Sequence[Window], explain: bool
    ) -> tuple[list[tuple[Window, list[Span]]], str, str | None]:
        """Windows where the query holds and no exclusion applies; else why not."""
        assert rule.query is not None
        kept: list[tuple[Window, list[Span]]] = []
        excluded: tuple[str, str] | None = None
        best: tuple[int, Window] | None = None
        for window in windows:
            ok, spans = evaluate(rule.query.node, view, window)
            if not ok:
                if explain:
                    parts = progress(rule.query.node, view, window)
                    if best is None or parts > best[0]:
                        best = (parts, window)
                continue
            hit = conditions.excluded(rule, view, window)
            if hit is not None:
                excluded = hit
                continue
            kept.append((window, spans))
        if kept:
            return kept, "", None
        if excluded:
            return [], excluded[0], excluded[1]
        if best is None:
            return [], f"query does not hold in any {rule.spec.within}", None
        failed = failed_clause(rule.query.node, view, best[1], rule.query.source)
        if failed is None:
            return [], f"query does not hold in any {rule.spec.within}", None
        node, why = failed
        clause = " ".join(rule.query.source[node.start : node.end].split())
        return [], f"{why}; closest {rule.spec.within}: {quote(view, best[1])}", clause


def _raw_spans(
    view: DocumentView, spans: Sequence[Span]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    text: set[tuple[int, int]] = set()
    title: set[tuple[int, int]] = set()
    for span in spans:
        raw = view.raw_span(span)
        (title if raw.field == "title" else text).add((raw.start, raw.end))
    return _merge(sorted(text)), _merge(sorted(title))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
