"""The web app's callbacks, without a browser: plain functions of a store and settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder
from apipilot.retrieval.errors import ConfigError
from apipilot.ui import web_chat
from apipilot.ui.settings import (
    Settings,
    default_settings,
    lm_spec,
    load_settings,
    save_settings,
    settings_path,
    split_lm_spec,
)
from apipilot.ui.web_chat import (
    ChatView,
    Conversation,
    chat_stream,
    library_choices,
    next_requirement,
    version_choices,
)
from apipilot.ui.web_indexes import index_refs, index_rows, index_summary, remove_index, try_build
from apipilot.ui.web_results import NO_RESULTS, load_results
from apipilot.ui.web_settings import current_settings, save_form
from tests.conftest import make_record

NO_LM = Settings(llm="none", k=5, rerank=True, write_code=True, embedder="hashing:64")


@pytest.fixture
def demo_store(store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder) -> IndexStore:
    store.build(
        demo_records, library="demo", version="1.0", embedder=hashing, embedder_spec="hashing:64"
    )
    return store


def run_chat(
    store: IndexStore,
    message: str,
    library: str | None = "demo",
    version: str | None = "1.0",
    conversation: Conversation | None = None,
    settings: Settings = NO_LM,
) -> list[tuple[ChatView, Conversation]]:
    return list(
        chat_stream(store.home, settings, message, library, version, conversation or Conversation())
    )


# settings ------------------------------------------------------------------------------------


def test_settings_default_when_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIPILOT_LLM", raising=False)
    assert load_settings(tmp_path / "config.json") == Settings()
    monkeypatch.setenv("APIPILOT_LLM", "none")
    assert default_settings().llm == "none"


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.json"
    saved = save_settings(
        Settings(llm="openai:http://127.0.0.1:8000/v1/#qwen", k=7, rerank=False), path
    )
    assert saved.llm == "openai:http://127.0.0.1:8000/v1#qwen"
    assert load_settings(path) == saved
    assert json.loads(path.read_text())["k"] == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read settings"),
        ("[1, 2]", "JSON object"),
        ('{"colour": "red"}', "unknown keys colour"),
        ('{"k": 0}', "between 1 and 100"),
        ('{"k": 2.5}', "whole number"),
        ('{"rerank": "yes"}', "true or false"),
        ('{"llm": "gpt:x"}', "bad LM spec"),
        ('{"embedder": "nope"}', "unknown embedder"),
    ],
)
def test_bad_settings_file_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
    settings, warning = current_settings(path)
    assert settings == default_settings() and message in warning


def test_settings_path_follows_an_explicit_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIPILOT_HOME", raising=False)
    assert settings_path(tmp_path) == tmp_path / "config.json"
    from platformdirs import user_cache_dir, user_config_dir

    default = settings_path(Path(user_cache_dir("apipilot")))
    assert default == Path(user_config_dir("apipilot")) / "config.json"


@pytest.mark.parametrize(
    ("kind", "target", "spec"),
    [
        ("embedded", "", "embedded"),
        ("none", "ignored", "none"),
        ("gguf", " /m/x.gguf ", "gguf:/m/x.gguf"),
        ("openai", "http://h:1/v1#m", "openai:http://h:1/v1#m"),
    ],
)
def test_lm_spec_from_the_form(kind: str, target: str, spec: str) -> None:
    assert lm_spec(kind, target) == spec
    assert split_lm_spec(spec)[0] == kind


def test_lm_spec_needs_a_target() -> None:
    with pytest.raises(ConfigError, match="needs a path"):
        lm_spec("hf", " ")
    with pytest.raises(ConfigError, match="unknown LM backend"):
        lm_spec("magic", "")


def test_save_form_writes_only_valid_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    saved, note = save_form(path, "openai", "ftp://nowhere", 5, True, False, "hashing:64")
    assert saved is None and "Not saved" in note and not path.exists()
    saved, note = save_form(path, "none", "", 12.0, False, True, "hashing:64")
    assert saved == Settings(llm="none", k=12, rerank=False, write_code=True, embedder="hashing:64")
    assert "Saved" in note and load_settings(path) == saved


# chat ----------------------------------------------------------------------------------------


def test_chat_streams_each_step_then_the_answer(demo_store: IndexStore) -> None:
    views = run_chat(demo_store, "list the files in a folder, then shuffle them")
    assert len(views) >= 6  # the request, then one view per graph step
    first, _ = views[0]
    assert "working" in first.reply and not first.done
    final, conversation = views[-1]
    assert final.done and not final.error
    for part in ("Subtasks", "Candidates per subtask", "Recommended APIs", "Timings", "total"):
        assert part in final.reply
    assert "demo.list_files" in final.names.splitlines()
    assert "demo.shuffle" in final.names.splitlines()
    assert "demo.shuffle" in final.code
    assert "(fallback)" in final.reply  # no LM: every LM step says it fell back
    assert conversation == Conversation(
        "list the files in a folder, then shuffle them", "demo", "1.0"
    )


def test_follow_up_refines_the_same_request(demo_store: IndexStore) -> None:
    base = Conversation("list the files in a folder", "demo", "1.0")
    final, conversation = run_chat(demo_store, "and shuffle them", conversation=base)[-1]
    assert "Refining" in final.reply
    assert conversation.requirement == "list the files in a folder; and shuffle them"
    assert "demo.shuffle" in final.names


def test_next_requirement() -> None:
    conv = Conversation("read files.", "demo", "1.0")
    assert next_requirement("  then  batch ", conv, "demo", "1.0") == "read files; then batch"
    assert next_requirement("batch", conv, "demo", "2.0") == "batch"  # another version: new
    assert next_requirement("batch", Conversation(), "demo", "1.0") == "batch"


@pytest.mark.parametrize(
    ("message", "library", "expected"),
    [
        ("   ", "demo", "the requirement is empty"),
        ("x" * 2001, "demo", "at most 2000"),
        ("shuffle", "nosuchlib", "no index for library 'nosuchlib'"),
        ("shuffle", None, "choose a library first"),
        ("shuffle", "bad name!", "invalid library name"),
    ],
)
def test_chat_errors_are_messages(
    demo_store: IndexStore, message: str, library: str | None, expected: str
) -> None:
    base = Conversation("earlier", "demo", "1.0")
    views = run_chat(demo_store, message, library=library, conversation=base)
    assert len(views) == 1
    view, conversation = views[0]
    assert view.done and expected in view.error and "Error" in view.reply
    assert conversation == base  # a failed request leaves the conversation as it was


def test_chat_turns_unexpected_failures_into_messages(
    demo_store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("backend exploded")

    monkeypatch.setattr("apipilot.agents.recommend.stream_recommend", broken)
    view, _ = run_chat(demo_store, "shuffle")[-1]
    assert view.error == "internal error (RuntimeError): backend exploded"


def test_chat_flags_unknown_apis() -> None:
    result = {
        "apis": [],
        "code": "x = demo.magic()",
        "unknown_apis": ["demo.magic"],
        "notes": ["code: LM failed"],
        "paths": {"code": "lm"},
        "timings": {"code": 1.5, "total": 2.0},
        "models": {"embedder": "hashing-64", "lm": None},
    }
    text = "\n".join(web_chat.render_answer(result))
    assert "Not in the index" in text and "`demo.magic`" in text
    assert "No APIs found" in text and "code 1.50 s (lm)" in text
    assert "Fell back because" in text and "code: LM failed" in text


def test_lm_label() -> None:
    assert web_chat.lm_label(None) == "no LM"
    assert web_chat.lm_label({"backend": "transformers", "model": "SmolLM2"}) == (
        "SmolLM2 (transformers)"
    )
    assert web_chat.lm_label({"model": "m"}) == "m"


def test_api_item_shows_name_signature_score_summary_and_source() -> None:
    api = {
        "name": "Shuffler",
        "qualified_name": "td.Shuffler",
        "signature": "datapipe, `buffer_size`=10",
        "summary": "Shuffles " + "x" * 300,
        "score": 0.0312,
        "source": "td/iter/combinatorics.py",
    }
    item = web_chat.render_api(2, api)
    assert item.startswith("2. **`td.Shuffler`** `(datapipe, 'buffer_size'=10)` — score 0.031")
    assert "…" in item and "(td/iter/combinatorics.py)" in item
    assert "`(x)`" in web_chat.render_api(1, api | {"signature": "(x)"})
    labelled = web_chat.render_api(1, api | {"library": "td", "version": "0.7.1"})
    assert labelled.startswith("1. **`td.Shuffler`** `(datapipe, 'buffer_size'=10)` `td@0.7.1`")


def test_library_and_version_choices(store: IndexStore, hashing: Embedder) -> None:
    assert library_choices(store.home) == ([], "")
    assert version_choices(store.home, "") == ([], "")
    for version in ("0.7.1", "0.8.0"):
        records = [make_record("shuffle", "Shuffle", "torchdata", version)]
        store.build(
            records,
            library="torchdata",
            version=version,
            embedder=hashing,
            embedder_spec="hashing:64",
        )
    records = [make_record("a", "b", "other", "2")]
    store.build(records, library="other", version="2", embedder=hashing, embedder_spec="hashing:64")
    every = ["other", "torchdata", web_chat.ALL_LIBRARIES]
    assert library_choices(store.home) == (every, "torchdata")
    assert library_choices(store.home, "other") == (every, "other")
    assert version_choices(store.home, web_chat.ALL_LIBRARIES) == ([], "")
    assert version_choices(store.home, "torchdata") == (["0.8.0", "0.7.1"], "0.7.1")
    assert version_choices(store.home, "other") == (["2"], "2")
    assert version_choices(store.home, "bad name!") == ([], "")


# indexes -------------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[ApiRecord]) -> Path:
    path.write_text("\n".join(json.dumps(r.to_dict()) for r in records) + "\n")
    return path


def test_build_from_an_uploaded_file_then_list_and_remove(
    store: IndexStore, tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    assert index_rows(store.home) == [] and "No indexes yet" in index_summary(store.home)
    upload = write_jsonl(tmp_path / "upload.jsonl", demo_records)
    calls: list[tuple[int, int]] = []
    built, note = try_build(
        store.home,
        "",
        str(upload),
        "mylib",
        "2.0",
        "hashing:64",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert built, note
    assert "built `mylib@2.0`: 8 records" in note
    assert calls and calls[-1] == (8, 8)
    [row] = index_rows(store.home)
    assert row[:4] == ["mylib", "2.0", 8, "hashing-64"] and row[-1] == ""
    assert index_refs(store.home) == ["mylib@2.0"] and "1 index in" in index_summary(store.home)
    assert remove_index(store.home, "mylib@2.0") == (True, "🗑 removed `mylib@2.0`")
    assert index_rows(store.home) == []


@pytest.mark.parametrize(
    ("source", "upload", "library", "expected"),
    [
        ("", None, "", "give a source"),
        ("x.jsonl", "y.jsonl", "lib", "not both"),
        ("", "y.jsonl", "", "give a library name"),
        ("/no/such/file.jsonl", None, "lib", "Build failed"),
    ],
)
def test_build_problems_are_messages(
    store: IndexStore, source: str, upload: str | None, library: str, expected: str
) -> None:
    built, note = try_build(store.home, source, upload, library, "", "hashing:64")
    assert not built and expected in note


def test_a_malformed_upload_fails_or_is_skipped(
    store: IndexStore, tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", demo_records)
    path.write_text(path.read_text() + "{broken\n")
    built, note = try_build(store.home, "", str(path), "lib", "1", "hashing:64")
    assert not built and "Build failed" in note and index_rows(store.home) == []
    built, note = try_build(store.home, "", str(path), "lib", "1", "hashing:64", skip_bad=True)
    assert built and "skipped 1" in note


def test_build_from_an_uploaded_markdown_file(store: IndexStore, tmp_path: Path) -> None:
    upload = tmp_path / "guide.md"
    upload.write_text("# mylib\n\n## mylib.load(path)\n\nLoad a file from a path.\n")
    built, note = try_build(store.home, "", str(upload), "mylib", "1.0", "hashing:64")
    assert built, note
    assert index_refs(store.home) == ["mylib@1.0"]


def test_build_from_an_installed_package_name(store: IndexStore) -> None:
    built, note = try_build(store.home, "platformdirs", None, "", "", "hashing:64")
    assert built, note
    assert [ref.partition("@")[0] for ref in index_refs(store.home)] == ["platformdirs"]


def test_build_with_a_bad_embedder_is_a_message(store: IndexStore, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [make_record("a", "b")])
    built, note = try_build(store.home, str(path), None, "lib", "1", "nope")
    assert not built and "unknown embedder 'nope'" in note


def test_remove_problems_are_messages(store: IndexStore) -> None:
    assert remove_index(store.home, None) == (False, "⚠️ Choose an index to remove.")
    removed, note = remove_index(store.home, "ghost@1.0")
    assert not removed and "no index for library 'ghost'" in note


# results -------------------------------------------------------------------------------------


def test_results_missing_then_present(tmp_path: Path) -> None:
    assert load_results(tmp_path / "absent") == load_results(tmp_path)
    assert load_results(tmp_path).markdown == NO_RESULTS
    assert load_results(tmp_path).plot is None
    (tmp_path / "r_at_5.png").write_bytes(b"\x89PNG")
    assert load_results(tmp_path).plot == tmp_path / "r_at_5.png"
    (tmp_path / "latest.md").write_text("| method | R@5 |\n|---|---|\n| CAPIR | 0.5 |\n")
    assert "CAPIR" in load_results(tmp_path).markdown


# the app -------------------------------------------------------------------------------------


def test_build_app_on_an_empty_store(tmp_path: Path) -> None:
    import gradio as gr

    from apipilot.ui.web import build_app

    store = IndexStore(tmp_path / "home")
    (tmp_path / "config.json").write_text("{broken")  # the page opens anyway, with a warning
    app = build_app(store.home, config_file=tmp_path / "config.json", results_dir=tmp_path)
    assert isinstance(app, gr.Blocks)
