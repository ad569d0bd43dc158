"""Read the public API of a Python package into records, statically, with griffe.

What counts as public:

* a module's members listed in its ``__all__``; without ``__all__``, members whose name has
  no leading underscore and that are defined in the module, or — in a package's
  ``__init__`` — imported from inside the same package (a re-export such as
  ``bm25s.tokenize``, defined in ``bm25s.tokenization``);
* every submodule without a leading underscore (``tests``/``conftest`` left out);
* a public class's own (not inherited) members without a leading underscore;
* a class without a docstring takes its ``__init__`` docstring;
* attributes only when they have a docstring or are listed in ``__all__`` (bare constants
  and instance attributes are noise for recommending APIs).

One object reachable under several public paths gives one record: ``qualified_name`` is
the shortest public path (the one a user types), ``aliases`` hold the other public paths,
the defining path when it differs, and for a class decorated with
``@functional_datapipe("name")`` the functional name. ``id`` is the qualified name.
``name`` is the path inside its module (``BM25``, ``BM25.retrieve``); for a module, its
dotted path. ``source`` is ``file:line`` of the definition.

A name in ``__all__`` imported from another installed package (torchdata re-exporting
torch's DataPipes) has that package loaded too, statically, to resolve it.

Names left out by these rules are not reported one by one (an import of ``os`` is not a
skipped API); ``skipped`` gets one line with their count, plus one line per item that was
meant to be read and could not be: an alias whose target cannot be found, a module griffe
could not parse, a docstring no parser could read (the record is kept with the raw text).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import griffe

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.folder_walk import OUTSIDE_REASON, leaves, resolved
from apipilot.indexes.readers.python_docstrings import (
    ParsedDocstring,
    parse_docstring,
    raw_docstring,
)
from apipilot.indexes.readers.python_source import PackageRoot, find_roots, project_info
from apipilot.indexes.record import ApiRecord, ReadReport, unique_ids

SKIPPED_MODULES = frozenset({"tests", "test", "conftest"})
MAX_EXTERNAL_LOADS = 3  # packages loaded to resolve one alias chain
_FUNCTIONAL = re.compile(r"(?:^|\.)functional_datapipe\(\s*(?:name\s*=\s*)?['\"]([^'\"]+)['\"]")

AnyObject = griffe.Object | griffe.Alias


def read_python_package(
    target: str | Path,
    library: str | None = None,
    version: str | None = None,
    *,
    inspect: bool = False,
    search_paths: Sequence[Path] | None = None,
) -> tuple[ReadReport, str, str]:
    """Read the package ``target`` names (see :func:`find_roots`) into records.

    ``search_paths`` (e.g. another environment's site-packages) replaces ``sys.path`` for
    finding the package, the packages it re-exports from, and its metadata.

    Returns ``(report, library, version)``; library and version come from the package
    metadata (or pyproject.toml, or ``__version__``) unless given. The library's code is
    never imported unless ``inspect`` is true, in which case griffe imports the modules
    that have no Python source (compiled extensions) to inspect them. Forcing inspection
    of every module is not offered: importing all of a library's modules runs their side
    effects (a submodule of torch parses ``sys.argv`` and exits). Raises
    :class:`SourceError` when the package cannot be found or loaded at all.
    """
    report = ReadReport()
    roots = find_roots(target, library, report.skipped)
    collection = griffe.ModulesCollection()
    loaded = {root.name.partition(".")[0] for root in roots}

    def load_external(package: str) -> bool:
        """Load another installed package that a public name is re-exported from."""
        if package in loaded or not package.isidentifier():
            return False
        loaded.add(package)
        try:
            root = PackageRoot(package, roots[0].search_path, None)
            _load(root, collection, inspect, search_paths)
        except SourceError:
            return False
        return True

    walker = _Walker(report, load_external)
    with _captured_griffe_logs() as logs:
        modules = [_load(root, collection, inspect, search_paths) for root in roots]
        for root, module in zip(roots, modules, strict=True):
            walker.collect_module(module, module.path)
            _report_unloaded(root, module, logs, report)
    info = project_info(roots[0], search_paths)
    library = library or info.name or roots[0].name
    version = version or info.version or _dunder_version(modules[0]) or "unknown"
    with _captured_griffe_logs():
        records = walker.emit(library, version)
    if walker.hidden:
        report.skip(str(target), f"{walker.hidden} private or non-exported names left out")
    report.records = unique_ids(records)
    return report, library, version


def _load(
    root: PackageRoot,
    collection: griffe.ModulesCollection,
    inspect: bool,
    environment: Sequence[Path] | None = None,
) -> griffe.Module:
    # The target's folder first, then the environment (default sys.path) for the packages
    # it re-exports from.
    rest: list[str | Path] = list(environment) if environment is not None else list(sys.path)
    search_paths: list[str | Path] | None = (
        [root.search_path, *rest] if root.search_path else rest if environment is not None else None
    )
    loader = griffe.GriffeLoader(
        search_paths=search_paths, modules_collection=collection, allow_inspection=inspect
    )
    finder = _NoTestsFinder(search_paths=search_paths)
    finder.inside = resolved(root.path) if root.path is not None else None
    loader.finder = finder
    try:
        loaded = loader.load(root.name, try_relative_path=False)
    except ImportError as exc:
        raise SourceError(f"{root.name}: no installed package or module of that name") from exc
    except SystemExit as exc:  # only with inspection: an imported module called sys.exit
        raise SourceError(f"{root.name}: a module exited while inspected ({exc.code})") from exc
    except Exception as exc:  # griffe raises many types on a package it cannot load
        reason = f"{type(exc).__name__}: {exc}"
        raise SourceError(f"{root.name}: could not be loaded ({reason})") from exc
    if not isinstance(loaded, griffe.Module):
        raise SourceError(f"{root.name}: not a module")
    return loaded


class _NoTestsFinder(griffe.ModuleFinder):
    """Leaves test packages unparsed: they are no API, and most of a big library's modules.

    With ``inside`` set (a folder source), modules reached through a symlink that leads out
    of it are left unparsed too (griffe follows symlinks); ``_report_unloaded`` lists them.
    """

    inside: Path | None = None

    def submodules(self, module: griffe.Module) -> list[tuple[tuple[str, ...], Path]]:
        return [
            (parts, path)
            for parts, path in super().submodules(module)
            if not SKIPPED_MODULES.intersection(parts)
            and (self.inside is None or not leaves(path, self.inside))
        ]


@dataclass(frozen=True)
class _Context:
    module_path: str
    library: str
    version: str


@dataclass
class _Entry:
    obj: griffe.Object
    paths: list[str] = field(default_factory=list)
    explicit: bool = False


class _Walker:
    def __init__(self, report: ReadReport, load_external: Callable[[str], bool]) -> None:
        self.report = report
        self.load_external = load_external
        self.entries: dict[str, _Entry] = {}
        self.hidden = 0
        self.open_classes: set[str] = set()

    def collect_module(self, module: griffe.Module, public_path: str) -> None:
        self._add(module, public_path, explicit=True)
        exports = _exports(module)
        for name in sorted((exports or set()) - set(module.members)):
            self.report.skip(f"{public_path}.{name}", "listed in __all__ but not defined")
        for name, member in module.members.items():
            path = f"{public_path}.{name}"
            if not member.is_alias and isinstance(member, griffe.Module):
                if name.startswith("_") or name in SKIPPED_MODULES:
                    self.hidden += 1
                else:
                    self.collect_module(member, path)
                continue
            if not _exported(name, member, module, exports):
                self.hidden += 1
                continue
            target = self._resolve(member, path)
            if target is None or isinstance(target, griffe.Module):
                continue
            self._add(target, path, explicit=exports is not None)

    def _add(self, obj: griffe.Object, path: str, *, explicit: bool) -> None:
        entry = self.entries.setdefault(obj.path, _Entry(obj))
        entry.paths.append(path)
        entry.explicit = entry.explicit or explicit

    def _resolve(self, member: AnyObject, path: str) -> griffe.Object | None:
        if not isinstance(member, griffe.Alias):
            return member
        for _ in range(MAX_EXTERNAL_LOADS + 1):
            try:
                return member.final_target
            except griffe.CyclicAliasError as exc:
                reason = str(exc)
                break
            except griffe.AliasResolutionError as exc:
                reason = str(exc)
                # Public names re-exported from another package (torchdata from torch) need
                # that package loaded too; griffe loads only the package asked for.
                if not self.load_external(exc.alias.target_path.partition(".")[0]):
                    break
        self.report.skip(path, f"unresolvable alias to {member.target_path} ({reason})")
        return None

    def emit(self, library: str, version: str) -> list[ApiRecord]:
        records: list[ApiRecord] = []
        for canonical, entry in self.entries.items():
            best = min(entry.paths, key=lambda p: (p.count("."), len(p), p))
            aliases = [p for p in dict.fromkeys([*entry.paths, canonical]) if p != best]
            module_path = best if isinstance(entry.obj, griffe.Module) else best.rsplit(".", 1)[0]
            context = _Context(module_path, library, version)
            self._emit(entry.obj, best, aliases, entry.explicit, context, records)
        return records

    def _emit(
        self,
        obj: griffe.Object,
        path: str,
        aliases: list[str],
        explicit: bool,
        context: _Context,
        out: list[ApiRecord],
    ) -> None:
        kind = _kind(obj)
        if kind == "attribute" and not (explicit or obj.docstring or "property" in obj.labels):
            self.hidden += 1
            return
        if isinstance(obj, griffe.Class):
            aliases = aliases + _functional_names(obj)
        parsed = self._docstring(obj, path)
        name = path if kind == "module" else path.removeprefix(context.module_path + ".")
        out.append(
            ApiRecord(
                id=path,
                library=context.library,
                version=context.version,
                name=name,
                qualified_name=path,
                kind=kind,
                aliases=tuple(aliases),
                signature=_signature(obj),
                summary=parsed.summary,
                doc=parsed.doc,
                examples=parsed.examples,
                source=_source(obj),
            )
        )
        if not isinstance(obj, griffe.Class) or obj.path in self.open_classes:
            return
        self.open_classes.add(obj.path)  # an alias back to an enclosing class must not loop
        for member_name, member in obj.members.items():
            member_path = f"{path}.{member_name}"
            if member_name.startswith("_"):
                continue
            target = self._resolve(member, member_path)
            if target is None or isinstance(target, griffe.Module):
                continue
            member_aliases = [f"{obj.path}.{member_name}"] if obj.path != path else []
            self._emit(target, member_path, member_aliases, False, context, out)
        self.open_classes.discard(obj.path)

    def _docstring(self, obj: griffe.Object, path: str) -> ParsedDocstring:
        docstring = obj.docstring
        if docstring is None and isinstance(obj, griffe.Class):
            init = obj.members.get("__init__")
            docstring = init.docstring if init is not None and not init.is_alias else None
        if docstring is None:
            return ParsedDocstring("", "", ())
        try:
            return parse_docstring(docstring)
        except Exception as exc:  # a third-party parser on arbitrary text; never fatal
            self.report.skip(path, f"docstring not parsed, raw text kept ({type(exc).__name__})")
            return raw_docstring(docstring)


def _exports(module: griffe.Module) -> set[str] | None:
    exports = module.exports
    if exports is None:
        return None
    return {str(name).rsplit(".", 1)[-1] for name in exports}


def _exported(
    name: str, member: AnyObject, module: griffe.Module, exports: set[str] | None
) -> bool:
    if exports is not None:
        return name in exports
    if name.startswith("_"):
        return False
    if not isinstance(member, griffe.Alias):
        return True
    package = module.package.path
    return module.is_init_module and member.target_path.startswith(package + ".")


def _kind(obj: griffe.Object) -> str:
    if isinstance(obj, griffe.Module):
        return "module"
    if isinstance(obj, griffe.Class):
        return "class"
    if isinstance(obj, griffe.Function):
        return "method" if isinstance(obj.parent, griffe.Class) else "function"
    return "attribute"


def _signature(obj: griffe.Object) -> str:
    if not isinstance(obj, griffe.Function | griffe.Class):
        return ""
    try:
        text = obj.signature()
    except Exception:  # griffe renders arbitrary expressions; a failure only loses the signature
        return ""
    return text.removeprefix(obj.name) if text.startswith(obj.name + "(") else ""


def _functional_names(cls: griffe.Class) -> list[str]:
    names = []
    for decorator in cls.decorators:
        match = _FUNCTIONAL.search(str(decorator.value))
        if match:
            names.append(match.group(1))
    return names


def _source(obj: griffe.Object) -> str:
    try:
        filepath = obj.filepath
    except Exception:  # builtin or namespace objects have no file
        return ""
    if isinstance(filepath, list):
        filepath = filepath[0] if filepath else Path()
    lineno = obj.lineno or (1 if isinstance(obj, griffe.Module) else None)
    return f"{filepath}:{lineno}" if lineno else str(filepath)


def _dunder_version(module: griffe.Module) -> str | None:
    member = module.members.get("__version__")
    if member is None:
        return None
    try:
        target = member.final_target if isinstance(member, griffe.Alias) else member
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    value = getattr(target, "value", None)
    match = re.fullmatch(r"""(['"])([^'"]+)\1""", str(value)) if value is not None else None
    return match.group(2) if match else None


def _report_unloaded(
    root: PackageRoot, module: griffe.Module, logs: list[str], report: ReadReport
) -> None:
    """Report the .py files of a package that griffe did not load (syntax errors mostly)."""
    if root.path is None:
        try:
            package_dir = module.filepath
        except Exception:  # namespace or builtin module: nothing on disk to compare
            return
        if isinstance(package_dir, list) or package_dir.name != "__init__.py":
            return
        package_dir = package_dir.parent
    elif root.path.is_dir():
        package_dir = root.path
    else:
        return
    loaded = {_stem(Path(_filepath_key(m))) for m in _all_modules(module)}
    real_dir = resolved(package_dir)
    for folder, dirs, files in os.walk(package_dir):
        # Folders without __init__.py are scripts or data, not subpackages griffe would load.
        dirs[:] = [
            d
            for d in dirs
            if d.isidentifier()
            and d not in SKIPPED_MODULES
            and (Path(folder) / d / "__init__.py").is_file()
        ]
        for d in [d for d in dirs if _outside(Path(folder) / d, real_dir)]:
            report.skip(str(Path(folder) / d), OUTSIDE_REASON)
        for filename in files:
            file = Path(folder) / filename
            if file.suffix == ".py" and _outside(file, real_dir):
                report.skip(str(file), OUTSIDE_REASON)
                continue
            if file.suffix != ".py" or not file.stem.isidentifier() or _stem(file) in loaded:
                continue
            if file.stem in SKIPPED_MODULES:
                continue
            reasons = [line for line in logs if filename in line]
            reason = reasons[0] if reasons else "not loaded by griffe"
            report.skip(str(file), f"module not read: {reason}")


def _outside(path: Path, real_dir: Path | None) -> bool:
    return path.is_symlink() and (real_dir is None or leaves(path, real_dir))


def _stem(file: Path) -> str:
    """The path without suffix: a module read from its ``.pyi`` stub was read."""
    return str(file.with_suffix(""))


def _all_modules(module: griffe.Module) -> Iterator[griffe.Module]:
    yield module
    for member in module.members.values():
        if not member.is_alias and isinstance(member, griffe.Module):
            yield from _all_modules(member)


def _filepath_key(module: griffe.Module) -> str:
    try:
        filepath = module.filepath
    except Exception:  # no file: nothing to match
        return ""
    return str(filepath[0] if isinstance(filepath, list) and filepath else filepath)


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING or message.startswith("Syntax error"):
            self.lines.append(message)


@contextmanager
def _captured_griffe_logs() -> Iterator[list[str]]:
    """Keep griffe's per-docstring warnings off the user's stderr; collect them instead."""
    logger = logging.getLogger("griffe")
    lines: list[str] = []
    handler = _ListHandler(lines)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
