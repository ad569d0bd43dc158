"""The web app in real headless Chromium: ask, build from an upload, remove, recover from errors.

Needs /usr/bin/chromium and the playwright package (`make browser-deps`); the app runs on
127.0.0.1 on a temporary home with model-free (hashing) indexes and no LM.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apipilot.indexes.building import build_from_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from tests.conftest import DEMO, REPO, make_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = REPO / "docs" / "screenshot-chat.png"
# Tests never rewrite tracked files: the README's screenshot is refreshed only when asked.
UPDATE_SCREENSHOT = os.environ.get("APIPILOT_UPDATE_SCREENSHOT") == "1"
SCROLL_TO_TOP = """chat => {
  for (const el of chat.querySelectorAll("*")) {
    if (el.scrollHeight > el.clientHeight + 10) el.scrollTop = 0;
  }
}"""
FIRST_ANSWER_BOUND_S = 10.0
WAIT_MS = 60_000  # the first request also builds the example bank's vectors

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: run `make browser-deps`"
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is missing: run `make browser-deps`"
)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from apipilot.ui.http_serve import start_background
    from apipilot.ui.web import asgi_app, build_app

    home = tmp_path_factory.mktemp("web-home")
    store = IndexStore(home)
    for library in ("demo", "scratch"):
        store.build(
            [make_record(n, s, library) for n, s in DEMO],
            library=library,
            version="1.0",
            embedder=HashingEmbedder(64),
            embedder_spec="hashing:64",
        )
    build_from_source(store, "corpus:torchdata@0.7.1", embedder_spec="hashing:256")
    settings = {"embedder": "hashing:64"}  # the shipped settings (LM, k, code) for the rest
    (home / "config.json").write_text(json.dumps(settings))
    blocks = build_app(store.home, results_dir=tmp_path_factory.mktemp("no-results"))
    server = start_background(asgi_app(blocks))  # the path `apipilot app` serves, guard included
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    page.set_default_timeout(WAIT_MS)
    page.goto(app_url, wait_until="load")
    page.locator("#version input").wait_for()
    yield page
    page.close()


def ask(page: Any, text: str) -> None:
    page.locator("#message textarea").fill(text)
    page.locator("#ask").click()


def chat(page: Any) -> Any:
    return page.locator("#chat")


def api_names(page: Any) -> list[str]:
    value: str = page.locator("#api-names textarea").input_value()
    return value.splitlines()


def choose(page: Any, dropdown: str, option: str) -> None:
    page.locator(f"#{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_ask_shows_the_recommended_apis(page: Any, tmp_path: Path) -> None:
    expect = sync_api.expect
    expect(page.locator("#library input")).to_have_value("torchdata")
    expect(page.locator("#version input")).to_have_value("0.7.1")
    ask(page, "list the files in a folder, open them, parse the CSV rows, then shuffle them")
    expect(chat(page).get_by_text("Recommended APIs")).to_be_visible()
    expect(chat(page).get_by_text("Candidates per subtask")).to_be_visible()
    expect(page.locator("#api-names textarea")).not_to_have_value("")
    names = api_names(page)
    for api in ("FileOpener", "CSVParser", "Shuffler"):
        assert any(name.endswith(f".{api}") for name in names), names
    expect(chat(page).get_by_text("total", exact=False).first).to_be_visible()
    page.locator("#chat").evaluate(SCROLL_TO_TOP)  # the screenshot shows the answer's start
    shot = SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / "screenshot-chat.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a rendered page, not an empty image


def test_first_answer_comes_quickly_with_shipped_settings(page: Any) -> None:
    """Seconds from the question to the first visible APIs (the target is 3 s; the bound is
    looser so a loaded 2-core CI box does not fail it)."""
    expect = sync_api.expect
    ask(page, "warm up: read the lines of some text files")  # the first request loads models
    expect(page.locator("#api-names textarea")).not_to_have_value("", timeout=WAIT_MS)
    answers = chat(page).get_by_text("Recommended APIs")
    before = answers.count()
    start = time.perf_counter()
    ask(page, "open the files of a folder, then decompress them and read the lines")
    # this question's APIs, not the last answer's
    expect(answers).to_have_count(before + 1, timeout=WAIT_MS)
    seconds = time.perf_counter() - start
    print(f"first visible answer after {seconds:.2f} s (target 3 s)")
    assert seconds < FIRST_ANSWER_BOUND_S


def test_follow_up_refines_the_request(page: Any) -> None:
    expect = sync_api.expect
    ask(page, "parse the CSV rows of some files")
    expect(page.locator("#api-names textarea")).not_to_have_value("")
    ask(page, "then batch them")
    expect(chat(page).get_by_text("Refining", exact=False)).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('#api-names textarea').value.includes('Batcher')"
    )
    assert any(name.endswith("CSVParser") for name in api_names(page))


def test_an_empty_requirement_is_an_error_and_the_app_goes_on(page: Any) -> None:
    expect = sync_api.expect
    ask(page, "   ")
    expect(page.locator("#chat-status").get_by_text("the requirement is empty")).to_be_visible()
    ask(page, "shuffle the elements of a datapipe")
    expect(chat(page).get_by_text("Recommended APIs")).to_be_visible()
    expect(page.locator("#chat-status").get_by_text("the requirement is empty")).to_be_hidden()
    assert any(name.endswith(".Shuffler") for name in api_names(page))


def test_build_from_an_uploaded_jsonl_file_then_ask_it(page: Any, tmp_path: Path) -> None:
    expect = sync_api.expect
    upload = tmp_path / "mylib-api.jsonl"
    records = [make_record(n, s, "uploaded", "2.0").to_dict() for n, s in DEMO]
    upload.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    page.get_by_role("tab", name="Indexes").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#upload").get_by_text("mylib-api.jsonl")).to_be_visible()
    page.locator("#build-library textarea, #build-library input").first.fill("uploaded")
    page.locator("#build-version textarea, #build-version input").first.fill("2.0")
    page.locator("#build-embedder textarea, #build-embedder input").first.fill("hashing:64")
    page.locator("#build").click()
    expect(page.locator("#build-status").get_by_text("built uploaded@2.0")).to_be_visible()
    expect(page.locator("#index-table").get_by_text("uploaded").first).to_be_visible()

    page.get_by_role("tab", name="Chat").click()
    choose(page, "library", "uploaded")
    expect(page.locator("#version input")).to_have_value("2.0")
    ask(page, "combine two sequences element by element")
    expect(chat(page).get_by_text("uploaded@2.0").first).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('#api-names textarea').value.includes('uploaded.zip_with')"
    )


def test_a_failed_build_is_a_message(page: Any) -> None:
    expect = sync_api.expect
    page.get_by_role("tab", name="Indexes").click()
    page.locator("#source textarea, #source input").first.fill("/no/such/docs.jsonl")
    page.locator("#build-library textarea, #build-library input").first.fill("ghost")
    page.locator("#build").click()
    expect(page.locator("#build-status").get_by_text("Build failed")).to_be_visible()


def test_remove_asks_for_confirmation(page: Any) -> None:
    expect = sync_api.expect
    page.get_by_role("tab", name="Indexes").click()
    choose(page, "remove-ref", "scratch@1.0")
    page.locator("#remove").click()
    expect(page.get_by_text("Remove scratch@1.0?", exact=False)).to_be_visible()
    page.locator("#confirm-remove").click()
    expect(page.locator("#remove-status").get_by_text("removed scratch@1.0")).to_be_visible()
    expect(page.locator("#index-table").get_by_text("scratch")).to_have_count(0)


def test_settings_are_validated_and_saved(page: Any) -> None:
    expect = sync_api.expect
    page.get_by_role("tab", name="Settings").click()
    expect(page.get_by_label("none (deterministic, no LM)")).to_be_checked()
    page.get_by_label("OpenAI-compatible server (openai:)").check()
    page.locator("#save-settings").click()
    status = page.locator("#settings-status")
    expect(status.get_by_text("the openai backend needs a server URL")).to_be_visible()
    page.get_by_label("none (deterministic, no LM)").check()
    page.locator("#save-settings").click()
    expect(status.get_by_text("Saved to")).to_be_visible()


def test_results_tab_without_results(page: Any) -> None:
    page.get_by_role("tab", name="Results").click()
    sync_api.expect(page.get_by_text("No evaluation results yet")).to_be_visible()
