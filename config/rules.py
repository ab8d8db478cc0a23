"""Schemas of rule files (``rules/*.yaml``) and watchlist files (``watchlists/*.yaml``).

Only the shape is checked here; query syntax, list references and duplicate ids are checked by the
rules engine when it compiles the files (monitor/rules/loader.py), with the same located one-line
errors. The language itself is documented in docs/rules.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["info", "warning", "critical"]
Scope = Literal["clause", "sentence", "paragraph", "document"]
Background = Literal["count", "ignore"]
ListKind = Literal["person", "prison", "court", "charge", "place", "speaker", "term"]
# Built-in event types; any other lower_snake_case name is a user-defined event.
KNOWN_EVENTS = (
    "execution",
    "death_sentence",
    "review_rejected",
    "transfer",
    "rhetoric",
    "un_statement",
    "arrest",
    "execution_risk",
    "execution_surge",
    "watchlist",
)
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=120)]
EventName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceScope(_Strict):
    """Which items a rule looks at: by source id or source tag (empty = every source)."""

    ids: list[str] = []
    tags: list[str] = []
    exclude_ids: list[str] = []
    exclude_tags: list[str] = []


class RuleExample(_Strict):
    """A text the rule must (not) fire on; ``entities`` lists slots the match must contain."""

    text: str
    title: str = ""
    lang: str | None = None
    source: str | None = None
    tags: list[str] = []
    entities: dict[str, object] = {}


def _example(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


class RuleExamples(_Strict):
    match: list[RuleExample] = []
    no_match: list[RuleExample] = []

    @field_validator("match", "no_match", mode="before")
    @classmethod
    def _strings_are_texts(cls, value: object) -> object:
        return [_example(item) for item in value] if isinstance(value, list) else value


class Weights(_Strict):
    """EMM-style diffuse topics: the rule fires when the weights of the distinct terms seen reach
    ``threshold``. Keys are a term, "phrase", @list or /regex/."""

    threshold: float = Field(gt=0)
    terms: dict[str, float]

    @field_validator("terms")
    @classmethod
    def _not_empty(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("give at least one weighted term")
        return value


class Exclusion(_Strict):
    """A query that suppresses the rule when it holds in the same window, or in the enclosing
    ``within`` scope when one is given (e.g. a whole paragraph about 1988 for a sentence rule)."""

    query: str
    within: Scope | None = None


class Negation(_Strict):
    """A cue that cancels the rule when it occurs in the ``within`` segment (default: the sentence)
    of every piece of evidence: ``clause`` keeps "rejected …, but accepted …" apart."""

    query: str
    within: Scope = "sentence"


class About(_Strict):
    """Where the reported event happened, read from the passage itself: the nearest segment around
    the evidence (its sentence, then its paragraph, then the whole item) that names a place decides.
    ``query`` says "here" (Iran), ``other`` says "elsewhere" (other countries)."""

    query: str
    other: str | None = None
    otherwise: Literal["here", "elsewhere"] = "elsewhere"  # when nothing in the item names a place


class RuleSpec(_Strict):
    id: Identifier
    description: str = ""
    event: EventName
    severity: Severity
    enabled: bool = True
    languages: list[str] = []
    sources: SourceScope = SourceScope()
    within: Scope = "sentence"
    query: str | None = None
    context: str | None = None
    about: About | None = None
    exclude: list[Exclusion] = []
    negations: list[Negation] = []
    background: Background = "count"
    weights: Weights | None = None
    examples: RuleExamples = RuleExamples()

    @field_validator("exclude", "negations", mode="before")
    @classmethod
    def _strings_are_queries(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"query": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _needs_query_or_weights(self) -> RuleSpec:
        if self.query is None and self.weights is None:
            raise ValueError("a rule needs a query, weights, or both")
        return self


class RuleFile(_Strict):
    version: Literal[1] = 1
    rules: list[RuleSpec] = []


class WatchEntry(_Strict):
    """One watched person, prison, court, charge or place; ``name`` is what matches report."""

    name: str = Field(min_length=1)
    aliases: list[str] = []
    variants: bool | None = (
        None  # generate Latin transliteration variants; default: the list's setting
    )
    tags: list[str] = []
    role: str = ""  # e.g. un_rapporteur, judiciary, friday_prayer_leader: reported with speaker slots
    notes: str = ""


class WatchList(_Strict):
    id: Identifier
    kind: ListKind
    description: str = ""
    variants: bool | None = None  # default: on for person, prison, court and place lists
    entries: list[WatchEntry]

    @field_validator("entries", mode="before")
    @classmethod
    def _strings_are_names(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @property
    def generate_variants(self) -> bool:
        return (
            self.variants
            if self.variants is not None
            else self.kind in ("person", "prison", "court", "place", "speaker")
        )


class WatchlistFile(_Strict):
    version: Literal[1] = 1
    lists: list[WatchList] = []
