"""What decides a rule beyond its query: where the event happened (``about``), exclusions, negation
cues, and the rule's sources and languages. Pure, like the engine that calls it."""

from __future__ import annotations

from monitor.rules.compiled import CompiledRule
from monitor.rules.evaluate import evaluate
from monitor.rules.scanner import Span
from monitor.rules.view import DocumentView, Window


def here(rule: CompiledRule, view: DocumentView, window: Window, spans: list[Span]) -> tuple[bool, str]:
    """Whether the evidence is about the rule's place (``about``): the nearest of its sentence,
    its paragraph and the whole item that names a place decides; naming both, the mention
    nearest the evidence decides (the item: the more often named)."""
    assert rule.about is not None
    anchor = min((start for start, _ in spans), default=window[0])
    for scope in ("sentence", "paragraph", "document"):
        segment = view.whole if scope == "document" else view.segment_of(scope, anchor)
        here = rule.about.test(view, segment)[1]
        there = rule.elsewhere.test(view, segment)[1] if rule.elsewhere is not None else []
        # "US Supreme Court", "Saudi courts": another country's name in or just before a "here" term
        # makes it that country's.
        here, there = outside(here, there, reach=2), outside(there, here)
        if not here and not there:
            continue
        if here and there:
            if scope == "document":
                chosen = len(here) >= len(there)
            else:
                near_here = min(abs(start - anchor) for start, _ in here)
                near_there = min(abs(start - anchor) for start, _ in there)
                chosen = near_here <= near_there
        else:
            chosen = bool(here)
        if chosen:
            return True, ""
        return False, f"about elsewhere: the {scope} {quote(view, segment)} names another place"
    if rule.spec.about is not None and rule.spec.about.otherwise == "here":
        return True, ""
    return False, "nothing in the item says where this happened (about)"


def excluded(rule: CompiledRule, view: DocumentView, window: Window) -> tuple[str, str] | None:
    """The first exclusion that holds around ``window`` (in its own scope, if it has one)."""
    for clause in rule.excludes:
        scope = clause.scope or rule.spec.within
        if scope == rule.spec.within:
            around = [window]
        else:
            around = [segment for segment in view.segments(scope) if segment[0] < window[1] and window[0] < segment[1]]
        for segment in around:
            if evaluate(clause.node, view, segment)[0]:
                return f"excluded in the {scope} {quote(view, segment)}", clause.source
    return None


def negated(rule: CompiledRule, view: DocumentView, kept: list[tuple[Window, list[Span]]]) -> tuple[str, str] | None:
    """A negation cue in the segment (sentence by default) of every piece of evidence suppresses
    the match."""
    if not rule.negations:
        return None
    # A cue in a background clause ("the sentence it previously overturned") negates nothing.
    seen = view.foreground if rule.spec.background == "ignore" else view
    first: tuple[str, str] | None = None
    for _, spans in kept:
        for span in spans or [(0, 0)]:
            cue = None
            for clause in rule.negations:
                segment = view.segment_of(clause.scope or "sentence", span[0])
                if clause.test(seen, segment)[0]:
                    cue = clause
                    break
            if cue is None:
                return None
            if first is None:
                where = cue.scope or "sentence"
                first = (f"negation cue in the {where} {quote(view, segment)}", cue.source)
    return first


def outside(spans: list[Span], others: list[Span], *, reach: int = 0) -> list[Span]:
    """``spans`` that neither lie inside one of ``others`` nor follow one within ``reach``
    characters."""
    return [
        s
        for s in spans
        if not any(o[0] <= s[0] and s[1] <= o[1] and o != s or o[1] <= s[0] <= o[1] + reach for o in others)
    ]


def out_of_scope(rule: CompiledRule, source: str | None, tags: frozenset[str], language: str) -> str | None:
    """Why an item from ``source`` with ``tags`` is outside the rule's sources or languages (None when inside)."""
    scope = rule.spec.sources
    if scope.ids and source not in scope.ids:
        return f"source {source!r} is not one of {scope.ids}"
    if scope.tags and not tags.intersection(scope.tags):
        return f"the source has none of the tags {scope.tags}"
    if source is not None and source in scope.exclude_ids:
        return f"source {source!r} is excluded"
    if tags.intersection(scope.exclude_tags):
        return f"source tags {sorted(tags.intersection(scope.exclude_tags))} are excluded"
    if rule.spec.languages and language not in rule.spec.languages:
        return f"language {language!r} is not one of {rule.spec.languages}"
    return None


def quote(view: DocumentView, window: Window, width: int = 90) -> str:
    """The raw text of ``window`` (title or text), shortened, in quotes."""
    text = " ".join(view.raw_text(window).split())
    return f"'{text[: width - 1]}…'" if len(text) > width else f"'{text}'"
