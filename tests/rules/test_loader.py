"""Loading rule and watchlist files: located errors, duplicates across files, and hot reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from monitor.rules import Document, RuleEngine


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


RULE = "rules:\n  - id: {id}\n    event: execution\n    severity: warning\n    query: {query}\n"


def load_error(tmp_path: Path, text: str, lists: str | None = None) -> ConfigError:
    rules = write(tmp_path / "rules.yaml", text)
    watchlists = [write(tmp_path / "lists.yaml", lists)] if lists else []
    with pytest.raises(ConfigError) as raised:
        RuleEngine.load([rules], watchlists)
    return raised.value


def test_duplicate_rule_ids_name_both_places(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", RULE.format(id="same", query="hanged"))
    second = write(
        tmp_path / "b.yaml", "# another file\n" + RULE.format(id="same", query="executed")
    )
    with pytest.raises(ConfigError) as raised:
        RuleEngine.load([first, second], [])
    error = raised.value
    assert (error.file, error.line) == (second, 3)
    assert f"first defined at {first}:2" in str(error)


def test_duplicate_list_ids_name_both_places(tmp_path: Path) -> None:
    lists = "lists:\n  - id: prisons\n    kind: prison\n    entries: [Evin]\n"
    first, second = write(tmp_path / "a.yaml", lists), write(tmp_path / "b.yaml", lists)
    with pytest.raises(ConfigError, match=f"first defined at {first}:2"):
        RuleEngine.load([], [first, second])


def test_unknown_list_suggests_the_closest(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        RULE.format(id="r", query="hanged AND @prisns"),
        "lists:\n  - id: prisons\n    kind: prison\n    entries: [Evin]\n",
    )
    assert "unknown list '@prisns'; did you mean '@prisons'?" in error.message
    assert (error.line, error.column) == (5, 23)


def test_unknown_keys_are_rejected_where_they_are(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        "rules:\n  - id: r\n    event: execution\n    severity: warning\n    qurey: hanged\n",
    )
    assert error.line == 5 and error.keypath == ("rules", 0, "qurey")


def test_bad_values_say_what_is_allowed(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, "rules:\n  - id: r\n    event: execution\n    severity: high\n    query: hanged\n"
    )
    assert (
        error.line == 4
        and "'info', 'warning' or 'critical'" in error.message
        and "'high'" in error.message
    )


def test_a_query_of_only_not_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, RULE.format(id="r", query="NOT football"))
    assert "add a term that must occur" in error.message


def test_backtracking_regexes_are_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, RULE.format(id="r", query=r"'x AND /(a)\1/'"))
    assert "RE2 syntax" in error.message and (error.line, error.column) == (5, 19)


def test_a_term_that_normalises_to_nothing_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path, RULE.format(id="r", query="'hanged OR \u064b'"))
    assert "empty after normalisation" in error.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        RuleEngine.load([tmp_path / "absent.yaml"], [])


def test_reload_keeps_the_previous_engine_when_an_edit_is_broken(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.yaml", RULE.format(id="hangings", query="hanged"))
    current = RuleEngine.load([path], [])
    document = Document(id="1", text="two men were hanged; a third was executed")
    write(path, RULE.format(id="hangings", query="hanged OR (executed"))
    with pytest.raises(ConfigError):
        current = RuleEngine.load([path], [])
    assert [m.rule_id for m in current.match(document)] == ["hangings"]
    write(
        path,
        RULE.format(id="hangings", query="hanged")
        + RULE.format(id="executions", query="executed")[6:],
    )
    current = RuleEngine.load([path], [])
    assert [m.rule_id for m in current.match(document)] == ["hangings", "executions"]
