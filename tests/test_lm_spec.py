"""LM spec parsing, the factory's cache, and the fake LM (no model is loaded here)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apipilot.agents.lm import spec as spec_mod
from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.contract import cut_at_stop
from apipilot.agents.lm.errors import LMSpecError
from apipilot.agents.lm.spec import (
    ENV_VAR,
    LMSpec,
    clear_lm_cache,
    load_lm,
    parse_lm_spec,
    resolve_lm_spec,
)
from apipilot.retrieval.errors import ConfigError
from tests.fakes_lm import ScriptedLM


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_lm_cache()
    yield
    clear_lm_cache()


def test_parse_embedded() -> None:
    assert parse_lm_spec("embedded") == LMSpec("embedded")
    assert parse_lm_spec("  Embedded ") == LMSpec("embedded")
    assert str(parse_lm_spec("embedded")) == "embedded"


def test_parse_hf_and_gguf_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_lm_spec(f"hf:{tmp_path}") == LMSpec("hf", path=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert parse_lm_spec("hf:model") == LMSpec("hf", path=tmp_path / "model")
    assert parse_lm_spec("GGUF:m/x.GGUF").path == tmp_path / "m" / "x.GGUF"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_lm_spec("gguf:~/a.gguf") == LMSpec("gguf", path=tmp_path / "a.gguf")
    assert str(parse_lm_spec("gguf:~/a.gguf")) == f"gguf:{tmp_path / 'a.gguf'}"


def test_parse_openai() -> None:
    got = parse_lm_spec("openai:http://127.0.0.1:11434/v1#qwen2.5:0.5b")
    assert got == LMSpec("openai", base_url="http://127.0.0.1:11434/v1", model="qwen2.5:0.5b")
    assert str(got) == "openai:http://127.0.0.1:11434/v1#qwen2.5:0.5b"
    assert parse_lm_spec("openai:https://h.example/v1/") == LMSpec(
        "openai", base_url="https://h.example/v1"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "fake:x",
        "llama",
        "hf:",
        "gguf:/models/x.bin",
        "openai:",
        "openai:127.0.0.1:8000/v1",
        "openai:ftp://host/v1",
        "openai:http:///v1",
    ],
)
def test_bad_specs_name_value_and_forms(bad: str) -> None:
    with pytest.raises(LMSpecError) as info:
        parse_lm_spec(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "embedded | embedded-base | hf:" in message and "openai:" in message
    assert isinstance(info.value, ConfigError)


def test_resolve_order() -> None:
    assert resolve_lm_spec(None, env={}) == LMSpec("embedded")
    assert resolve_lm_spec("", env={ENV_VAR: "hf:/m"}) == LMSpec("hf", path=Path("/m"))
    assert resolve_lm_spec("embedded", env={ENV_VAR: "hf:/m"}) == LMSpec("embedded")
    given = LMSpec("gguf", path=Path("/x.gguf"))
    assert resolve_lm_spec(given, env={ENV_VAR: "hf:/m"}) is given
    with pytest.raises(LMSpecError, match=ENV_VAR):
        resolve_lm_spec(None, env={ENV_VAR: "nonsense"})


def test_resolve_reads_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "openai:http://localhost:8000/v1#m")
    assert resolve_lm_spec().kind == "openai"
    monkeypatch.delenv(ENV_VAR)
    assert resolve_lm_spec() == LMSpec("embedded")


def test_load_lm_caches_by_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[LMSpec] = []

    def fake_loader(spec: LMSpec) -> LanguageModel:
        made.append(spec)
        return ScriptedLM(name=str(spec))

    monkeypatch.setitem(spec_mod._LOADERS, "hf", fake_loader)
    monkeypatch.setitem(spec_mod._LOADERS, "embedded", fake_loader)
    monkeypatch.delenv(ENV_VAR, raising=False)
    a = load_lm("hf:/models/one")
    assert load_lm(" hf:/models/one/ ") is a  # same spec once normalised
    assert load_lm(LMSpec("hf", path=Path("/models/one"))) is a
    b = load_lm("hf:/models/two")
    assert b is not a
    assert load_lm() is load_lm("embedded")
    assert [str(s) for s in made] == ["hf:/models/one", "hf:/models/two", "embedded"]
    clear_lm_cache()
    assert load_lm("hf:/models/one") is not a


def test_load_lm_bad_spec_loads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(spec: LMSpec) -> LanguageModel:
        raise AssertionError("must not load")

    monkeypatch.setitem(spec_mod._LOADERS, "embedded", boom)
    with pytest.raises(LMSpecError):
        load_lm("nope:thing")


def test_openai_factory_makes_no_request() -> None:
    # Port 9 (discard) on loopback: nothing listens; constructing must not connect.
    lm = load_lm("openai:http://127.0.0.1:9/v1#m")
    assert isinstance(lm, LanguageModel)
    assert lm.info() == {
        "backend": "openai-compatible",
        "model": "m",
        "base_url": "http://127.0.0.1:9/v1",
        "device": "remote",
    }


def test_missing_hf_dir_is_model_error(tmp_path: Path) -> None:
    from apipilot.retrieval.errors import ModelError

    with pytest.raises(ModelError, match="not found"):
        load_lm(f"hf:{tmp_path / 'absent'}")


def test_import_loads_no_heavy_module() -> None:
    code = (
        "import sys, agents.lm, agents.lm.spec; "
        "print(sorted(m for m in ('torch', 'transformers', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_cut_at_stop() -> None:
    assert cut_at_stop("a\n\nb", ["\n\n"]) == "a"
    assert cut_at_stop("a;b.c", [".", ";"]) == "a"
    assert cut_at_stop("abc", []) == "abc"
    assert cut_at_stop("abc", [""]) == "abc"


def test_scripted_lm_replies_and_records() -> None:
    lm = ScriptedLM(
        by_substring={"Subtasks:": " read\n2. plot\n\nRequirement: x"},
        in_order=["first", "second"],
        default="dflt",
    )
    assert isinstance(lm, LanguageModel)
    assert lm.complete("Requirement: r\nSubtasks:\n1.", stop=["\n\n"]) == " read\n2. plot"
    assert lm.complete("p1") == "first"
    assert lm.complete("p2") == "second"
    assert lm.complete("p3") == "dflt"
    assert lm.prompts == ["Requirement: r\nSubtasks:\n1.", "p1", "p2", "p3"]
    assert lm.calls[0].stop == ("\n\n",)
    with pytest.raises(LookupError, match="no reply"):
        ScriptedLM().complete("anything")


def test_scripted_lm_score_is_deterministic_overlap() -> None:
    lm = ScriptedLM(scores={"pinned": 0.5})
    got = lm.score("read a csv file", ["pandas read csv", "os remove", "pinned"])
    assert got[0] == pytest.approx(2 / 3 - 1)
    assert got[1] == -1.0
    assert got[2] == 0.5
    assert got == lm.score("read a csv file", ["pandas read csv", "os remove", "pinned"])
    assert lm.calls[0].method == "score"
    assert lm.calls[0].continuations == ("pandas read csv", "os remove", "pinned")
    with pytest.raises(ConfigError):
        lm.score("p", [""])
    with pytest.raises(ConfigError):
        lm.complete("p", max_tokens=0)


def test_missing_gguf_is_model_error(tmp_path: Path) -> None:
    from apipilot.retrieval.errors import ModelError

    with pytest.raises(ModelError, match="not found"):
        load_lm(f"gguf:{tmp_path / 'absent.gguf'}")


def test_parse_embedded_base() -> None:
    assert parse_lm_spec("embedded-base") == LMSpec("embedded-base")
    assert parse_lm_spec(" Embedded-Base ") == LMSpec("embedded-base")
    assert str(parse_lm_spec("embedded-base")) == "embedded-base"
    assert LMSpec("embedded-base") != LMSpec("embedded")  # cached apart


def _fake_adapter(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")
    (path / "adapter_model.safetensors").write_bytes(b"")
    return path


def test_embedded_takes_the_decomposer_adapter_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apipilot.agents.lm import paths, transformers_lm

    calls: list[Path | None] = []

    def fake_load_embedded(*, adapter: Path | None = None) -> LanguageModel:
        calls.append(adapter)
        return ScriptedLM(name=f"embedded+{adapter}")

    monkeypatch.setattr(transformers_lm, "load_embedded", fake_load_embedded)
    monkeypatch.setenv("APIPILOT_LM_ENGINE", "transformers")  # the base model's engine, fixed
    adapter = tmp_path / "models" / "decomposer-smollm2"
    monkeypatch.setattr(paths, "default_decomposer_dir", lambda: adapter)
    load_lm("embedded")  # no adapter yet: the base model
    _fake_adapter(adapter)
    clear_lm_cache()
    load_lm("embedded")
    load_lm("embedded-base")  # the base model stays selectable
    load_lm(f"hf:{adapter}")  # an adapter directory is applied to the embedded model
    assert calls == [None, adapter, None, adapter]
