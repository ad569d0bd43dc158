"""Issue 17 #2/#3 groundwork: which sources and embedders a build for a client may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apipilot.errors import ApipilotError
from apipilot.indexes.errors import SourceError
from apipilot.indexes.policy import (
    EmbedderNotAllowed,
    SourceNotAllowed,
    SourcePolicy,
    check_embedder_spec,
)
from apipilot.retrieval.errors import ConfigError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "allowed" / "docs").mkdir(parents=True)
    (tmp_path / "allowed" / "docs" / "api.md").write_text("# api\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text("# secret\n")
    (tmp_path / "allowed-but-not").mkdir()  # shares the root's name as a prefix
    return tmp_path


@pytest.fixture
def policy(tree: Path) -> SourcePolicy:
    return SourcePolicy(roots=(tree / "allowed",), url_prefixes=("https://docs.example.org/lib",))


def test_paths_under_a_root_are_allowed(policy, tree) -> None:
    policy.check(str(tree / "allowed"))
    policy.check(str(tree / "allowed" / "docs"))
    policy.check(str(tree / "allowed" / "docs" / "api.md"))
    policy.check(str(tree / "allowed" / "docs" / "missing.jsonl"))  # the reader reports it


@pytest.mark.parametrize(
    "source",
    ["outside/secret.md", "allowed/../outside/secret.md", "allowed-but-not", "/etc", "/"],
)
def test_paths_outside_the_roots_are_refused(policy, tree, source) -> None:
    target = source if source.startswith("/") else str(tree / source)
    with pytest.raises(SourceNotAllowed, match=r"outside the allowed folders.*--allow-root"):
        policy.check(target)


def test_symlinks_cannot_escape_a_root(policy, tree) -> None:
    (tree / "allowed" / "leaked.md").symlink_to(tree / "outside" / "secret.md")
    (tree / "allowed" / "linked-dir").symlink_to(tree / "outside", target_is_directory=True)
    for source in ("leaked.md", "linked-dir", "linked-dir/secret.md"):
        with pytest.raises(SourceNotAllowed, match=f"resolves to {tree / 'outside'}"):
            policy.check(str(tree / "allowed" / source))


def test_a_root_given_through_a_symlink_is_resolved_too(tree) -> None:
    (tree / "alias").symlink_to(tree / "allowed", target_is_directory=True)
    SourcePolicy(roots=(tree / "alias",)).check(str(tree / "allowed" / "docs"))


def test_relative_and_home_paths_are_resolved(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree / "allowed")
    policy = SourcePolicy(roots=(Path("."),))
    policy.check("docs")
    with pytest.raises(SourceNotAllowed):
        policy.check("../outside")
    monkeypatch.setenv("HOME", str(tree / "outside"))
    with pytest.raises(SourceNotAllowed, match="outside the allowed folders"):
        policy.check("~/secret.md")


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.example.org/lib",
        "https://docs.example.org/lib/",
        "https://docs.example.org/lib/2.0/objects.inv",
        "HTTPS://DOCS.EXAMPLE.ORG/lib/api.html",
        "https://docs.example.org:443/lib/",
    ],
)
def test_urls_under_an_allowed_prefix_are_allowed(policy, url) -> None:
    policy.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.example.org.evil/lib/",  # the host continues
        "https://docs.example.org.evil.com/lib",
        "https://docs.example.org@evil.com/lib/",  # user info: the host is evil.com
        "https://evil.com/https://docs.example.org/lib",
        "https://docs.example.org/library",  # the path continues mid-segment
        "https://docs.example.org/lib/../admin",
        "https://docs.example.org/lib/%2e%2e/admin",
        "https://docs.example.org:8443/lib/",
        "http://docs.example.org/lib/",  # another scheme
        "https://docs.example.org\\@evil.com/lib/",
        "https://docs.example.org/lib/\nHost: evil",
        "file:///etc/passwd",
        "ftp://docs.example.org/lib/",
    ],
)
def test_url_prefix_tricks_are_refused(policy, url) -> None:
    with pytest.raises(SourceNotAllowed, match=r"is not allowed.*URL prefixes: https://docs"):
        policy.check(url)


def test_packages_need_permission(policy) -> None:
    for source in ("pkg:typer", "typer"):  # a bare name is read as an installed package
        with pytest.raises(SourceNotAllowed, match=r"installed packages.*pkg:\): no"):
            policy.check(source)
    allowed = policy.allowing(["pkg:"])
    allowed.check("pkg:typer")
    allowed.check("typer")


def test_shipped_corpora_are_always_allowed() -> None:
    SourcePolicy().check("corpus:torchdata@0.7.1")


def test_allowing_adds_roots_prefixes_and_packages(tree) -> None:
    policy = SourcePolicy().allowing([str(tree / "outside"), "https://docs.python.org/3/", "pkg:"])
    assert policy.roots == (tree / "outside",)
    assert policy.url_prefixes == ("https://docs.python.org/3/",)
    assert policy.allow_packages and not policy.allow_replace
    policy.check(str(tree / "outside" / "secret.md"))
    policy.check("https://docs.python.org/3/library/os.html")
    with pytest.raises(SourceNotAllowed):
        policy.check("https://docs.python.org/2/")


def test_default_allows_the_current_directory_and_documents(tree, monkeypatch) -> None:
    monkeypatch.chdir(tree / "allowed")
    policy = SourcePolicy.default()
    assert policy.roots[0] == tree / "allowed" and len(policy.roots) == 2
    assert policy.url_prefixes == () and not policy.allow_packages and not policy.allow_replace
    policy.check("docs")
    with pytest.raises(SourceNotAllowed):
        policy.check("https://docs.example.org/lib")


def test_replacing_needs_permission() -> None:
    with pytest.raises(SourceNotAllowed, match=r"torchdata@0\.7\.1 already exists"):
        SourcePolicy().check_replace("torchdata@0.7.1")
    SourcePolicy(allow_replace=True).check_replace("torchdata@0.7.1")


def test_errors_belong_to_the_tree_and_long_sources_are_cut(policy) -> None:
    assert issubclass(SourceNotAllowed, SourceError) and issubclass(SourceNotAllowed, ApipilotError)
    with pytest.raises(SourceNotAllowed) as caught:
        policy.check("/" + "x" * 200_000)
    assert len(str(caught.value)) < 1000


def test_a_bad_url_prefix_fails_at_setup() -> None:
    with pytest.raises(ConfigError, match=r"allowed URL prefix 'docs\.example\.org' is not usable"):
        SourcePolicy(url_prefixes=("docs.example.org",))


@pytest.mark.parametrize(
    "spec", ["minilm", "minilm-ft", "minilm-api", "e5-small", "hashing", "hashing:64", " minilm "]
)
def test_named_embedders_are_allowed(spec) -> None:
    assert check_embedder_spec(spec) == spec.strip()


@pytest.mark.parametrize(
    "spec", ["/tmp", "./models/x", "~/weights", "hashing:0", "hashing:abc", "minilm/../x", ""]
)
def test_embedder_directories_are_refused(spec, tmp_path) -> None:
    with pytest.raises(
        EmbedderNotAllowed, match="use one of minilm, minilm-ft, minilm-api, e5-small, hashing"
    ):
        check_embedder_spec(spec)
    with pytest.raises(EmbedderNotAllowed):
        check_embedder_spec(str(tmp_path))
    assert issubclass(EmbedderNotAllowed, ConfigError)
    assert os.path.isdir(tmp_path)
