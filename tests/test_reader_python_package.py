"""The griffe-based reader of Python packages: an installed package and a tiny one on disk."""

from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path

import griffe
import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers import python_package
from apipilot.indexes.readers.python_docstrings import ParsedDocstring, parse_docstring
from apipilot.indexes.readers.python_package import read_python_package
from apipilot.indexes.record import ApiRecord

INIT = '''
"""Tiny package for reader tests."""

from tinypkg._impl import Engine
from tinypkg.missing_module import ghost
from . import sub

__all__ = ["Engine", "ghost", "google_style", "numpy_style", "sphinx_style", "Shuffler",
           "broken", "not_defined", "LIMIT", "_explicit_private"]

LIMIT: int = 10
"""Largest batch size."""

OTHER = 3


def functional_datapipe(name):
    def wrap(cls):
        return cls
    return wrap


def google_style(a: int, b: str = "x", *args, key: bool = False, **kwargs) -> list[int]:
    """Add things up, Google style.

    Args:
        a (int): First.
        b: Second.

    Returns:
        list[int]: The sums.

    Examples:
        >>> google_style(1)
        [1]
    """


def numpy_style(x, y=2):
    """Multiply two numbers, NumPy style.

    Parameters
    ----------
    x : float
        Left.
    y : float, optional
        Right.

    Examples
    --------
    >>> numpy_style(2, 3)
    6
    """


def sphinx_style(path):
    """Open a file, Sphinx style.

    :param path: where the file is
    :type path: str
    :returns: the handle
    """


@functional_datapipe("shuffle")
class Shuffler:
    """Shuffle a DataPipe with a buffer.

    Args:
        datapipe: The source.
        buffer_size: How many items to hold.
    """

    def __init__(self, datapipe, buffer_size: int = 10000) -> None:
        self._buffer = []

    def set_seed(self, seed: int) -> "Shuffler":
        """Set the random seed."""
        return self

    def _private_method(self):
        """Hidden."""

    @property
    def size(self) -> int:
        """The buffer size."""
        return 0


def broken():
    """Broken docstring.

    Args:
        x (int: unclosed paren
      bad indentation:
    Returns:
    Raises:
        :
    Examples:
        >>>
    """


def not_exported():
    """Defined but not in __all__."""


def _explicit_private():
    """Private name listed in __all__."""


def _hidden():
    """Private."""
'''

IMPL = '''
class Engine:
    """Run the pipeline."""

    def run(self, steps: int = 1) -> None:
        """Run ``steps`` steps."""
'''

SUB = '''
"""Helpers without __all__."""

import os
from tinypkg._impl import Engine


def helper(n: int) -> int:
    """Double ``n``."""
    return 2 * n


def _private_helper():
    pass
'''


def write_package(root: Path) -> Path:
    package = root / "tinypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(INIT))
    (package / "_impl.py").write_text(IMPL)
    (package / "sub.py").write_text(SUB)
    (package / "broken_syntax.py").write_text("def f(:\n    pass\n")
    (package / "tests").mkdir()
    (package / "tests" / "__init__.py").write_text("")
    (package / "tests" / "test_it.py").write_text("def test_x(:\n")  # never parsed
    (package / "scripts").mkdir()  # no __init__.py: not a subpackage
    (package / "scripts" / "run.py").write_text("print(\n")
    return package


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "tiny-pkg"\nversion = "2.0.1"\n')
    return write_package(tmp_path)


def by_id(records: list[ApiRecord]) -> dict[str, ApiRecord]:
    return {r.id: r for r in records}


def test_installed_package_is_read_statically() -> None:
    report, library, version = read_python_package("rich")
    assert library == "rich"
    assert version == importlib.metadata.version("rich")
    records = by_id(report.records)
    assert len(records) == len(report.records)

    console = records["rich.console.Console"]
    assert console.kind == "class"
    assert "color_system" in console.signature
    assert console.summary == "A high level console interface."
    assert console.source.endswith(".py:" + console.source.rsplit(":", 1)[1])

    printer = records["rich.console.Console.print"]
    assert printer.kind == "method"
    assert printer.name == "Console.print"
    assert printer.signature.startswith("(*objects: Any")
    assert printer.summary == "Print to the console."

    assert records["rich.print"].kind == "function"
    assert records["rich.table.Table.add_row"].summary == "Add a row of renderables."
    assert all(not part.startswith("_") for r in report.records for part in r.id.split("."))


def test_tiny_package_public_api(tiny: Path) -> None:
    report, library, version = read_python_package(tiny)
    assert (library, version) == ("tiny-pkg", "2.0.1")
    records = by_id(report.records)

    assert "tinypkg.not_exported" not in records
    assert "tinypkg._hidden" not in records
    assert "tinypkg.OTHER" not in records
    assert "tinypkg._explicit_private" in records
    assert "tinypkg.sub.helper" in records
    assert "tinypkg.sub._private_helper" not in records
    assert "tinypkg.sub.os" not in records
    assert records["tinypkg.LIMIT"].kind == "attribute"
    assert records["tinypkg.LIMIT"].summary == "Largest batch size."
    assert records["tinypkg"].kind == "module"
    assert records["tinypkg.sub"].summary == "Helpers without __all__."


def test_reexport_is_one_record_under_its_public_path(tiny: Path) -> None:
    report, _, _ = read_python_package(tiny)
    records = by_id(report.records)
    engine = records["tinypkg.Engine"]
    assert engine.qualified_name == "tinypkg.Engine"
    assert "tinypkg._impl.Engine" in engine.aliases
    assert "tinypkg.sub.Engine" not in records  # an import in a plain module is no re-export
    assert engine.source.endswith("_impl.py:2")
    run = records["tinypkg.Engine.run"]
    assert run.kind == "method"
    assert run.signature == "(steps: int = 1) -> None"
    assert "tinypkg._impl.Engine.run" in run.aliases


def test_docstring_styles(tiny: Path) -> None:
    records = by_id(read_python_package(tiny)[0].records)
    google = records["tinypkg.google_style"]
    assert google.signature == (
        "(a: int, b: str = 'x', *args, key: bool = False, **kwargs) -> list[int]"
    )
    assert google.summary == "Add things up, Google style."
    assert google.examples == ("google_style(1)",)
    assert "Args:" in google.doc

    numpy = records["tinypkg.numpy_style"]
    assert numpy.summary == "Multiply two numbers, NumPy style."
    assert numpy.examples == ("numpy_style(2, 3)",)

    sphinx = records["tinypkg.sphinx_style"]
    assert sphinx.summary == "Open a file, Sphinx style."
    assert ":param path:" in sphinx.doc


def test_functional_datapipe_and_class_members(tiny: Path) -> None:
    records = by_id(read_python_package(tiny)[0].records)
    shuffler = records["tinypkg.Shuffler"]
    assert shuffler.kind == "class"
    assert "shuffle" in shuffler.aliases
    assert shuffler.signature == "(datapipe, buffer_size: int = 10000)"
    assert shuffler.summary == "Shuffle a DataPipe with a buffer."
    assert records["tinypkg.Shuffler.set_seed"].name == "Shuffler.set_seed"
    assert records["tinypkg.Shuffler.size"].kind == "attribute"
    assert "tinypkg.Shuffler._private_method" not in records
    assert "tinypkg.Shuffler.__init__" not in records


def test_problems_are_reported_not_raised(tiny: Path) -> None:
    report, _, _ = read_python_package(tiny)
    records = by_id(report.records)
    assert records["tinypkg.broken"].summary == "Broken docstring."
    reasons = dict(report.skipped)
    assert "unresolvable alias" in reasons["tinypkg.ghost"]
    assert "not defined" in reasons["tinypkg.not_defined"]
    syntax = [reason for where, reason in report.skipped if where.endswith("broken_syntax.py")]
    assert syntax and "Syntax error" in syntax[0]
    assert not any("tests" in where or "scripts" in where for where, _ in report.skipped)
    assert not any(".tests" in r.id for r in report.records)
    assert any("private or non-exported" in reason for reason in reasons.values())


def test_parser_failure_keeps_raw_docstring(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def flaky(docstring: griffe.Docstring) -> ParsedDocstring:
        if "Broken docstring" in docstring.value:
            raise ValueError("parser blew up")
        return parse_docstring(docstring)

    monkeypatch.setattr(python_package, "parse_docstring", flaky)
    report, _, _ = read_python_package(tiny)
    broken = by_id(report.records)["tinypkg.broken"]
    assert broken.summary == "Broken docstring."
    assert "Args:" in broken.doc
    assert ("tinypkg.broken", "docstring not parsed, raw text kept (ValueError)") in report.skipped


def test_given_name_and_version_win(tiny: Path) -> None:
    report, library, version = read_python_package(tiny, "mylib", "9.9")
    assert (library, version) == ("mylib", "9.9")
    assert {r.library for r in report.records} == {"mylib"}
    assert {r.version for r in report.records} == {"9.9"}


def test_source_tree_with_src_layout(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    write_package(tmp_path / "src")
    report, library, version = read_python_package(tmp_path)
    assert library == "tinypkg"
    assert version == "unknown"
    assert "tinypkg.Shuffler" in by_id(report.records)
    assert not any(r.id.startswith("tests") for r in report.records)


def test_reexport_from_another_package(tmp_path: Path) -> None:
    (tmp_path / "basepipes").mkdir()
    (tmp_path / "basepipes" / "__init__.py").write_text("")
    (tmp_path / "basepipes" / "combinatorics.py").write_text(
        "from basepipes.decorators import functional_datapipe\n\n"
        '@functional_datapipe(name="shuffle")\n'
        "class ShufflerIterDataPipe:\n"
        '    """Shuffle the input DataPipe with a buffer."""\n\n'
        "    def set_seed(self, seed: int) -> None:\n"
        '        """Set the seed."""\n'
    )
    (tmp_path / "datapipes").mkdir()
    (tmp_path / "datapipes" / "__init__.py").write_text(
        "from basepipes.combinatorics import ShufflerIterDataPipe as Shuffler\n"
        "from basepipes.nowhere import Ghost\n"
        '__all__ = ["Shuffler", "Ghost"]\n'
    )
    report, _, _ = read_python_package(tmp_path / "datapipes")
    records = by_id(report.records)
    shuffler = records["datapipes.Shuffler"]
    assert shuffler.summary == "Shuffle the input DataPipe with a buffer."
    assert set(shuffler.aliases) == {"basepipes.combinatorics.ShufflerIterDataPipe", "shuffle"}
    assert shuffler.source.endswith("combinatorics.py:3")  # griffe: the decorator line
    assert records["datapipes.Shuffler.set_seed"].summary == "Set the seed."
    assert "unresolvable alias" in dict(report.skipped)["datapipes.Ghost"]
    assert not any(r.id.startswith("basepipes") for r in report.records)


def test_inspection_allowed(tiny: Path) -> None:
    report, _, _ = read_python_package(tiny, inspect=True)
    assert "tinypkg.Shuffler" in by_id(report.records)


def test_single_module_file(tmp_path: Path) -> None:
    module = tmp_path / "solo.py"
    module.write_text('__version__ = "0.3"\n\ndef go(x):\n    """Go somewhere."""\n')
    report, library, version = read_python_package(module)
    assert (library, version) == ("solo", "0.3")
    assert by_id(report.records)["solo.go"].summary == "Go somewhere."


def test_pkg_prefix_and_missing_package() -> None:
    report, library, _ = read_python_package("pkg:typer")
    assert library == "typer"
    assert "typer.Typer" in by_id(report.records)
    with pytest.raises(SourceError, match="no installed package"):
        read_python_package("pkg:surely_not_an_installed_package_xyz")
    with pytest.raises(SourceError):
        read_python_package(Path("/nonexistent/path/to/pkg"))
