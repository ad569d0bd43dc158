"""Which documentation sources a build may read: allowed folders, URL prefixes and packages.

A server that builds indexes for a client (the MCP ``build_index`` tool, the app's Source box)
checks every source against a :class:`SourcePolicy` first. Paths are resolved (``~``, ``..``
and every symlink) before the check, so a link cannot lead out of an allowed root; URLs are
compared by scheme, host, port and whole path segments, so ``https://docs.example.evil`` does
not pass for ``https://docs.example``. Shipped corpora (``corpus:``) are always allowed.
``sdist:NAME`` (a source archive from the package registry, whose metadata pip prepares by
running the project's build backend) needs ``allow_registry``; ``sdist:PATH`` (an archive on
disk) is checked as the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn
from urllib.parse import SplitResult, unquote, urlsplit

from apipilot.errors import EmbedderNotAllowed as EmbedderNotAllowed
from apipilot.errors import SourceNotAllowed as SourceNotAllowed
from apipilot.retrieval.embedder import NAMED_SPECS
from apipilot.retrieval.errors import ConfigError

ALLOW_FLAG = "--allow-root PATH|URL|pkg:|sdist:"
SDIST_PREFIX = "sdist:"
MAX_SOURCE_CHARS = 4096
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HASHING = re.compile(r"^hashing(?::[1-9][0-9]{0,4})?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class SourcePolicy:
    """Allowed roots (folders), URL prefixes, whether installed packages and registry source
    archives may be read, and whether an existing index may be replaced."""

    roots: tuple[Path, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    allow_packages: bool = False
    allow_replace: bool = False
    allow_registry: bool = False

    def __post_init__(self) -> None:
        for prefix in self.url_prefixes:
            if problem := _url_problem(prefix):
                raise ConfigError(f"allowed URL prefix {prefix!r} is not usable: {problem}")

    @classmethod
    def default(cls) -> SourcePolicy:
        """The current directory and the user's documents folder; no URLs, no packages."""
        from platformdirs import user_documents_dir

        return cls(roots=(Path.cwd(), Path(user_documents_dir())))

    def allowing(self, items: Iterable[str]) -> SourcePolicy:
        """This policy plus each ``--allow-root`` item: a folder, an http(s) URL prefix,
        ``pkg:`` (installed packages) or ``sdist:`` (source archives from the registry)."""
        roots, prefixes, packages = list(self.roots), list(self.url_prefixes), self.allow_packages
        registry = self.allow_registry
        for item in items:
            if item == "pkg:":
                packages = True
            elif item == SDIST_PREFIX:
                registry = True
            elif _SCHEME.match(item):
                prefixes.append(item)
            else:
                roots.append(Path(item).expanduser())
        return replace(
            self,
            roots=tuple(roots),
            url_prefixes=tuple(prefixes),
            allow_packages=packages,
            allow_registry=registry,
        )

    def check(self, source: str) -> None:
        """Raise :class:`SourceNotAllowed` unless ``source`` may be read."""
        if source.startswith("corpus:"):
            return
        if len(source) > MAX_SOURCE_CHARS:
            self._refuse(source, f"it is longer than {MAX_SOURCE_CHARS} characters")
        if source.startswith("pkg:"):
            self._check_package(source)
        elif source.startswith(SDIST_PREFIX):
            self._check_sdist(source)
        elif _SCHEME.match(source):
            self._check_url(source)
        elif source.isidentifier() and not os.path.exists(os.path.expanduser(source)):
            self._check_package(source)  # a bare name is read as an installed package
        else:
            self._check_path(source)

    def check_replace(self, ref: str) -> None:
        """Raise :class:`SourceNotAllowed` if the existing index ``ref`` may not be replaced."""
        if not self.allow_replace:
            raise SourceNotAllowed(
                f"{ref} already exists and this server may not replace it; remove it first "
                "(`apipilot index remove`) or allow replacing indexes"
            )

    def _check_package(self, source: str) -> None:
        if not self.allow_packages:
            self._refuse(source, "installed packages may not be read")
        # pkg:NAME@FOLDER reads packages from FOLDER: it must lie under an allowed root too
        # imported here: the reader modules are not needed to open or search an index
        from apipilot.indexes.readers.python_source import ENVIRONMENT_MARK

        if source.startswith("pkg:") and ENVIRONMENT_MARK in source:
            self._check_path(source.partition(ENVIRONMENT_MARK)[2])

    def _check_sdist(self, source: str) -> None:
        spec = source.removeprefix(SDIST_PREFIX).strip()
        if "/" in spec or os.sep in spec or spec.startswith("~") or _is_archive_name(spec):
            self._check_path(os.path.expanduser(spec))  # an archive on disk
        elif not self.allow_registry:
            self._refuse(source, "registry source archives (sdist:NAME) may not be fetched")

    def _check_url(self, source: str) -> None:
        if problem := _url_problem(source):
            self._refuse(source, problem)
        url = urlsplit(source)
        if not any(_under_prefix(url, urlsplit(p)) for p in self.url_prefixes):
            self._refuse(source, "the URL is not under an allowed prefix")

    def _check_path(self, source: str) -> None:
        resolved = Path(os.path.realpath(Path(source).expanduser()))
        for root in self.roots:
            if resolved.is_relative_to(os.path.realpath(root.expanduser())):
                return
        self._refuse(source, f"it resolves to {resolved}, outside the allowed folders")

    def _refuse(self, source: str, why: str) -> NoReturn:
        shown = source if len(source) <= 200 else source[:200] + "…"
        raise SourceNotAllowed(f"source {shown!r} is not allowed: {why}; {self.describe()}")

    def describe(self) -> str:
        """What is allowed, and how to allow more."""
        roots = ", ".join(str(r) for r in self.roots) or "none"
        urls = ", ".join(self.url_prefixes) or "none"
        packages = "yes" if self.allow_packages else "no"
        registry = "yes" if self.allow_registry else "no"
        return (
            f"allowed folders: {roots}; URL prefixes: {urls}; installed packages (pkg:): "
            f"{packages}; registry source archives (sdist:NAME): {registry}; shipped corpora "
            f"(corpus:) always. Allow more with {ALLOW_FLAG}"
        )


def check_embedder_spec(spec: str) -> str:
    """``spec`` if it names a shipped embedder; a directory of weights is refused (a client
    must not make the server load arbitrary files)."""
    spec = spec.strip()
    if spec in NAMED_SPECS or _HASHING.match(spec):
        return spec
    shown = spec if len(spec) <= 200 else spec[:200] + "…"
    raise EmbedderNotAllowed(
        f"embedder {shown!r} is not allowed here; use one of "
        f"{', '.join((*NAMED_SPECS, 'hashing', 'hashing:DIM'))}"
    )


def _is_archive_name(spec: str) -> bool:
    return spec.lower().endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"))


def _url_problem(text: str) -> str:
    """Why ``text`` is not a plain http(s) URL with a host and no dot segments; "" if it is."""
    url = urlsplit(text)
    if url.scheme.lower() not in _DEFAULT_PORTS:
        return "only http and https URLs can be read"
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in text):
        return "it contains whitespace, control characters or backslashes"
    if not url.hostname or url.username is not None or url.password is not None:
        return "it needs a host and no user name or password"
    if any(part in (".", "..") for part in unquote(url.path).split("/")):
        return "it contains . or .. path segments"
    try:
        url.port  # noqa: B018  (a bad port raises ValueError)
    except ValueError:
        return "its port is not a number from 0 to 65535"
    return ""


def _under_prefix(url: SplitResult, prefix: SplitResult) -> bool:
    """Same scheme, host and port, and the path continues the prefix at a segment boundary."""
    scheme = url.scheme.lower()
    if scheme != prefix.scheme.lower() or url.hostname != prefix.hostname:
        return False
    if (url.port or _DEFAULT_PORTS[scheme]) != (prefix.port or _DEFAULT_PORTS[scheme]):
        return False
    base = prefix.path if prefix.path.endswith("/") else prefix.path + "/"
    path = url.path or "/"
    return path == prefix.path or path.startswith(base) or base == "/"
