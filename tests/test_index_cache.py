"""Issue 17 #6 / issue 18 #5: the open-index cache is bounded and drops superseded builds."""

from __future__ import annotations

import gc
import weakref

import pytest

import apipilot
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.cache import CAPACITY_ENV, CacheKey, IndexCache, default_capacity
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.retrieval.errors import ConfigError
from tests.conftest import make_record


def rebuild(store: IndexStore, round_: int, version: str = "1.0") -> None:
    records = [make_record(f"api{i}", f"summary {i} of round {round_}") for i in range(6)]
    store.build(
        records, library="demo", version=version, embedder=HashingEmbedder(64),
        embedder_spec="hashing:64",
    )  # fmt: skip


def alive(refs: list[weakref.ref[ApiIndex]]) -> int:
    gc.collect()
    return sum(ref() is not None for ref in refs)


def test_rebuilding_in_another_process_keeps_one_index_alive(tmp_path) -> None:
    """Reproduction: a server that serves an index rebuilt 5 times kept all 5 loaded."""
    server, builder = IndexStore(tmp_path), IndexStore(tmp_path)  # separate caches
    refs: list[weakref.ref[ApiIndex]] = []
    for round_ in range(5):
        rebuild(builder, round_)
        index = server.open("demo")
        assert f"round {round_}" in index.records[0].summary  # the newest build is served
        refs.append(weakref.ref(index))
        del index
    assert alive(refs) == 1 and len(server.cache) == 1


def test_rebuilding_in_this_process_drops_the_superseded_build(tmp_path) -> None:
    store = IndexStore(tmp_path)
    refs: list[weakref.ref[ApiIndex]] = []
    for round_ in range(5):
        rebuild(store, round_)
        refs.append(weakref.ref(store.open("demo")))
        assert store.open("demo") is refs[-1]()  # cached between rebuilds
    assert alive(refs) == 1


def test_public_api_keeps_one_index_per_library_version(tmp_path) -> None:
    """``apipilot.search`` (through the process-wide store) serves each rebuild, holding one."""
    for round_ in range(5):
        rebuild(IndexStore(tmp_path), round_)
        top = apipilot.search("demo", f"summary round {round_}", k=1, home=tmp_path).to_dict()
        assert f"round {round_}" in top["results"][0]["summary"]
    gc.collect()
    loaded = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, ApiIndex) and obj.path is not None and tmp_path in obj.path.parents
    ]
    assert len(loaded) == 1


def test_least_recently_used_index_is_dropped_beyond_capacity(tmp_path) -> None:
    store = IndexStore(tmp_path, cache=IndexCache(capacity=2))
    for version in ("1", "2", "3"):
        rebuild(store, 0, version)
    one = weakref.ref(store.open("demo", "1"))
    two = store.open("demo", "2")
    store.open("demo", "1")  # 1 is now the most recently used
    three = store.open("demo", "3")
    assert len(store.cache) == 2 and one() is not None
    assert store.open("demo", "1") is one() and store.open("demo", "3") is three
    del two
    assert alive([one]) == 1  # 2 was dropped, not 1


def test_cache_loads_once_per_build() -> None:
    cache = IndexCache(capacity=4)
    loads: list[str] = []

    def load(name: str) -> ApiIndex:
        loads.append(name)
        return object()  # type: ignore[return-value]

    key = CacheKey("demo", "1.0", "")
    first = cache.get(key, "build-a", lambda: load("a"))
    assert cache.get(key, "build-a", lambda: load("again")) is first
    assert cache.get(key, "build-b", lambda: load("b")) is not first
    assert loads == ["a", "b"] and len(cache) == 1
    cache.discard("demo", "1.0")
    assert len(cache) == 0


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_capacity_setting_is_checked(monkeypatch, value) -> None:
    monkeypatch.setenv(CAPACITY_ENV, value)
    with pytest.raises(ConfigError, match=rf"{CAPACITY_ENV} must be a whole number >= 1"):
        default_capacity()


def test_capacity_setting_is_read(monkeypatch) -> None:
    monkeypatch.setenv(CAPACITY_ENV, "3")
    assert IndexCache().capacity == 3
    monkeypatch.delenv(CAPACITY_ENV)
    assert IndexCache().capacity == 16
