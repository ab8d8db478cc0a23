"""``tocsin corpus export`` (a team's judged alerts as a labelled corpus) and ``tocsin corpus split``, on real
SQLite files and real files, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.rules.corpus import corpus_part
from tests.alerts.test_alerts_harness import World, make_world

runner = CliRunner()


def tocsin(*args: str) -> Result:
    return runner.invoke(app, list(args))


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_labels_acknowledged_alerts_and_keeps_dismissed_ones_as_negatives(tmp_path: Path) -> None:
    world: World = make_world(tmp_path)
    confirmed = world.report("hrana", persons=("Saeed Masouri",), title="Masouri moved to Ghezel Hesar",
                             text="Saeed Masouri was moved to Ghezel Hesar prison on Tuesday.")
    world.report("iranhrm", persons=("Saeed Masouri",), text="Masouri was moved, his family said.")
    football = world.report("varzesh", event="transfer", persons=("Mehdi Taremi",), lang="fa",
                            text="انتقال مهدی طارمی به اینتر قطعی شد.")
    unjudged = world.report("hrana", event="death_sentence", persons=("Ali Younesi",), severity="critical",
                            text="Ali Younesi was sentenced to death.")
    config = str(world.directory)
    assert tocsin("alerts", "ack", str(confirmed.alert_id), "--config", config).exit_code == 0
    assert tocsin("alerts", "dismiss", str(football.alert_id), "--reason", "a football transfer",
                  "--config", config).exit_code == 0

    out = tmp_path / "mine.jsonl"
    result = tocsin("corpus", "export", "-o", str(out), "--config", config)
    assert result.exit_code == 0, result.output
    assert "wrote 4 passages" in result.stdout and "2 transfer" in result.stdout
    exported = {row["text"]: row for row in rows(out)}
    assert exported["Saeed Masouri was moved to Ghezel Hesar prison on Tuesday."]["labels"] == ["transfer"]
    assert exported["Masouri was moved, his family said."]["labels"] == ["transfer"]  # both reports of the alert
    negative = exported["انتقال مهدی طارمی به اینتر قطعی شد."]
    assert negative["labels"] == [] and negative["optional_labels"] == [] and negative["lang"] == "fa"
    assert "dismissed" in str(negative["note"])
    pending = exported["Ali Younesi was sentenced to death."]
    assert pending["labels"] == [] and pending["optional_labels"] == ["death_sentence"]
    assert unjudged.created

    # The export is a corpus `rules eval` reads (it scores the events the file labels).
    evaluated = tocsin("rules", "eval", str(out), "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["passages"] == 4


def test_export_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    out = tmp_path / "mine.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    refused = tocsin("corpus", "export", "-o", str(out), "--config", str(world.directory))
    assert refused.exit_code == 2 and "--force" in refused.output
    assert out.read_text(encoding="utf-8") == "keep me\n"
    forced = tocsin("corpus", "export", "-o", str(out), "--force", "--config", str(world.directory))
    assert forced.exit_code == 0 and out.read_text(encoding="utf-8") == ""


def test_split_sends_each_passage_to_the_part_its_url_hashes_to(tmp_path: Path) -> None:
    new = tmp_path / "new.jsonl"
    urls = [f"https://example.org/report/{n}" for n in range(20)]
    new.write_text("".join(json.dumps({"id": f"n{n}", "text": f"passage {n}", "lang": "en", "url": url,
                                       "labels": []}) + "\n" for n, url in enumerate(urls)), encoding="utf-8")
    into = tmp_path / "corpus"
    result = tocsin("corpus", "split", str(new), "--into", str(into))
    assert result.exit_code == 0, result.output
    parts = {part: [row["url"] for row in rows(into / f"{part}.jsonl")] for part in ("tuning", "check")}
    assert sorted(parts["tuning"] + parts["check"]) == sorted(urls)
    assert all(corpus_part(url) == part for part, found in parts.items() for url in found)
    assert parts["tuning"] and parts["check"]

    again = tocsin("corpus", "split", str(new), "--into", str(into))  # the same ids twice: refused, nothing added
    assert again.exit_code == 2 and "already in" in again.output
    assert sum(len(rows(into / f"{part}.jsonl")) for part in ("tuning", "check")) == 20
