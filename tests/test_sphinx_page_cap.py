"""A Sphinx site's narrative pages are read up to the HTML crawl's page cap; pages with API
objects always are, and the report says how many narrative pages were left out."""

from __future__ import annotations

from pathlib import Path

import pytest
import sphobjinv as soi

from apipilot.indexes.readers.sphinx import read_sphinx

PAGE = ("<html><body><div role='main'><section id='{slug}'><h1>{title}</h1>{body}</section>"
        "</div></body></html>")  # fmt: skip
PROSE = (
    "<p>This page explains how tinylib keeps its data in tables, how to shuffle the rows "
    "of a table well, and what to do when a table is too big.</p>"
)
API = ("<dl class='py function'><dt id='tinylib.shuffle'>tinylib.shuffle(data)</dt>"
       "<dd><p>Shuffle the data in place.</p></dd></dl>")  # fmt: skip
GUIDES = ("intro", "tables", "shuffling")


def site(folder: Path) -> Path:
    folder.mkdir(parents=True)
    inventory = soi.Inventory()
    inventory.project, inventory.version = "TinyLib", "1.0"
    entries = [("tinylib.shuffle", "py", "function", "api.html#$", "-"),
               ("api", "std", "doc", "api.html", "API")]  # fmt: skip
    entries += [(name, "std", "doc", f"{name}.html", name.title()) for name in GUIDES]
    for name, domain, role, uri, shown in entries:
        inventory.objects.append(soi.DataObjStr(name, domain, role, "1", uri, shown))
    soi.writebytes(folder / "objects.inv", soi.compress(inventory.data_file(contract=True)))
    (folder / "api.html").write_text(PAGE.format(slug="api", title="API", body=API))
    for name in GUIDES:
        (folder / f"{name}.html").write_text(PAGE.format(slug=name, title=name.title(), body=PROSE))
    return folder


def test_narrative_pages_stop_at_the_cap_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = site(tmp_path / "html")
    report = read_sphinx(folder, None, None, page_cap=2)
    pages = {r.id.partition("#")[0] for r in report.records if r.kind == "guide"}
    assert pages == {"intro.html", "tables.html"}  # the first two, in inventory order
    assert "tinylib.shuffle" in {r.id for r in report.records}  # API pages are always read
    assert any("page cap of 2 narrative pages reached: 1 narrative pages not read" in why
               for _, why in report.skipped)  # fmt: skip

    monkeypatch.setenv("APIPILOT_MAX_PAGES", "1")
    capped = read_sphinx(folder, None, None)
    assert {r.id.partition("#")[0] for r in capped.records if r.kind == "guide"} == {"intro.html"}
    assert any("2 narrative pages not read" in why for _, why in capped.skipped)

    monkeypatch.delenv("APIPILOT_MAX_PAGES")
    whole = read_sphinx(folder, None, None)
    assert len({r.id.partition("#")[0] for r in whole.records if r.kind == "guide"}) == 3
    assert not any("page cap" in why for _, why in whole.skipped)
