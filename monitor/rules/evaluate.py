"""Evaluating a query's syntax tree against one document window, and saying which clause failed.

Every node yields ``(true, spans)``: a term is true when it occurs (its spans are the evidence),
AND/OR combine truth and collect the evidence of their true parts, NOT is true without evidence,
and NEAR/BEFORE keep only the occurrences that sit close enough (same field, at most n words
between them).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.rules.query import And, Field, ListRef, Near, Node, Not, Or, Regex, Term
from monitor.rules.scanner import Span
from monitor.rules.view import DocumentView, Window

Result = tuple[bool, list[Span]]
MAX_PAIRS = 400  # occurrences considered per side of a NEAR; keeps a pathological document bounded


def evaluate(node: Node, view: DocumentView, window: Window) -> Result:
    if isinstance(node, Term | ListRef):
        spans = view.term_spans(node.term_ids, window)
        return bool(spans), spans
    if isinstance(node, Regex):
        spans = view.regex_spans(node.index, window)
        return bool(spans), spans
    if isinstance(node, And):
        evidence: list[Span] = []
        for part in node.parts:
            ok, spans = evaluate(part, view, window)
            if not ok:
                return False, []
            evidence.extend(spans)
        return True, evidence
    if isinstance(node, Or):
        evidence = []
        found = False
        for part in node.parts:
            ok, spans = evaluate(part, view, window)
            if ok:
                found = True
                evidence.extend(spans)
        return found, evidence
    if isinstance(node, Not):
        assert node.part is not None
        ok, _ = evaluate(node.part, view, window)
        return not ok, []
    if isinstance(node, Field):
        assert node.part is not None
        if node.name == "main":
            return evaluate(node.part, view.foreground, window)
        return evaluate(node.part, view, view.field_window(node.name, window))
    if isinstance(node, Near):
        return _near(node, view, window)
    raise TypeError(f"unknown node {type(node).__name__}")


def _near(node: Near, view: DocumentView, window: Window) -> Result:
    assert node.left is not None and node.right is not None
    left_ok, left = evaluate(node.left, view, window)
    if not left_ok or not left:
        return False, []
    right_ok, right = evaluate(node.right, view, window)
    if not right_ok or not right:
        return False, []
    return _pair(node, view, left, right)


def _pair(node: Near, view: DocumentView, left: list[Span], right: list[Span]) -> Result:
    """The occurrences of two sides that sit close enough (same field, at most n words apart)."""
    kept: set[Span] = set()
    for first in sorted(set(left))[:MAX_PAIRS]:
        for second in sorted(set(right))[:MAX_PAIRS]:
            if not view.same_field(first, second):
                continue
            if node.ordered and second[0] < first[1]:
                continue
            if view.words_between(first, second) <= node.distance:
                kept.add(first)
                kept.add(second)
    return bool(kept), sorted(kept)


def progress(node: Node, view: DocumentView, window: Window) -> int:
    """How much of ``node`` holds in ``window``: terms found, summed through AND/NEAR, best OR
    branch. Picks the most telling near miss."""
    if isinstance(node, Term | ListRef | Regex):
        return 1 if evaluate(node, view, window)[0] else 0
    if isinstance(node, Or):
        return max(progress(part, view, window) for part in node.parts)
    if isinstance(node, Field) and node.part is not None:
        if node.name == "main":
            return progress(node.part, view.foreground, window)
        return progress(node.part, view, view.field_window(node.name, window))
    if isinstance(node, And | Near):
        return sum(progress(part, view, window) for part in node.children())
    return 0


def failed_clause(
    node: Node, view: DocumentView, window: Window, query: str
) -> tuple[Node, str] | None:
    """The innermost clause that makes ``node`` false in ``window``, and what is wrong with it."""
    ok, _ = evaluate(node, view, window)
    if ok:
        return None
    text = " ".join(query[node.start : node.end].split())
    if isinstance(node, And):
        for part in node.parts:
            found = failed_clause(part, view, window, query)
            if found is not None:
                return found
    if isinstance(node, Or):
        best = max(node.parts, key=lambda part: progress(part, view, window))
        if progress(best, view, window) > 0:
            found = failed_clause(best, view, window, query)
            if found is not None:
                return found
        return node, "none of the alternatives occurs"
    if isinstance(node, Field) and node.part is not None:
        if node.name == "main":
            if evaluate(node.part, view, window)[0]:
                return node, "found only in background clauses (relative, past perfect, parenthetical)"
            inner = failed_clause(node.part, view.foreground, window, query)
            return inner or (node, "found only in background clauses")
        inner = failed_clause(node.part, view, view.field_window(node.name, window), query)
        return inner or (node, f"not found in the {node.name}")
    if isinstance(node, Not):
        return node, f"{text[4:]!s} occurs, so NOT fails"
    if isinstance(node, Near) and node.left is not None and node.right is not None:
        for side in (node.left, node.right):
            if not evaluate(side, view, window)[0]:
                return failed_clause(side, view, window, query) or (side, "not found")
        how = "after the first" if node.ordered else "of each other"
        return node, f"both sides occur, but not within {node.distance} words {how}"
    return node, "not found"


Test = Callable[[DocumentView, Window], Result]


def _flat_or(node: Or) -> list[Node]:
    """The alternatives of nested ORs, as one list."""
    out: list[Node] = []
    for part in node.parts:
        out.extend(_flat_or(part) if isinstance(part, Or) else [part])
    return out
_FALSE: Result = (False, [])


def compile_node(node: Node) -> Test:
    """``evaluate`` specialised into closures: the same semantics, without dispatching on node
    types at match time (the hot path of ``RuleEngine.match``)."""
    if isinstance(node, Term | ListRef):
        ids = node.term_ids

        def leaf(view: DocumentView, window: Window) -> Result:
            spans = view.term_spans(ids, window)
            return (True, spans) if spans else _FALSE

        return leaf
    if isinstance(node, Regex):
        index = node.index

        def regex(view: DocumentView, window: Window) -> Result:
            spans = view.regex_spans(index, window)
            return (True, spans) if spans else _FALSE

        return regex
    if isinstance(node, And):
        parts = [compile_node(part) for part in node.parts]

        def conjunction(view: DocumentView, window: Window) -> Result:
            evidence: list[Span] = []
            for part in parts:
                ok, spans = part(view, window)
                if not ok:
                    return _FALSE
                evidence += spans
            return True, evidence

        return conjunction
    if isinstance(node, Or):
        # The plain terms of an OR are one lookup: the union of their term ids (same truth, same spans).
        terms = [part for part in _flat_or(node) if isinstance(part, Term | ListRef)]
        rest = [part for part in _flat_or(node) if not isinstance(part, Term | ListRef)]
        parts = [compile_node(part) for part in rest]
        if len(terms) > 1:
            union = frozenset().union(*(part.term_ids for part in terms))

            def any_term(view: DocumentView, window: Window) -> Result:
                spans = view.term_spans(union, window)
                return (True, spans) if spans else _FALSE

            parts.insert(0, any_term)
        elif terms:
            parts.insert(0, compile_node(terms[0]))
        if len(parts) == 1:
            return parts[0]

        def disjunction(view: DocumentView, window: Window) -> Result:
            evidence: list[Span] = []
            found = False
            for part in parts:
                ok, spans = part(view, window)
                if ok:
                    found = True
                    evidence += spans
            return (True, evidence) if found else _FALSE

        return disjunction
    if isinstance(node, Not):
        assert node.part is not None
        inner = compile_node(node.part)

        def negation(view: DocumentView, window: Window) -> Result:
            return _FALSE if inner(view, window)[0] else (True, [])

        return negation
    if isinstance(node, Field):
        assert node.part is not None
        inner, name = compile_node(node.part), node.name
        if name == "main":

            def foreground(view: DocumentView, window: Window) -> Result:
                return inner(view.foreground, window)

            return foreground

        def scoped(view: DocumentView, window: Window) -> Result:
            return inner(view, view.field_window(name, window))

        return scoped
    if isinstance(node, Near):
        assert node.left is not None and node.right is not None
        first, second = compile_node(node.left), compile_node(node.right)

        def near(view: DocumentView, window: Window) -> Result:
            left_ok, left = first(view, window)
            if not left_ok or not left:
                return _FALSE
            right_ok, right = second(view, window)
            if not right_ok or not right:
                return _FALSE
            return _pair(node, view, left, right)

        return near
    raise TypeError(f"unknown node {type(node).__name__}")
