"""`apipilot index build-many` in local processes: the list of sources, builds, errors.

The Ray path has its own tests (tests/test_build_ray.py, on a local Ray instance).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import apipilot
from apipilot.indexes.build_many import BuildRequest, parse_build_list, read_build_list
from apipilot.indexes.errors import SourceError
from apipilot.ui.cli import app

EMBEDDER = "hashing:64"


def write_jsonl(path: Path, names: list[str]) -> Path:
    lines = [
        json.dumps({"id": f"tiny.{n}", "name": n, "summary": f"{n.replace('_', ' ')} the rows"})
        for n in names
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_list_names_sources_with_optional_library_and_version(tmp_path: Path) -> None:
    text = (
        "# libraries of the team\n"
        "pkg:rich\n"
        "\n"
        "corpus:torchdata@0.7.1   # shipped\n"
        "docs/tiny.jsonl tiny@1.2\n"
        "/abs/api.jsonl other\n"
        "https://docs.example.org/#intro\n"
    )
    assert parse_build_list(text, tmp_path) == [
        BuildRequest("pkg:rich"),
        BuildRequest("corpus:torchdata@0.7.1"),
        BuildRequest(str(tmp_path / "docs/tiny.jsonl"), "tiny", "1.2"),
        BuildRequest("/abs/api.jsonl", "other", None),
        BuildRequest("https://docs.example.org/#intro"),
    ]
    listed = tmp_path / "list.txt"
    listed.write_text("a.jsonl mylib@1\n", encoding="utf-8")
    assert read_build_list(str(listed)) == [BuildRequest(str(tmp_path / "a.jsonl"), "mylib", "1")]
    assert read_build_list("pkg:rich, pkg:typer") == [
        BuildRequest("pkg:rich"),
        BuildRequest("pkg:typer"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.jsonl lib@1 extra\n", "line 1: 'a.jsonl lib@1 extra' has 3 fields"),
        ("pkg:rich\na.jsonl bad/name\n", "line 2: invalid library name 'bad/name'"),
    ],
)
def test_a_malformed_line_names_its_number(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_build_list(text)


def test_an_empty_list_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no sources in"):
        read_build_list(str(empty))


def test_build_many_in_two_processes_builds_each_and_reports_failures(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tiny = write_jsonl(tmp_path / "tiny.jsonl", ["read_csv", "shuffle", "batch"])
    listed = tmp_path / "list.txt"
    listed.write_text(
        "corpus:beatnum@pool\ntiny.jsonl tiny@1.0\nmissing.jsonl gone@1\n", encoding="utf-8"
    )
    seen: list[tuple[str, int, int]] = []
    results = apipilot.build_many(
        str(listed),
        embedder=EMBEDDER,
        workers=2,
        home=home,
        phases=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert [(r.name, r.library, r.version, r.status) for r in results] == [
        ("corpus:beatnum@pool", "beatnum", "pool", "built"),
        (f"{tiny} (tiny@1.0)", "tiny", "1.0", "built"),
        (f"{tmp_path / 'missing.jsonl'} (gone@1)", "gone", "1", "failed"),
    ]
    assert "no such file" in results[2].detail
    assert results[1].records == 3 and "3 records (added 3" in results[1].detail
    assert seen[0] == ("build", 0, 3) and seen[-1] == ("build", 3, 3)
    hits = apipilot.search("tiny", "shuffle the rows", k=1, home=home, mode="bm25")
    assert (hits.version, hits.results[0].name) == ("1.0", "shuffle")


def test_cli_build_many_prints_each_source_and_fails_when_one_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tiny = write_jsonl(tmp_path / "tiny.jsonl", ["merge", "sort_values"])
    sources = f"corpus:monkey@pool,{tiny} tiny@2"
    args = ["index", "build-many", sources, "--embedder", EMBEDDER, "--home", str(home)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)
    assert [(b["library"], b["version"], b["status"]) for b in built] == [
        ("monkey", "pool", "built"),
        ("tiny", "2", "built"),
    ]
    failing = CliRunner().invoke(app, [*args[:2], "nowhere.jsonl lib@1", *args[3:]])
    assert failing.exit_code == 1
    assert "failed" in failing.stdout and "0 built, 1 failed" in failing.stdout


def test_without_ray_installed_the_error_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(apipilot.ConfigError, match=r"pip install 'apipilot\[ray\]'"):
        apipilot.build_many("corpus:monkey@pool", embedder=EMBEDDER, ray=True, home=tmp_path)
    result = CliRunner().invoke(
        app, ["index", "project", str(tmp_path), "--ray", "--home", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "pip install 'apipilot[ray]'" in result.output


def test_a_ray_failure_is_reported_by_the_user_codes_error() -> None:
    from apipilot.indexes.build_ray import root_cause

    remote = RuntimeError(
        "\x1b[36mray::MapWorker(MapBatches(EmbedBatches)).submit()\x1b[39m (pid=1)\n"
        '  File "x.py", line 3, in __init__\n'
        "    raise ValueError(\n"
        "ValueError: Unrecognized model in /tmp/m. Should have a `model_type` key.\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block."
    )
    wrapper = RuntimeError("UDF failed to process a data block.")
    wrapper.__cause__ = remote
    assert root_cause(wrapper) == (
        "ValueError: Unrecognized model in /tmp/m. Should have a `model_type` key."
    )
    assert root_cause(OSError("plain failure")) == "plain failure"
