"""The GGUF conversion cache, with the conversion itself replaced (no model is loaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apipilot.agents.lm import gguf_cache
from apipilot.agents.lm.gguf_cache import MARKER, cache_key, cached_model_dir
from apipilot.agents.lm.paths import HOME_ENV, model_cache_dir
from apipilot.retrieval.errors import ModelError


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    made: list[Path] = []

    def fake_convert(gguf: Path, out_dir: Path) -> None:
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text("{}")
        made.append(gguf)

    monkeypatch.setattr(gguf_cache, "convert_gguf", fake_convert)
    return made


def test_converts_once_then_reuses(tmp_path: Path, conversions: list[Path]) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    root = tmp_path / "cache"
    first = cached_model_dir(gguf, root)
    assert first == cached_model_dir(gguf, root)
    assert conversions == [gguf]
    assert (first / MARKER).is_file() and (first / "config.json").is_file()
    assert [p.name for p in root.iterdir()] == [first.name]  # no temporary left behind
    assert first.name.startswith("m-")


def test_changed_file_gets_a_new_copy(tmp_path: Path, conversions: list[Path]) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    key = cache_key(gguf)
    gguf.write_bytes(b"GGUF v2")
    os.utime(gguf, ns=(1, 1))
    assert cache_key(gguf) != key
    cached_model_dir(gguf, tmp_path / "c")
    cached_model_dir(gguf, tmp_path / "c")
    assert len(conversions) == 1


def test_directory_without_marker_is_replaced(tmp_path: Path, conversions: list[Path]) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    root = tmp_path / "cache"
    stale = root / cache_key(gguf)
    stale.mkdir(parents=True)
    (stale / "junk").write_text("x")
    got = cached_model_dir(gguf, root)
    assert got == stale and (got / MARKER).is_file() and not (got / "junk").exists()


def test_failed_conversion_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(gguf: Path, out_dir: Path) -> None:
        out_dir.mkdir(parents=True)
        raise ModelError("cannot read it")

    monkeypatch.setattr(gguf_cache, "convert_gguf", broken)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="cannot read it"):
        cached_model_dir(gguf, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_gguf_is_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        cached_model_dir(tmp_path / "absent.gguf", tmp_path)


def test_cache_dir_follows_apipilot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert model_cache_dir() == tmp_path / "models"
    monkeypatch.delenv(HOME_ENV)
    assert model_cache_dir().name == "models"
    assert "apipilot" in str(model_cache_dir())
