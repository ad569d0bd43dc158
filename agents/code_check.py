"""Check code the agent wrote: every call into the target library must exist in the index, and
no call may start processes, evaluate code or reach the network (``unsafe_code``)."""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from apipilot.agents.unsafe_code import find_unsafe_calls
from apipilot.indexes.api_index import ApiIndex


@dataclass
class CodeCheck:
    parses: bool
    error: str = ""
    known: list[str] = field(default_factory=list)  # library APIs found in the index
    unknown: list[str] = field(default_factory=list)  # library APIs the index does not have
    # process, eval, network or file-destroying functions used (os.system, eval, requests.get …)
    unsafe_calls: list[str] = field(default_factory=list)


def check_code(code: str, index: ApiIndex, library: str) -> CodeCheck:
    """Parse ``code`` and resolve its calls into ``library`` against ``index``.

    A call is into the library when its root name was imported from the library
    (``from torchdata.datapipes.iter import Shuffler``; ``import pandas as pd`` … ``pd.merge``).
    Method calls on values (``dp.shuffle()``) count when the method name is an API name or alias
    of the index, so misspelt functional names are not caught: a value's type is unknown here.
    Bare calls to names that are neither defined, imported nor builtins are flagged too.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return CodeCheck(parses=False, error=f"line {exc.lineno}: {exc.msg}")
    root = library.split(".")[0]
    from_library: dict[str, str] = {}  # local name -> imported name
    module_aliases: set[str] = set()
    defined: set[str] = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == root:
            for alias in node.names:
                from_library[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                if alias.name.split(".")[0] == root:
                    module_aliases.add(local)
                else:
                    defined.add(local)
        elif isinstance(node, ast.ImportFrom):
            defined.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    result = CodeCheck(parses=True, unsafe_calls=find_unsafe_calls(tree))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _library_call(node.func, from_library, module_aliases, defined, index)
        if name is None:
            continue
        target = result.known if index.find(name.rsplit(".", 1)[-1]) else result.unknown
        if name not in target:
            target.append(name)
    for imported in from_library.values():
        if imported != "*" and not index.find(imported) and imported not in result.unknown:
            result.unknown.append(imported)  # imported from the library but not in the index
    return result


def _library_call(
    func: ast.expr,
    from_library: dict[str, str],
    module_aliases: set[str],
    defined: set[str],
    index: ApiIndex,
) -> str | None:
    if isinstance(func, ast.Name):
        if func.id in from_library:
            return from_library[func.id]
        if func.id not in defined:
            return func.id  # called but never defined or imported
        return None
    if isinstance(func, ast.Attribute):
        base = func.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in module_aliases:
            return ast.unparse(func)
        if index.find(func.attr):
            return func.attr  # a method call whose name is an API of the index
    return None
