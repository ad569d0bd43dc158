"""The Gradio app: search a library's API index from the browser."""

from __future__ import annotations

from typing import Any

from indexes.corpora import DEFAULT_LIBRARY
from indexes.store import IndexStore
from retrieval.errors import ApipilotError
from ui.offline import set_offline_defaults

COLUMNS = ["api", "signature", "summary", "score"]


def search_rows(store: IndexStore, library: str, query: str, k: int) -> tuple[list[list[Any]], str]:
    """Rows for the results table and a status line; errors become the status line."""
    if not query.strip():
        return [], "Type what you want to do first."
    try:
        index = store.open(library)
        hits = index.search(query, int(k))
    except ApipilotError as exc:
        return [], f"Error: {exc}"
    rows = [[h.record.name, h.record.signature, h.record.summary, round(h.score, 4)] for h in hits]
    return rows, f"{len(rows)} APIs from {index.meta.ref} (embedder {index.meta.embedder})"


def build_app(store: IndexStore, default_library: str = DEFAULT_LIBRARY) -> Any:
    set_offline_defaults()
    import gradio as gr

    libraries = store.libraries() or [default_library]
    with gr.Blocks(title="apipilot") as demo:
        gr.Markdown("# apipilot\nWhich APIs of a library do what you want to do?")
        with gr.Row():
            library = gr.Dropdown(
                libraries,
                value=default_library if default_library in libraries else libraries[0],
                label="Library",
            )
            k = gr.Slider(1, 50, value=10, step=1, label="How many APIs")
        query = gr.Textbox(label="Requirement", placeholder="shuffle the elements of a datapipe")
        status = gr.Markdown()
        results = gr.Dataframe(headers=COLUMNS, label="APIs", wrap=True)

        def run(lib: str, q: str, top: float) -> tuple[list[list[Any]], str]:
            return search_rows(store, lib, q, int(top))

        query.submit(run, [library, query, k], [results, status])
        gr.Button("Search", variant="primary").click(run, [library, query, k], [results, status])
    return demo
