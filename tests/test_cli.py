from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apipilot.ui.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, demo_records) -> Path:
    docs = tmp_path / "demo.jsonl"
    docs.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    home = tmp_path / "home"
    result = runner.invoke(
        app,
        [
            "index",
            "build",
            str(docs),
            "--library",
            "demo",
            "--version",
            "1.0",
            "--embedder",
            "hashing:64",
            "--home",
            str(home),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "built demo@1.0: 8 records" in result.output
    return home


def test_build_search_list_remove(home: Path) -> None:
    result = runner.invoke(
        app, ["search", "demo", "parse csv rows", "--json", "-k", "3", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["name"] == "parse_csv"
    assert set(hits[0]) == {"id", "name", "qualified_name", "signature", "summary", "score"}
    listed = json.loads(runner.invoke(app, ["index", "list", "--json", "--home", str(home)]).output)
    assert [(e["library"], e["version"], e["record_count"]) for e in listed] == [("demo", "1.0", 8)]
    removed = runner.invoke(app, ["index", "remove", "demo@1.0", "--yes", "--home", str(home)])
    assert removed.exit_code == 0 and "removed demo@1.0" in removed.output


def one_line_error(args: list[str], match: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("error:") and match in " ".join(lines), result.output


def test_error_paths(home: Path, tmp_path: Path) -> None:
    h = ["--home", str(home)]
    one_line_error(["search", "nolib", "x", *h], "known libraries: demo")
    one_line_error(["search", "demo", "  ", *h], "query is empty")
    one_line_error(["search", "demo", "x", "--version", "9", *h], "built versions: 1.0")
    one_line_error(["search", "demo", "x", "--mode", "magic", *h], "'magic'")
    one_line_error(["index", "build", str(tmp_path / "nope.jsonl"), "-l", "x", *h], "no such file")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text_id": 1, "text": "f(x): y"}\nnot json\n')
    one_line_error(
        ["index", "build", str(bad), "-l", "x", "--embedder", "hashing", *h], "bad.jsonl:2"
    )
    one_line_error(
        ["index", "build", str(bad), "-l", "x", "--embedder", "nonsense", *h], "unknown embedder"
    )
    one_line_error(["index", "remove", "nolib", "--yes", *h], "no index")
    ask = ["ask", "parse csv rows", "-l", "demo", "--llm", "none", *h]
    one_line_error([*ask, "--reranker", "magic"], "unknown reranker 'magic'")


def test_skip_bad_builds_the_good_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text_id": 1, "text": "f(x): y"}\nnot json\n')
    result = runner.invoke(
        app,
        [
            "index",
            "build",
            str(bad),
            "-l",
            "x",
            "--skip-bad",
            "--embedder",
            "hashing",
            "--home",
            str(tmp_path / "h"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1" in result.output and "bad.jsonl:2" in result.output


def test_help_mentions_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("index", "search", "app"):
        assert command in result.output


def test_refresh_reembeds_only_the_changed_record(tmp_path: Path, demo_records) -> None:
    docs = tmp_path / "demo.jsonl"
    docs.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    h = ["--home", str(tmp_path / "home")]
    build = ["index", "build", str(docs), "-l", "demo", "-v", "2.0", "--embedder", "hashing:64"]
    assert runner.invoke(app, [*build, *h]).exit_code == 0
    changed = [r.to_dict() for r in demo_records]
    changed[3]["summary"] = "List every file below a folder, recursively"
    del changed[5]
    docs.write_text("".join(json.dumps(r) + "\n" for r in changed))
    result = runner.invoke(app, ["index", "refresh", "demo@2.0", *h])
    assert result.exit_code == 0, result.output
    assert "added 0, changed 1, unchanged 6, removed 1" in result.output
    hits = json.loads(runner.invoke(app, ["search", "demo", "recursively", "--json", *h]).output)
    assert hits[0]["name"] == "list_files"


def test_index_verify_and_gc(home: Path) -> None:
    verified = runner.invoke(app, ["index", "verify", "demo@1.0", "--home", str(home)])
    assert verified.exit_code == 0, verified.output
    assert "every file matches" in verified.output
    assert "0 leftovers removed" in runner.invoke(app, ["index", "gc", "--home", str(home)]).output

    (records,) = home.rglob("records.jsonl")
    data = bytearray(records.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")  # same size: only verify sees it
    records.write_bytes(bytes(data))
    damaged = runner.invoke(app, ["index", "verify", "demo", "--home", str(home)])
    assert damaged.exit_code != 0
    assert "records.jsonl" in damaged.output
