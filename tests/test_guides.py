"""Guides: narrative sections read from Sphinx sites, HTML sites, Markdown folders and package
READMEs, linked to the APIs they name; several sources in one library@version."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sphobjinv as soi

import apipilot
from apipilot.errors import ConfigError
from apipilot.indexes.building import build_from_sources, read_sources
from apipilot.indexes.errors import SourceError
from apipilot.indexes.guide_examples import guide_examples
from apipilot.indexes.guide_links import ApiNames, code_mentions, guide_links, link_guides
from apipilot.indexes.readers.html_site import read_html_site
from apipilot.indexes.readers.registry import detect_reader
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore

EMBEDDER = "hashing:64"


def api(qualified: str, kind: str = "function", aliases: tuple[str, ...] = ()) -> ApiRecord:
    name = qualified.rpartition(".")[2]
    if kind == "method":
        name = ".".join(qualified.split(".")[-2:])
    return ApiRecord(qualified, "lib", "1", name, qualified, kind, aliases, summary="Does it.")


def guide(doc: str, *code: str, name: str = "Section") -> ApiRecord:
    return ApiRecord(f"g#{name}", "lib", "1", name, f"Page / {name}", "guide", doc=doc,
                     examples=code)  # fmt: skip


REFERENCE = [
    api("pandas", "module"),
    api("pandas.read_csv"),
    api("pandas.DataFrame", "class"),
    api("pandas.DataFrame.merge", "method"),
    api("rich.console.Console", "class", aliases=("rich.Console",)),
    api("rich.console.Console.print", "method"),
    api("rich.print"),
]


def test_import_aliases_resolve_to_qualified_names() -> None:
    names = ApiNames.of(REFERENCE)
    code = (
        "import pandas as pd\n"
        "from rich.console import Console as C\n"
        "frame = pd.read_csv('a.csv')\n"
        "console = C()\n"
        "console.print(frame)\n"
        "print(len(frame))\n"
    )
    links = guide_links(guide("Read a file.", code), names)
    assert links == ["rich.console.Console", "pandas.read_csv", "rich.console.Console.print"]
    assert "rich.print" not in links  # the builtin print is not rich.print
    assert "pandas" not in links  # the library's root module is never a link


def test_prose_inline_code_and_code_like_words() -> None:
    names = ApiNames.of(REFERENCE)
    prose = "Use `pd.read_csv()` to load it, then DataFrame.merge; the rich.Console prints."
    links = guide_links(guide(prose, "import pandas as pd"), names)
    assert links == ["pandas.read_csv", "pandas.DataFrame.merge", "rich.console.Console"]
    # plain English words never resolve by a short name: "print" is not rich.print
    assert guide_links(guide("Then print the merge of both."), names) == []


def test_snippets_that_do_not_parse_fall_back_to_regex() -> None:
    found, aliases = code_mentions(">>> import pandas as pd\n>>> pd.read_csv(\n$ pip install x")
    assert aliases == {"pd": "pandas"}
    assert "pd.read_csv" in found
    names = ApiNames.of(REFERENCE)
    assert guide_links(guide("", ">>> import pandas as pd\n>>> pd.read_csv("), names) == [
        "pandas.read_csv"
    ]


def test_ambiguous_short_names_are_not_links() -> None:
    records = [api("a.x.load"), api("a.y.load"), guide("", "load(1)")]
    assert link_guides(records)[-1].links == ()
    records = [api("a.x.load"), api("a.y.save"), guide("", "load(1)")]
    assert link_guides(records)[-1].links == ("a.x.load",)


# --- a tiny package, its docs folder, several sources ------------------------------------------

PACKAGE = '''"""Tinylib does tiny things."""

__version__ = "1.0"
__all__ = ["shuffle", "Table"]


def shuffle(data: list) -> list:
    """Shuffle the data in place."""
    return data


class Table:
    """A table of rows."""

    def add_row(self, *cells: str) -> None:
        """Add a row of cells."""
'''

GUIDE_MD = """# Tutorial

Tinylib helps with tables and shuffled data in a few lines of code, for everyone who
has rows of cells to keep and lists to shuffle.

## Make a table

Build a table and add a row of cells to it.

```python
from tinylib import Table as T

table = T()
table.add_row("a", "b")
```
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "src" / "tinylib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PACKAGE)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tutorial.md").write_text(GUIDE_MD)
    return package, docs


def test_multi_source_build_links_guides_and_refreshes(
    project: tuple[Path, Path], tmp_path: Path
) -> None:
    package, docs = project
    home = tmp_path / "home"
    built = apipilot.build_index([str(docs), str(package)], embedder=EMBEDDER, home=home)
    assert (built.library, built.version) == ("tinylib", "1.0")  # named by the package
    info = apipilot.list_indexes(home)[0]
    assert info.meta["sources"] == [str(docs), str(package)]
    assert built.sources == (str(docs), str(package))
    assert built.to_dict()["sources"] == [str(docs), str(package)]
    index = IndexStore(home).open("tinylib")
    table_guide = index.get("tutorial.md#make-a-table")
    assert table_guide is not None
    assert table_guide.kind == "guide"
    assert table_guide.qualified_name == "Tutorial / Make a table"
    assert table_guide.links == ("tinylib.Table", "tinylib.Table.add_row")
    assert table_guide.examples and "T()" in table_guide.examples[0]

    (docs / "more.md").write_text(
        "## Shuffle\n\nShuffle a list of data.\n\n```\nshuffle([1])\n```\n"
    )
    refreshed = apipilot.refresh_index("tinylib", home=home)
    assert refreshed.stats["added"] == 1
    assert refreshed.stats["unchanged"] == built.records
    shuffle_guide = IndexStore(home).open("tinylib").get("more.md#shuffle")
    assert shuffle_guide is not None
    assert shuffle_guide.links == ("tinylib.shuffle",)

    # a source that fails mid-build leaves the previous index in use
    (package / "__init__.py").unlink()
    (package.parent / "tinylib").rename(package.parent / "gone")
    with pytest.raises(SourceError):
        apipilot.refresh_index("tinylib", home=home)
    assert IndexStore(home).open("tinylib").meta.record_count == refreshed.records


def test_add_source_to_an_index(project: tuple[Path, Path], tmp_path: Path) -> None:
    package, docs = project
    home = tmp_path / "home"
    first = apipilot.build_index(str(package), embedder=EMBEDDER, home=home)
    added = apipilot.add_source(str(docs), "tinylib@1.0", home=home)
    assert added.records == first.records + 2  # the tutorial's two sections
    assert added.stats["unchanged"] == first.records  # the package's vectors are reused
    assert apipilot.list_indexes(home)[0].meta["sources"] == [str(package), str(docs)]
    with pytest.raises(ConfigError, match="already"):
        apipilot.add_source(str(docs), "tinylib", home=home)


def test_sources_that_do_not_name_a_library_need_one(project: tuple[Path, Path]) -> None:
    _, docs = project
    with pytest.raises(SourceError, match="give --library"):
        read_sources([str(docs)])
    read = read_sources([str(docs)], "tinylib", "2.0")
    assert {r.version for r in read.records} == {"2.0"}


def test_guide_sections_with_code_become_examples(project: tuple[Path, Path]) -> None:
    package, docs = project
    read = read_sources([str(package), str(docs)])
    examples = guide_examples(read.records)
    assert [(e.requirement, [a.name for a in e.apis]) for e in examples] == [
        ("Build a table and add a row of cells to it.", ["Table", "Table.add_row"])
    ]


# --- README from a distribution's metadata -----------------------------------------------------

README = """# Tinyreadme

[![badge](https://img.shields.io/x.svg)](https://ci)

## Quick start

Open a [reader](https://docs/reader.html) and read every line of the file.

```python
import tinyreadme as tr

reader = tr.Reader("a.txt")
reader.read_lines()
```
"""


def test_readme_from_package_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "tinyreadme").mkdir(parents=True)
    (site / "tinyreadme" / "__init__.py").write_text(
        '__all__ = ["Reader"]\n\n\nclass Reader:\n    """Reads a file."""\n\n'
        '    def read_lines(self) -> list:\n        """Every line."""\n        return []\n'
    )
    info = site / "tinyreadme-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tinyreadme\nVersion: 0.3\n"
        "Description-Content-Type: text/markdown\n\n" + README
    )
    monkeypatch.syspath_prepend(str(site))
    read = read_sources(["pkg:tinyreadme"])
    assert (read.library, read.version) == ("tinyreadme", "0.3")
    guides = {r.id: r for r in read.records if r.kind == "guide"}
    start = guides["tinyreadme/README#quick-start"]
    assert start.qualified_name == "tinyreadme / Quick start"
    assert start.doc == "Open a reader and read every line of the file."  # link targets dropped
    assert start.source == str(info / "METADATA")
    assert start.links == ("tinyreadme.Reader", "tinyreadme.Reader.read_lines")


# --- sites: a hand-made Sphinx site with narrative pages, an HTML site without inventory -------

PAGE = """<!DOCTYPE html><html><head><title>{title} - Tinylib</title></head><body>
<nav><a href="index.html">Home</a> <a href="https://elsewhere.org/x.html">out</a></nav>
<div role="main">{body}</div><footer>Footer text that is not documentation.</footer>
</body></html>"""
TUTORIAL = """<section id="tutorial"><h1>Tutorial<a class="headerlink" href="#t">¶</a></h1>
<p>Tinylib shuffles data and keeps it in tables for any kind of program you write.</p>
<section id="shuffle-the-data"><h2>Shuffle the data</h2>
<p>Call <code>tinylib.shuffle</code> on a list to shuffle it.</p>
<pre>import tinylib as tl
tl.shuffle([1, 2, 3])</pre></section></section>"""
API_PAGE = """<section id="api"><h1>API</h1>
<dl class="py function"><dt id="tinylib.shuffle">tinylib.shuffle(data)</dt>
<dd><p>Shuffle the data in place.</p></dd></dl></section>"""


def sphinx_site(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    inventory = soi.Inventory()
    inventory.project, inventory.version = "TinyLib", "1.0"
    for name, domain, role, uri, shown in [
        ("tinylib.shuffle", "py", "function", "api.html#$", "-"),
        ("tutorial", "std", "doc", "tutorial.html", "Tutorial"),
        ("api", "std", "doc", "api.html", "API"),
        ("intro-label", "std", "label", "tutorial.html#tutorial", "Tutorial"),
    ]:
        inventory.objects.append(soi.DataObjStr(name, domain, role, "1", uri, shown))
    soi.writebytes(folder / "objects.inv", soi.compress(inventory.data_file(contract=True)))
    (folder / "tutorial.html").write_text(PAGE.format(title="Tutorial", body=TUTORIAL))
    (folder / "api.html").write_text(PAGE.format(title="API", body=API_PAGE))
    return folder


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a slow page


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path, slow: dict[str, float] | None = None) -> str:
        delays = slow or {}

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delays.get(self.path, 0))
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _Quiet(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def http_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path / "apipilot-home"))


def test_sphinx_narrative_pages_over_loopback(tmp_path: Path, serve: Any) -> None:
    url = serve(sphinx_site(tmp_path / "html"))
    read = read_sources([url])  # no --library: the inventory's project names it
    assert (read.library, read.version) == ("tinylib", "1.0")
    records = {r.id: r for r in read.records}
    assert records["tinylib.shuffle"].kind == "function"
    section = records["tutorial.html#shuffle-the-data"]
    assert section.kind == "guide"
    assert section.qualified_name == "Tutorial / Shuffle the data"
    assert section.source == url + "tutorial.html#shuffle-the-data"
    assert section.examples == ("import tinylib as tl\ntl.shuffle([1, 2, 3])",)
    assert section.links == ("tinylib.shuffle",)
    assert "Footer" not in section.doc and "Home" not in section.doc
    # the API page's object block is the reference record's, not a guide's
    assert not any("Shuffle the data in place" in r.doc for r in read.records if r.kind == "guide")


def test_sphinx_library_from_the_inventory(tmp_path: Path) -> None:
    folder = sphinx_site(tmp_path / "html")
    assert read_source(str(folder)).library == "tinylib"


def html_site(folder: Path, pages: int) -> Path:
    """``index.html`` linking to page 1; page i links to i+1 (a long chain, like a big site)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        name = "index.html" if i == 0 else f"p{i}/index.html"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        body = (
            f"<article><h1>Page {i}</h1><p>This page explains step {i} of the "
            f"tutorial in enough words to be kept as a guide section.</p>"
            f'<p><a href="/p{i + 1}/">next</a> <a href="../style.css">css</a></p></article>'
        )
        (folder / name).write_text(PAGE.format(title=f"Page {i}", body=body))
    return folder


def test_html_site_without_inventory_is_crawled(tmp_path: Path) -> None:
    folder = html_site(tmp_path / "site", 4)
    assert detect_reader(str(folder))[0].kind == "html"
    read = read_source(str(folder), "mylib", "1.0")
    titles = sorted(r.qualified_name for r in read.report.records)
    assert titles == ["Page 0", "Page 1", "Page 2", "Page 3"]
    assert all(r.kind == "guide" for r in read.report.records)


class _EndlessSite(SimpleHTTPRequestHandler):
    """Every page links to 20 new pages: millions of pages are reachable."""

    def do_GET(self) -> None:
        here = self.path.strip("/").replace("/", "-") or "root"
        links = "".join(f'<a href="/{here}-{i}/">{i}</a>' for i in range(20))
        body = f"<h1>{here}</h1><p>{'words ' * 25}</p>{links}"
        data = PAGE.format(title=here, body=body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_crawl_stops_at_its_cap_and_says_so(tmp_path: Path) -> None:
    server = _Quiet(("127.0.0.1", 0), _EndlessSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        report = read_html_site(url, "mylib", "1.0", page_cap=30, cache_dir=tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()
    assert len(report.records) == 30
    [(where, why)] = [s for s in report.skipped if "cap" in s[1]]
    assert where == url
    assert why.startswith("crawl stopped at its cap of 30 pages; ")
    assert int(why.split("; ")[1].split()[0]) > 400  # the links it saw and did not follow


def test_a_hanging_page_is_abandoned_at_its_deadline(tmp_path: Path, serve: Any) -> None:
    url = serve(html_site(tmp_path / "site", 3), slow={"/p1/": 5.0})
    started = time.monotonic()
    report = read_html_site(url, "mylib", "1.0", page_deadline=0.5, cache_dir=tmp_path / "c")
    assert time.monotonic() - started < 4
    assert [r.qualified_name for r in report.records] == ["Page 0"]  # page 2 is behind page 1
    assert any(where.endswith("p1/") and "deadline" in why for where, why in report.skipped)


def test_a_site_folder_link_to_outside_is_not_followed(tmp_path: Path) -> None:
    folder = html_site(tmp_path / "site", 2)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "index.html").write_text(PAGE.format(title="Secret", body="<h1>Secret</h1>" * 3))
    (folder / "p1" / "index.html").write_text(
        PAGE.format(title="P1", body='<h1>Page 1</h1><a href="/leak/">x</a>')
    )
    os.symlink(secret, folder / "leak")
    report = read_html_site(folder, "mylib", "1.0")
    assert not any("Secret" in r.qualified_name for r in report.records)
    assert any("outside" in why for _, why in report.skipped)


def test_build_from_several_sites(tmp_path: Path, serve: Any) -> None:
    url = serve(sphinx_site(tmp_path / "html"))
    site = html_site(tmp_path / "site", 2)
    store = IndexStore(tmp_path / "home")
    result = build_from_sources(store, [str(site), url], embedder_spec=EMBEDDER)
    assert result.meta.ref == "tinylib@1.0"
    assert result.meta.sources == [str(site), url]
    assert {"index.html", "p1/"} <= {r.id.partition("#")[0] for r in store.open("tinylib").records}


def test_cli_builds_several_sources_adds_one_and_lists_them(
    project: tuple[Path, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from apipilot.ui.cli import app

    package, docs = project
    home = ["--home", str(tmp_path / "home")]
    runner = CliRunner()
    built = runner.invoke(app, ["index", "build", str(package), "--embedder", EMBEDDER, *home])
    assert built.exit_code == 0, built.output
    added = runner.invoke(app, ["index", "add", str(docs), "--library", "tinylib@1.0", *home])
    assert added.exit_code == 0, added.output
    assert "unchanged 4" in added.output
    listed = runner.invoke(app, ["index", "list", "--json", *home])
    assert json.loads(listed.output)[0]["sources"] == [str(package), str(docs)]
    missing = runner.invoke(app, ["index", "add", str(tmp_path / "nope"), "-l", "tinylib", *home])
    assert missing.exit_code != 0
    assert "no such file" in missing.output + str(missing.stderr)


def test_an_index_with_guides_has_a_guide_example_bank(
    project: tuple[Path, Path], tmp_path: Path
) -> None:
    from apipilot.agents.recommend import example_bank

    package, docs = project
    store = IndexStore(tmp_path / "home")
    build_from_sources(store, [str(package), str(docs)], embedder_spec=EMBEDDER)
    bank = example_bank(store.open("tinylib"), store)  # no bank ships for tinylib
    assert bank is not None
    [demo] = bank.nearest("add rows to a table", 1)
    assert demo.apis == ("Table", "Table.add_row")
    assert demo.requirement == "Build a table and add a row of cells to it."
    assert demo.subtasks == ("A table of rows", "Add a row of cells")
    assert "add_row" in demo.code


def test_a_remote_llms_txt_and_the_pages_it_links(tmp_path: Path, serve: Any) -> None:
    site = tmp_path / "llms"
    (site / "docs").mkdir(parents=True)
    (site / "llms.txt").write_text(
        "# Tinylib\n\n> Tiny tables and shuffles.\n\n## Docs\n\n"
        "- [Tables](docs/tables.md): how to make tables\n"
        "- [Elsewhere](https://elsewhere.org/page.md): not this site\n"
    )
    (site / "docs" / "tables.md").write_text(
        "# Tables\n\n## Add rows\n\nAdd a row to a table.\n\n```python\ntable.add_row(1)\n```\n"
    )
    url = serve(site) + "llms.txt"
    read = read_source(url, "tinylib", "1.0")
    guides = {r.qualified_name: r for r in read.report.records}
    assert "Tinylib" in guides  # the title and summary of an llms.txt are kept
    rows = guides["Tables / Add rows"]
    assert rows.source == url.removesuffix("llms.txt") + "docs/tables.md#add-rows"
    assert any("another site" in why for _, why in read.report.skipped)
