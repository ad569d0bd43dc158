"""Read Markdown, reStructuredText and plain-text documentation (and ``llms.txt``) into records.

``path`` is one file or a folder (searched recursively for ``.md``, ``.markdown``, ``.rst``
and ``.txt``; hidden and build folders left out). Each file is split into sections by
headings (:mod:`indexes.readers.markdown_sections`):

* a section that names an API (heading ``Shuffler()``, ```` `Shuffler` ````,
  ``DataFrame.merge``, a reST ``.. py:function::`` directive, or — when the section opens
  with code — a first code line ``def foo(...)`` / ``foo(a, b)``) becomes a record of that
  API, id = the name as written;
* any other section is a ``guide`` record (:mod:`indexes.readers.guides`: title, title
  path ``Page / Section``, prose, code blocks) when its prose (code excluded) has at least
  ``MIN_SECTION_WORDS`` words, or code and a few words, so a bare heading is dropped; its id
  is ``file#heading-slug``;
* a section over ``MAX_SECTION_CHARS`` is cut at line boundaries into several records.

An ``llms.txt`` file (https://llmstxt.org) is read as Markdown, and the local files its
links point to (inside the llms.txt folder, of the types above) are read too; remote links
are reported as skipped, not fetched.

Bad input never raises: a file that cannot be read, is binary (has NUL bytes), is not
valid UTF-8 (skipped whole rather than read with replacement characters, which would put
garbled text in the index), is over ``MAX_FILE_BYTES`` or is empty is reported in
``skipped``, and so is a symlink in the folder that leads outside it (a link inside it is
followed). An empty source gives a report with no records. Only a ``path`` that does not
exist raises :class:`SourceError`.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import (
    FILE_TYPE,
    LIKELY,
    NOT_MINE,
    ReadOptions,
    ReadSource,
    SourceTarget,
    read_for_library,
)
from apipilot.indexes.readers.folder_walk import OUTSIDE_REASON, walk_folder
from apipilot.indexes.readers.guides import guide_record, keep_as_guide, page_title, slug
from apipilot.indexes.readers.jsonl import docstring_examples
from apipilot.indexes.readers.markdown_sections import (
    MarkupError,
    Section,
    api_name,
    split_sections,
)
from apipilot.indexes.record import ApiRecord, ReadReport, first_sentence, unique_ids

SUFFIXES = frozenset({".md", ".markdown", ".rst", ".txt"})
SKIPPED_DIRS = frozenset(
    {"node_modules", "__pycache__", "_build", "_sources", "_static", "venv", "site-packages"}
)
LLMS_NAMES = frozenset({"llms.txt"})
MAX_FILE_BYTES = 5_000_000
MAX_FILES = 5_000
MAX_SECTION_CHARS = 8_000
MIN_SECTION_WORDS = 20
_LINK = re.compile(r"^\s*[-*+]\s*\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class MarkdownReader:
    """The registry's entry for Markdown, reST and plain-text files and folders."""

    kind: str = "markdown"
    accepts: str = "a folder of .md/.rst/.txt files or one such file, llms.txt included"
    names_library: bool = False

    def detect(self, target: SourceTarget) -> int:
        if target.is_file:
            return FILE_TYPE if target.path.suffix.lower() in SUFFIXES else NOT_MINE
        return LIKELY if target.is_dir and has_docs(target.path) else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        read = partial(read_markdown, target.path)
        return read_for_library(target, library, version, self.kind, read, str(target.path))


def has_docs(folder: Path, limit: int = 2_000) -> bool:
    """Any .md/.rst/.txt file in the folder (looking at ``limit`` file names at most; hidden
    folders and symlinks that lead outside it left out)."""
    walk = walk_folder(
        folder,
        keep_dir=lambda name: not name.startswith("."),
        keep_file=lambda name: Path(name).suffix.lower() in SUFFIXES,
        limit=limit,
    )
    return bool(walk.files)


def read_markdown(path: Path, library: str, version: str) -> ReadReport:
    """Read the file or folder ``path`` as documentation of ``library@version``."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    reader = _Reader(path if path.is_dir() else path.parent, library, version)
    if path.is_dir():
        reader.read_folder(path)
    else:
        reader.read_file(path)
    reader.report.records = unique_ids(reader.records)
    return reader.report


class _Reader:
    def __init__(self, root: Path, library: str, version: str) -> None:
        self.root = root
        self.library = library
        self.version = version
        self.report = ReadReport()
        self.records: list[ApiRecord] = []
        self.seen: set[Path] = set()
        self.titles: dict[Path, str] = {}

    def read_folder(self, folder: Path) -> None:
        walk = walk_folder(folder, keep_dir=_wanted_dir)
        files = [f for f in walk.files if f.suffix.lower() in SUFFIXES]
        others = sum(
            1 for f in walk.files if f.suffix.lower() not in SUFFIXES and not f.name.startswith(".")
        )
        for link in walk.outside:
            self.report.skip(str(link), OUTSIDE_REASON)
        if others:
            self.report.skip(str(folder), f"{others} files of other types left out")
        if len(files) > MAX_FILES:
            self.report.skip(str(folder), f"{len(files) - MAX_FILES} files over {MAX_FILES}")
            files = files[:MAX_FILES]
        for file in files:
            self.read_file(file)

    def read_file(self, file: Path) -> None:
        try:
            resolved = file.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
            self.report.skip(str(file), f"cannot be read ({exc})")
            return
        if resolved in self.seen:
            return
        self.seen.add(resolved)
        text = self._text(file)
        if text is None:
            return
        rst = file.suffix.lower() == ".rst"
        llms = file.name.lower() in LLMS_NAMES
        try:
            sections = split_sections(text, rst=rst)
        except MarkupError as exc:
            self.report.skip(str(file), str(exc))
            return
        self.titles[file] = page_title(sections, file.stem)
        for index, section in enumerate(sections):
            # An llms.txt opens with the library's title and one-line summary: always kept.
            self._add(section, file, min_words=1 if llms and index < 2 else MIN_SECTION_WORDS)
        if llms:
            self._follow_links(file, text)

    def _text(self, file: Path) -> str | None:
        """The file's text, or None with the reason in ``skipped``."""
        try:
            info = file.stat()
            if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
                self.report.skip(str(file), "not a regular file")
                return None
            size = info.st_size
            if size > MAX_FILE_BYTES:
                self.report.skip(str(file), f"{size} bytes, over the {MAX_FILE_BYTES} limit")
                return None
            data = file.read_bytes()
        except OSError as exc:
            self.report.skip(str(file), f"cannot be read ({exc.strerror or exc})")
            return None
        if b"\x00" in data:
            self.report.skip(str(file), "binary file (NUL bytes), not text")
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.report.skip(str(file), f"not UTF-8 text (invalid byte at offset {exc.start})")
            return None
        if not text.strip():
            self.report.skip(str(file), "empty file")
            return None
        return text

    def _follow_links(self, llms: Path, text: str) -> None:
        folder = llms.parent.resolve()
        for line in text.splitlines():
            match = _LINK.match(line)
            if not match:
                continue
            target = match.group(2)
            where = f"{llms}: {target}"
            parts = urlsplit(target)
            if (parts.scheme or parts.netloc) and parts.scheme != "file":
                self.report.skip(where, "remote link not fetched (local files only)")
                continue
            local = Path(unquote(parts.path))
            try:
                file = (local if local.is_absolute() else folder / local).resolve()
            except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
                self.report.skip(where, f"link cannot be followed ({exc})")
                continue
            if not file.is_relative_to(folder):
                self.report.skip(where, "link outside the llms.txt folder not read")
            elif file.suffix.lower() not in SUFFIXES:
                self.report.skip(where, "linked file is not Markdown, reST or text")
            elif not file.is_file():
                self.report.skip(where, "linked file not found")
            else:
                self.read_file(file)

    def _add(self, section: Section, file: Path, *, min_words: int) -> None:
        relative = _relative(file, self.root)
        source = f"{file}:{section.line}"
        api = api_name(section)
        text = section.text
        chunks = _chunks(text)
        if api is not None:
            qualified = api.qualified
            examples = section.code
            if section.starts_with_code and len(section.code[0].strip().splitlines()) == 1:
                examples = section.code[1:]  # the block that only shows the signature
            for chunk in chunks:
                self.records.append(
                    ApiRecord(
                        id=qualified,
                        library=self.library,
                        version=self.version,
                        name=_short(qualified),
                        qualified_name=qualified,
                        kind=api.kind,
                        signature=api.signature,
                        summary=first_sentence(section.prose_text),
                        doc=chunk,
                        examples=_examples(examples),
                        source=source,
                    )
                )
            return
        if not keep_as_guide(section, min_words=min_words):
            return
        page = self.titles.get(file) or file.stem
        ident = f"{relative}#{slug(section.heading)}" if section.heading else relative
        guide = guide_record(
            section,
            page=page,
            ident=ident,
            source=source,
            library=self.library,
            version=self.version,
        )
        prose = _chunks(section.prose_text)
        self.records.append(replace(guide, doc=prose[0]))
        for chunk in prose[1:]:  # a long section: its prose in several records
            summary = first_sentence(chunk)
            self.records.append(replace(guide, doc=chunk, summary=summary, examples=()))


def _wanted_dir(name: str) -> bool:
    return not name.startswith(".") and name not in SKIPPED_DIRS


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name


def _examples(blocks: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for block in blocks:
        out.extend(docstring_examples(block) or (block,))
    return tuple(dict.fromkeys(b for b in out if b.strip()))


def _short(qualified: str) -> str:
    """``pandas.DataFrame.merge`` → ``DataFrame.merge``; ``torchdata.Shuffler`` → ``Shuffler``."""
    parts = qualified.split(".")
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return ".".join(parts[-2:])
    return parts[-1]


def _chunks(text: str) -> list[str]:
    if len(text) <= MAX_SECTION_CHARS:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        if size + len(line) > MAX_SECTION_CHARS and current:
            chunks.append("\n".join(current))
            current, size = [], 0
        while len(line) > MAX_SECTION_CHARS:
            chunks.append(line[:MAX_SECTION_CHARS])
            line = line[MAX_SECTION_CHARS:]
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks
