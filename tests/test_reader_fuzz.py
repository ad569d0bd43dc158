"""Generated junk for every reader: none may raise (but SourceError for a missing source)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import sphobjinv as soi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.detect import KINDS, detect_source
from apipilot.indexes.readers.fetch import FetchError
from apipilot.indexes.readers.html_blocks import anchored_block, parse_page
from apipilot.indexes.readers.markdown import read_markdown
from apipilot.indexes.readers.markdown_sections import api_name, split_sections
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
        check_report(read_markdown(root, "lib", "1"))


@FAST
@given(text=MARKUP, rst=st.booleans())
def test_section_splitter_survives_junk(text: str, rst: bool) -> None:
    for section in split_sections(text, rst=rst):
        found = api_name(section)
        assert found is None or found.qualified


@FAST
@given(html=HTML_BITS, anchor=st.sampled_from(["", "a.b", "x", "s", "m", "missing"]))
def test_html_blocks_survive_junk(html: str, anchor: str) -> None:
    block = anchored_block(parse_page(html), anchor)
    assert block is None or isinstance(block.body, str)


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
    check_report(read_sphinx("https://x.org/", "x", None, fetcher=fetch))


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
