"""Documentation-derived training data: wheels read with the product's readers, query styles,
and no evaluation text in the pairs (the contamination check covers this data too)."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest

from apipilot.indexes.record import ApiRecord
from apipilot.training.dataset import ContaminationError, assert_clean, forbidden_texts
from apipilot.training.doc_data import build_doc_pairs, is_dev_library, library_seed
from apipilot.training.doc_pairs import NameIndex, library_pairs, reference_queries
from apipilot.training.doc_wheels import read_wheel

MODULE = '''"""Tiny HTTP helpers."""


def fetch_page(url: str, timeout: float = 5.0) -> str:
    """Download a web page and return its text.

    Args:
        url: the address of the page to download.
        timeout: seconds to wait for the server.
    """
    return url


def post_json(url: str, payload: dict) -> int:
    """Send a JSON body to a server with an HTTP POST request."""
    return 200


class RetryPolicy:
    """Decide how often a failed request is repeated before giving up."""

    def backoff(self, attempt: int) -> float:
        """Compute the delay before the next attempt grows exponentially."""
        return 2.0**attempt
'''

README = """# tinyhttp

A tiny library for talking to web servers from scripts and notebooks alike.

## Download a page in one line

Fetching a page needs nothing more than its address and an optional timeout in seconds,
which is all most scripts ever want to pass to the helper below.

```python
import tinyhttp
# grab the front page of the site
text = tinyhttp.fetch_page("https://example.org")
```
"""

METADATA = f"""Metadata-Version: 2.1
Name: tinyhttp
Version: 1.2.0
Description-Content-Type: text/markdown

{README}"""


def make_wheel(folder: Path, module: str = MODULE) -> Path:
    wheel = folder / "wheels" / "tinyhttp-1.2.0-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tinyhttp/__init__.py", module)
        archive.writestr("tinyhttp-1.2.0.dist-info/METADATA", METADATA)
    return wheel


def test_a_wheel_is_read_with_the_product_readers_and_cached(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    docs = read_wheel(wheel, tmp_path)
    assert (docs.library, docs.version) == ("tinyhttp", "1.2.0")
    names = {r.name for r in docs.api}
    assert {"fetch_page", "post_json", "RetryPolicy", "RetryPolicy.backoff"} <= names
    assert any("Download a page" in r.name for r in docs.readme)
    assert read_wheel(wheel, tmp_path) == docs  # the second read comes from the cache


def test_pairs_cover_the_user_styles_and_never_name_their_api(tmp_path: Path) -> None:
    docs = read_wheel(make_wheel(tmp_path), tmp_path)
    pairs = library_pairs(
        "tinyhttp", docs.api, docs.readme, seed=0, max_records=50, queries_per_record=20
    )
    assert pairs == library_pairs(
        "tinyhttp", docs.api, docs.readme, seed=0, max_records=50, queries_per_record=20
    )
    kinds = {p.kind for p in pairs}
    assert {"summary", "problem", "comment", "guide-title", "example"} <= kinds
    guide = [p for p in pairs if p.kind == "guide-title"]
    assert guide[0].name == "fetch_page" and guide[0].query == "Download a page in one line"
    example = [p for p in pairs if p.kind == "example"]
    assert example[0].query == "grab the front page of the site"
    for pair in pairs:
        assert "fetch_page" not in pair.query and "post_json" not in pair.query
        assert pair.positive.startswith(pair.name)


def test_problem_and_comment_queries_are_built_on_the_task_phrase() -> None:
    record = ApiRecord(
        id="lib.merge_frames",
        library="lib",
        version="1",
        name="merge_frames",
        kind="function",
        signature="(left, right)",
        summary="Merges two tables on a shared key column.",
    )
    queries = dict(reference_queries(record, random.Random(0), "lib"))
    assert "merge two tables on a shared key column" in queries["problem"]
    assert queries["comment"].startswith(("# ", "// "))


def test_code_names_an_api_only_when_the_name_is_unique() -> None:
    def record(name: str) -> ApiRecord:
        return ApiRecord(id=name, library="l", version="1", name=name, kind="function")

    index = NameIndex([record("A.save"), record("B.save"), record("load_table"), record("get")])
    assert index.called("df = lib.load_table('x')") == record("load_table")
    assert index.called("obj.save()") is None  # two APIs end in "save"
    assert index.called("client.get(url)") is None  # too generic to say which API


def test_dev_libraries_and_seeds_are_stable() -> None:
    names = [f"lib{i}" for i in range(200)]
    dev = [n for n in names if is_dev_library(n)]
    assert 0 < len(dev) < 30
    assert library_seed("requests", 0) == library_seed("requests", 0) != library_seed("click", 0)


def test_built_pairs_hold_no_evaluation_text(tmp_path: Path) -> None:
    forbidden = forbidden_texts()
    leaked = forbidden[0]
    module = MODULE.replace(
        '"""Send a JSON body', f'"""{leaked}\n\n    Send a JSON body'
    )  # an evaluation query pasted into a docstring
    make_wheel(tmp_path, module)
    train, dev = build_doc_pairs(tmp_path, max_records=50, log=lambda _: None)
    pairs = train + dev
    assert pairs and {p.library for p in pairs} == {"tinyhttp"}
    assert_clean(pairs, forbidden)
    with pytest.raises(ContaminationError):
        assert_clean([pairs[0].__class__(**{**pairs[0].__dict__, "query": leaked})], forbidden)


def test_the_shipped_api_model_was_trained_on_clean_pairs() -> None:
    """The pairs ``models/embedder-minilm-api`` was trained on hold no evaluation text."""
    from apipilot.retrieval.finetuned import api_model_dir
    from apipilot.training.dataset import read_pairs

    path = api_model_dir() / "pairs.jsonl"
    if not path.is_file():
        pytest.skip("models/embedder-minilm-api is not in this checkout")
    pairs = read_pairs(path)
    assert len(pairs) > 1000
    assert not {"numpy", "pandas", "torchdata", "monkey", "beatnum"} & {p.library for p in pairs}
    assert_clean(pairs)
