"""The Gradio app: chat, indexes, settings and evaluation results. Each tab is laid out and
wired in ``ui.web_tabs``; this module puts them together and wires what crosses tabs. The
callbacks' logic lives in ``ui.web_chat``, ``ui.web_indexes``, ``ui.web_settings`` and
``ui.web_results``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import apipilot
from apipilot.ui.offline import set_offline_defaults
from apipilot.ui.settings import settings_path
from apipilot.ui.warmup import Warmup, lm_in_process, serving_steps
from apipilot.ui.web_results import default_results_dir
from apipilot.ui.web_settings import current_settings
from apipilot.ui.web_tabs import chat_tab, indexes_tab, results_tab, settings_tab


def build_app(
    home: Path | None = None,
    default_library: str = apipilot.DEFAULT_LIBRARY,
    *,
    config_file: Path | None = None,
    results_dir: Path | None = None,
    policy: apipilot.SourcePolicy | None = None,
    warmup: bool = False,
) -> Any:
    """The app for the indexes in ``home``; settings in ``config_file`` (default: see
    ``settings_path``). ``policy`` limits what the Indexes tab may build from (default: the
    current directory and the user's documents; rebuilding an existing index is allowed).
    With ``warmup``, the indexes, the embedder and the configured LM load in the background
    and a status line says so until they are ready."""
    set_offline_defaults()
    import gradio as gr

    config = config_file or settings_path(apipilot.index_home(home))
    settings, settings_warning = current_settings(config)

    loading = start_warmup(home, settings.llm) if warmup else None
    with gr.Blocks(title="apipilot") as demo:
        gr.Markdown("# apipilot\nWhich APIs of a library do what you want to do?")
        if loading is not None:
            warmup_status(gr, loading)
        with gr.Tab("Chat", id="chat"):
            chat = chat_tab(gr, home, config, default_library)
        with gr.Tab("Indexes", id="indexes"):
            indexes = indexes_tab(gr, home, settings, chat, default_library, policy or app_policy())
        with gr.Tab("Settings", id="settings"):
            form = settings_tab(gr, config, settings, settings_warning, indexes.embedder)
        with gr.Tab("Results", id="results"):
            results = results_tab(gr, results_dir or default_results_dir())

        def on_load(current: str | None) -> tuple[Any, ...]:
            return (*indexes.updates(current), *form.form(), *results.show())

        demo.load(on_load, chat.library, [*indexes.outputs, *form.outputs, *results.outputs])
    return demo


def start_warmup(home: Path | None, llm: str) -> Warmup:
    """Load the indexes, the embedder and (if it runs here) the LM ``llm`` in the background."""
    steps = serving_steps(home, llm, with_lm=lm_in_process(llm))
    return Warmup(steps).start()


def warmup_status(gr: Any, loading: Warmup) -> Any:
    """A status line that reads "loading…" until ``loading`` is done, then what it loaded."""

    def text() -> str:
        if loading.report is None:
            return "⏳ *Loading the indexes and models… the first answer waits for them.*"
        return f"✅ *{loading.report.summary('apipilot')}*"

    status = gr.Markdown(text(), elem_id="warmup-status")
    timer = gr.Timer(1.0, active=not loading.ready)
    timer.tick(lambda: (text(), gr.Timer(active=not loading.ready)), None, [status, timer])
    return status


def app_policy() -> apipilot.SourcePolicy:
    """The app's default: local folders only, and a person may rebuild their own indexes."""
    return replace(apipilot.SourcePolicy.default(), allow_replace=True)


def asgi_app(blocks: Any) -> Any:
    """``blocks`` as an ASGI app (FastAPI) for ``ui.http_serve`` to put behind its guard."""
    import gradio as gr
    from fastapi import FastAPI

    return gr.mount_gradio_app(FastAPI(), blocks, path="/", show_error=True)
