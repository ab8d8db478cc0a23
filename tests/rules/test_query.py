"""The query language: parsing, syntax errors with their position, errors located in files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from monitor.rules import RuleEngine
from monitor.rules.query import (
    And,
    Field,
    ListRef,
    Near,
    Not,
    Or,
    QuerySyntaxError,
    Regex,
    Term,
    parse,
)
from tests.rules.conftest import DATA

ERRORS = yaml.safe_load((DATA / "syntax_errors.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", ERRORS, ids=[case["id"] for case in ERRORS])
def test_syntax_errors(case: dict[str, Any]) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(case["query"])
    assert case["message"] in raised.value.message
    assert raised.value.offset == case["at"]


def test_precedence_near_binds_tightest_then_not_and_or() -> None:
    tree = parse("a OR b AND NOT c NEAR/2 d")
    assert isinstance(tree, Or)
    second = tree.parts[1]
    assert isinstance(second, And)
    negated = second.parts[1]
    assert isinstance(negated, Not) and isinstance(negated.part, Near)
    assert negated.part.distance == 2 and not negated.part.ordered


def test_nodes_and_their_places_in_the_query() -> None:
    query = "title:(execut* OR «حکم اعدام») BEFORE/3 @watchlist:death_row AND /\\d+ prisoners/"
    tree = parse(query)
    assert isinstance(tree, And)
    near, regex = tree.parts
    assert isinstance(near, Near) and near.ordered and near.distance == 3
    assert isinstance(near.left, Field) and near.left.name == "title"
    assert isinstance(near.right, ListRef) and near.right.name == "death_row"
    assert isinstance(regex, Regex) and regex.pattern == "\\d+ prisoners"
    inner = near.left.part
    assert isinstance(inner, Or)
    star, phrase = inner.parts
    assert isinstance(star, Term) and star.prefix and star.raw == "execut"
    assert isinstance(phrase, Term) and phrase.raw == "حکم اعدام"
    assert query[phrase.start : phrase.end] == "«حکم اعدام»"


def test_lowercase_operators_are_words() -> None:
    tree = parse('"death and taxes"')
    assert isinstance(tree, Term) and tree.raw == "death and taxes"
    with pytest.raises(QuerySyntaxError):
        parse("death and taxes")


RULE_FILES = {
    "plain": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n    query: executed AND\n",
        (5, 24),
    ),
    "single-quoted": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n"
        "    query: 'iran AND (executed OR'\n",
        (5, 34),
    ),
    "double-quoted": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n"
        '    query: "iran AND death sentence"\n',
        (5, 28),
    ),
    "folded": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n    query: >-\n"
        "      executed OR hanged\n      OR exe*cuted\n",
        (7, 13),
    ),
    "literal": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n    query: |\n"
        "      executed OR\n        (hanged AND\n         @nosuchlist)\n",
        (8, 10),
    ),
    "persian": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n"
        "    query: اعدام AND حکم اعدام\n",
        (5, 26),
    ),
    "exclude-item": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n    query: executed\n"
        "    exclude:\n      - iran\n      - 'foo bar'\n",
        (8, 14),
    ),
    "weights-key": (
        "rules:\n  - id: r\n    event: execution\n    severity: info\n    weights:\n"
        "      threshold: 1\n      terms:\n        'iran OR': 1\n",
        (8, 17),
    ),
}


@pytest.mark.parametrize("name", sorted(RULE_FILES))
def test_query_errors_point_at_the_token_in_the_file(tmp_path: Path, name: str) -> None:
    text, (line, column) = RULE_FILES[name]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        RuleEngine.load([path], [])
    error = raised.value
    assert (error.file, error.line, error.column) == (path, line, column), str(error)
    assert str(error).startswith(f"{path}:{line}:{column}: rules[0].")
