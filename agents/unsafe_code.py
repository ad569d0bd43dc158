"""Find uses of process, eval, network and file-destroying functions in generated code.

Names are resolved through imports and aliases (``import os as o; o.system``, ``from subprocess
import run as r``), ``getattr`` with a constant name (``getattr(os, "system")``) and
``__import__("os")`` / ``importlib.import_module("os")`` with a constant module. What only a run
could tell (a name built at run time) is not seen: this is a filter for generated answers, not
a sandbox.
"""

from __future__ import annotations

import ast
import builtins

# Any use of these modules (or of anything inside them) is unsafe.
UNSAFE_MODULES = (
    "subprocess",
    "ctypes",
    "socket",
    "urllib.request",
    "http.client",
    "requests",
    "httpx",
)
UNSAFE_NAMES = frozenset(
    {
        "os.system",
        "os.popen",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.posix_spawnp",
        "shutil.rmtree",
        "pty.spawn",
        "importlib.import_module",
        "importlib.__import__",
        "eval",
        "exec",
        "compile",
        "__import__",
    }
)
UNSAFE_PREFIXES = ("os.exec", "os.spawn")  # os.execv, os.execlp …, os.spawnl …
_BUILTIN_MODULES = ("builtins.", "__builtins__.")
_IMPORTERS = frozenset({"__import__", "importlib.import_module"})


def is_unsafe(name: str) -> bool:
    """Whether the dotted ``name`` (``os.system``, ``subprocess.run``, ``eval``) is unsafe."""
    for prefix in _BUILTIN_MODULES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if name in UNSAFE_NAMES or name.startswith(UNSAFE_PREFIXES):
        return True
    return any(name == m or name.startswith(m + ".") for m in UNSAFE_MODULES)


def find_unsafe_calls(tree: ast.AST) -> list[str]:
    """The unsafe names ``tree`` imports, calls or refers to, as dotted names, first use first."""
    finder = _UnsafeFinder(_imported_names(tree), _defined_names(tree))
    finder.visit(tree)
    return finder.found


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it stands for; ``from M import *`` maps ``*M`` to ``M``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    names[root] = root
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name == "*":
                    names[f"*{node.module}"] = node.module
                else:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _defined_names(tree: ast.AST) -> set[str]:
    """Names the code binds itself (so ``def compile(...)`` is not the builtin)."""
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return defined


class _UnsafeFinder(ast.NodeVisitor):
    def __init__(self, imported: dict[str, str], defined: set[str]) -> None:
        self.imported = imported
        self.defined = defined - set(imported)
        self.found: list[str] = []

    def _add(self, name: str) -> None:
        if name not in self.found:
            self.found.append(name)

    def qualify(self, node: ast.expr) -> str | None:
        """The dotted name ``node`` evaluates to, when that is statically visible."""
        if isinstance(node, ast.Name):
            if node.id in self.imported:
                return self.imported[node.id]
            if node.id in self.defined:
                return None
            if hasattr(builtins, node.id) or node.id == "__builtins__":
                return node.id
            starred = (f"{m}.{node.id}" for k, m in self.imported.items() if k.startswith("*"))
            return next((name for name in starred if is_unsafe(name)), None)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            if base in ("builtins", "__builtins__"):
                return node.attr
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self._qualify_call(node)
        return None

    def _qualify_call(self, node: ast.Call) -> str | None:
        func, args = self.qualify(node.func), node.args
        if func == "getattr" and len(args) >= 2 and _is_text(args[1]):
            base = self.qualify(args[0])
            if base in ("builtins", "__builtins__"):
                return _text(args[1])
            return f"{base}.{_text(args[1])}" if base else None
        if func in _IMPORTERS and args and _is_text(args[0]):
            return _text(args[0])
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_unsafe(alias.name):
                self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for alias in node.names:
            name = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
            if is_unsafe(name):
                self._add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            name = self.qualify(node)
            if name and is_unsafe(name):
                self._add(name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.qualify(node)
        if name and is_unsafe(name):
            self._add(name)
            return  # the outermost unsafe name is enough: not ``urllib.request`` as well
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualify(node)  # getattr(os, "system") / __import__("subprocess")
        if name and is_unsafe(name):
            self._add(name)
        self.generic_visit(node)


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _text(node: ast.expr) -> str:
    assert isinstance(node, ast.Constant) and isinstance(node.value, str)
    return node.value
