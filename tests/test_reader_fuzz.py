"""Generated junk for every reader: none may raise (but SourceError for a missing source)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import sphobjinv as soi
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers import markdown
from apipilot.indexes.readers.detect import KINDS, detect_source
from apipilot.indexes.readers.fetch import FetchError
from apipilot.indexes.readers.html_blocks import MAX_BLOCK_CHARS, Block, anchored_block, parse_page
from apipilot.indexes.readers.jsonl import read_jsonl
from apipilot.indexes.readers.markdown import read_markdown
from apipilot.indexes.readers.markdown_sections import MarkupError, api_name, split_sections
from apipilot.indexes.readers.python_package import read_python_package
from apipilot.indexes.readers.sphinx import read_sphinx
from apipilot.indexes.record import ReadReport

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with the characters the parsers care about, so junk often looks almost right.
MARKUP = st.text(
    alphabet=st.sampled_from(list("#=-~`*>_:.()[]{}<>/\"' \n\tabcXYZ019\x00é→")) | st.characters(),
    max_size=400,
)
HTML_BITS = st.lists(
    st.sampled_from(
        ["<dl class='py function'>", "<dt id='a.b'>", "<dt id='x'>", "</dt>", "<dd>", "</dd>",
         "</dl>", "<section id='s'>", "</section>", "<pre>", "</pre>", "<p>", "</p>", "<br/>",
         "<span id='m'>", "</span>", "<h1>", "</h1>", "<a class='headerlink'>¶</a>", "<script>",
         "&amp;", "&#x2192;", "<!--", "-->", "<![CDATA[", "text. More. ", ">>> f(1)\n", "<",
         "</div>", "<div role='main'>", "\x00"]
    )
    | st.text(max_size=20),
    max_size=60,
).map("".join)  # fmt: skip


def check_report(report: ReadReport) -> None:
    ids = [r.id for r in report.records]
    assert len(ids) == len(set(ids))
    for where, reason in report.skipped:
        assert isinstance(where, str) and reason


@FAST
@given(files=st.lists(st.tuples(st.sampled_from([".md", ".rst", ".txt"]), st.binary(max_size=300)
                                | MARKUP.map(lambda t: t.encode("utf-8", "surrogatepass"))),
                      max_size=4))  # fmt: skip
def test_markdown_reader_survives_junk(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i, (suffix, data) in enumerate(files):
            (root / f"file{i}{suffix}").write_bytes(data)
        (root / "llms.txt").write_bytes(b"# T\n\n- [a](file0.md)\n- [b](https://x.org/a.md)\n")
        report = read_markdown(root, "lib", "1")
        check_report(report)
        check_markdown_records(report, root)


_SOURCE = re.compile(r"^(.+):(\d+)$")


def check_markdown_records(report: ReadReport, root: Path) -> None:
    """Every record names the file and line it came from, carries the library and version
    it was read as, and holds no more text than its file (the ``` a code block gains aside)."""
    for record in report.records:
        assert (record.library, record.version) == ("lib", "1")
        where = _SOURCE.match(record.source)
        assert where is not None, record.source
        file = Path(where.group(1))
        assert file.parent == root and file.is_file()
        text = file.read_bytes().decode("utf-8-sig")
        assert 1 <= int(where.group(2)) <= len(text.splitlines()) + 1
        assert len(record.doc) <= markdown.MAX_SECTION_CHARS
        assert len(record.summary) <= 300
        bound = len(text.expandtabs()) + text.count("\n")  # docutils expands tabs
        assert len(record.doc) - 4 * record.doc.count("```") <= bound
        assert record.id and record.name


@FAST
@given(text=MARKUP, rst=st.booleans())
@example(text=" :", rst=True)  # docutils put an INFO message about the line into the prose
def test_section_splitter_survives_junk(text: str, rst: bool) -> None:
    try:
        sections = split_sections(text, rst=rst)
    except MarkupError:  # the one error a junk reST document may give; the reader skips it
        assert rst
        return
    for section in sections:
        found = api_name(section)
        assert found is None or found.qualified
        assert section.line >= 1
        assert len(section.prose_text) <= len(text.expandtabs())


JSONL_LINE = st.one_of(
    st.builds(lambda n, s: json.dumps({"id": n, "name": n, "summary": s}), st.text(max_size=8),
              st.text(max_size=40)),
    st.builds(lambda t: json.dumps({"text_id": 1, "text": t}), MARKUP),
    st.builds(lambda n, d: json.dumps({"public_name": n, "docstring": d}), st.text(max_size=8),
              MARKUP),
    MARKUP.map(lambda t: t.replace("\n", " ")),
)  # fmt: skip


@FAST
@given(lines=st.lists(JSONL_LINE, max_size=8))
def test_jsonl_reader_keeps_its_promises_on_junk(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "apis.jsonl"
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
        try:
            report = read_jsonl(path, "lib", "1", strict=False, source="apis.jsonl")
        except SourceError as exc:  # a NUL byte makes the file binary
            assert "binary" in str(exc)
            return
    check_report(report)
    longest = max((len(line) for line in lines), default=0)
    assert len(report.records) + len(report.skipped) <= len(lines)
    for record in report.records:
        assert (record.library, record.version) == ("lib", "1")
        assert record.id and record.name
        assert len(record.doc) <= longest and len(record.summary) <= longest
    for where, _ in report.skipped:
        assert where.startswith(f"{path}:") and 1 <= int(where.rsplit(":", 1)[1]) <= len(lines)


@FAST
@given(html=HTML_BITS, anchor=st.sampled_from(["", "a.b", "x", "s", "m", "missing"]))
def test_html_blocks_survive_junk(html: str, anchor: str) -> None:
    page = parse_page(html)
    block = anchored_block(page, anchor)
    if anchor:  # a block for exactly the anchors the page has; the main content for none
        assert (block is None) == (anchor not in page.ids)
    else:
        assert block is not None
    if block is not None:
        check_block(block)


def _shown(text: str) -> str:
    return text.replace("\u2192", "->").replace("\u00b6", "")


def check_block(block: Block) -> None:
    """Bounded, trimmed text; prose paragraphs with their whitespace collapsed; every code
    block in the body."""
    for text in (block.head, block.body, block.prose):
        assert len(text) <= MAX_BLOCK_CHARS
        assert text == text.strip() and "\u00b6" not in text and "\u2192" not in text
    for paragraph in block.prose.split("\n\n"):
        assert paragraph == " ".join(paragraph.split())
    for code in block.code:
        assert code.strip() and _shown(code).strip() in block.body


def _site(inventory: bytes, pages: dict[str, bytes]) -> Callable[[str], bytes]:
    files = {"objects.inv": inventory, **pages}

    def fetch(path: str) -> bytes:
        if path not in files:
            raise FetchError(f"{path}: missing")
        return files[path]

    return fetch


@FAST
@given(data=st.binary(max_size=300))
def test_sphinx_reader_survives_junk_inventory(data: bytes) -> None:
    for inventory in (data, b"# Sphinx inventory version 2\n# Project: x\n" + data):
        check_report(read_sphinx("https://x.org/", "x", None, fetcher=_site(inventory, {})))


@FAST
@given(
    names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
    anchors=st.lists(st.text(max_size=8), min_size=1, max_size=5),
    html=HTML_BITS,
)
def test_sphinx_reader_survives_junk_pages(names: list[str], anchors: list[str], html: str) -> None:
    inventory = soi.Inventory()
    inventory.project, inventory.version = "x", "1"
    for i, name in enumerate(names):
        clean = "".join(c for c in name if c.isalnum() or c in "._") or "n"
        anchor = "".join(c for c in anchors[i % len(anchors)] if c.isalnum() or c in "._-")
        inventory.objects.append(
            soi.DataObjStr(name=clean, domain="py", role="function", priority="1",
                           uri=f"p{i % 2}.html#{anchor}", dispname="-")
        )  # fmt: skip
    data = soi.compress(inventory.data_file())
    fetch = _site(data, {"p0.html": html.encode("utf-8", "surrogatepass")})
    report = read_sphinx("https://x.org/", "x", None, fetcher=fetch)
    check_report(report)
    check_sphinx_records(report, inventory, "https://x.org/")


def check_sphinx_records(report: ReadReport, inventory: soi.Inventory, base: str) -> None:
    """Every record names the page and anchor it came from, is an object of the inventory
    and holds bounded text; every object is a record or is reported skipped."""
    objects = {(str(o.name), base + str(o.uri_expanded).rstrip("#")) for o in inventory.objects}
    skipped = {where for where, _ in report.skipped}
    assert all(where.startswith(base) for where in skipped)
    for record in report.records:
        assert (record.qualified_name, record.source) in objects
        assert (record.library, record.version) == ("x", "1")
        assert len(record.doc) <= MAX_BLOCK_CHARS and len(record.summary) <= 300
        assert len(record.signature) <= MAX_BLOCK_CHARS
    recorded = {(record.qualified_name, record.source) for record in report.records}
    for name, where in objects:
        page = where.partition("#")[0]
        assert (name, where) in recorded or where in skipped or page in skipped


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=MARKUP, code=st.binary(max_size=200))
def test_python_reader_survives_junk(doc: str, code: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        package = Path(folder) / "junkpkg"
        package.mkdir()
        source = f"def f(x):\n    {doc!r}\n\nclass C:\n    {doc!r}\n    def m(self): {doc!r}\n"
        (package / "__init__.py").write_text(f"{doc!r}\n" + source)
        (package / "junk.py").write_bytes(code)
        report, library, version = read_python_package(package)
        check_report(report)
        assert library == "junkpkg" and version == "unknown"
        assert "junkpkg.f" in {r.id for r in report.records}


@FAST
@given(source=st.text(max_size=60))
def test_detect_returns_a_kind_or_source_error(source: str) -> None:
    try:
        kind = detect_source(source)
    except SourceError as exc:
        assert "accepted" in str(exc)
    else:
        assert kind in KINDS


@FAST
@given(
    depth=st.integers(0, 3000),
    tags=st.lists(st.sampled_from(["div", "li", "p", "dl", "dt", "dd", "section", "span", "pre"]),
                  min_size=1, max_size=4),
)  # fmt: skip
def test_deep_unclosed_html_does_not_overflow(depth: int, tags: list[str]) -> None:
    html = "<div id='top'>" + "".join(f"<{tags[i % len(tags)]}>x" for i in range(depth))
    block = anchored_block(parse_page(html), "top")
    assert block is not None
    check_block(block)
    if "section" not in tags:  # subsections are left out; flattened nesting keeps its text
        assert block.body.count("x") == depth
