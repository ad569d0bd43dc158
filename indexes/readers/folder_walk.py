"""Walk a source folder without leaving it: symlinks that lead outside are listed, not followed.

A documentation folder may hold a symlink (``leaked.md -> ../outside/secret.md``, or a linked
folder) whose target is outside the folder the user named; reading it would index, and serve,
a file the user never pointed at. Symlinks that stay inside the folder are followed, each
real folder once (so a link to an ancestor cannot loop).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

OUTSIDE_REASON = "symlink to outside the source folder, not read"


def resolved(path: Path) -> Path | None:
    """``path`` with every symlink resolved, or None when it cannot be (a loop, no access)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on older Pythons
        return None


def leaves(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves to somewhere outside ``root`` (itself resolved)."""
    real = resolved(path)
    return real is None or not real.is_relative_to(root)


@dataclass
class FolderWalk:
    files: list[Path] = field(default_factory=list)  # in walk order, each real file once
    outside: list[Path] = field(default_factory=list)  # symlinks leading out of the root
    truncated: bool = False  # stopped at ``limit`` entries


def walk_folder(
    root: Path,
    *,
    keep_dir: Callable[[str], bool] = lambda name: True,
    keep_file: Callable[[str], bool] = lambda name: True,
    limit: int | None = None,
) -> FolderWalk:
    """The files under ``root`` that ``keep_file`` accepts, sorted per folder, never outside
    ``root``; ``limit`` caps how many file names are looked at."""
    walk = FolderWalk()
    real_root = resolved(root)
    if real_root is None:
        return walk
    seen_dirs: set[Path] = set()
    looked = 0
    for current, dirs, names in os.walk(root, followlinks=True):
        here = Path(current)
        real_here = resolved(here)
        if real_here is None or real_here in seen_dirs:
            dirs[:] = []
            continue
        seen_dirs.add(real_here)
        kept_dirs = []
        for name in sorted(dirs):
            if not keep_dir(name):
                continue
            if (here / name).is_symlink() and leaves(here / name, real_root):
                walk.outside.append(here / name)
            else:
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(names):
            looked += 1
            if limit is not None and looked > limit:
                walk.truncated = True
                return walk
            if not keep_file(name):
                continue
            file = here / name
            if file.is_symlink() and leaves(file, real_root):
                walk.outside.append(file)
            else:
                walk.files.append(file)
    return walk
