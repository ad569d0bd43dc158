"""The app's four tabs, one function each: lay out the tab's components and wire the events
that stay inside it. ``ui.web.build_app`` puts them together and wires what crosses tabs.

Gradio is imported by the caller (``build_app``) and passed in as ``gr``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apipilot
from apipilot.ui.settings import K_RANGE, Settings, split_lm_spec
from apipilot.ui.web_chat import Conversation, chat_stream, library_choices, version_choices
from apipilot.ui.web_indexes import (
    COLUMNS,
    index_refs,
    index_rows,
    index_summary,
    remove_index,
    try_build,
)
from apipilot.ui.web_results import load_results
from apipilot.ui.web_settings import LM_CHOICES, LM_TARGET_HINT, current_settings, save_form

UPLOAD_TYPES = [".jsonl", ".json", ".md", ".markdown", ".rst", ".txt"]
CHAT_CONCURRENCY = 8  # chats answered at once; their LM calls share one queue
BUILD_PHASES = {"read": "reading the source", "embed": "embedding", "write": "writing the index"}
PLACEHOLDER = "e.g. list the CSV files in a folder, parse their rows, shuffle and batch them"
Home = Path | None


@dataclass(frozen=True)
class ChatTab:
    library: Any
    version: Any


@dataclass(frozen=True)
class IndexesTab:
    outputs: list[Any]  # what `updates` refreshes, in its order
    embedder: Any  # the embedder box of the build form
    updates: Callable[[str | None], tuple[Any, ...]]


@dataclass(frozen=True)
class SettingsTab:
    outputs: list[Any]  # what `form` fills, in its order
    form: Callable[[], tuple[Any, ...]]


@dataclass(frozen=True)
class ResultsTab:
    outputs: list[Any]
    show: Callable[[], tuple[Any, ...]]


def chat_tab(gr: Any, home: Home, config: Path, default_library: str) -> ChatTab:
    libraries, chosen = library_choices(home, default_library)
    versions, version_value = version_choices(home, chosen)
    with gr.Row():
        library = gr.Dropdown(
            libraries,
            value=chosen or None,
            label="Library",
            scale=2,
            interactive=True,
            elem_id="library",
        )
        version = gr.Dropdown(
            versions, value=version_value or None, label="Version", scale=1, elem_id="version"
        )
        new_chat = gr.Button("New request", scale=0, elem_id="new-request")
    chatbot = gr.Chatbot(
        label="apipilot",
        elem_id="chat",
        height="70vh",
        buttons=["copy"],
        feedback_options=None,
        placeholder="Say what you want to do; follow-ups refine the same request.",
    )
    with gr.Row():
        message = gr.Textbox(
            show_label=False,
            placeholder=PLACEHOLDER,
            scale=6,
            lines=1,
            max_lines=4,
            elem_id="message",
        )
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
    status = gr.Markdown(elem_id="chat-status")
    with gr.Row():
        code = gr.Code(label="Code", language="python", interactive=False, scale=3, elem_id="code")
        names = gr.Textbox(
            label="API names",
            lines=8,
            interactive=False,
            buttons=["copy"],
            scale=2,
            elem_id="api-names",
        )
    conversation = gr.State(Conversation())

    def respond(
        text: str,
        history: list[dict[str, Any]] | None,
        lib: str | None,
        ver: str | None,
        conv: Conversation,
    ) -> Iterator[tuple[Any, ...]]:
        current, _ = current_settings(config)
        turns = [*(history or []), {"role": "user", "content": text}]
        for view, conv_after in chat_stream(home, current, text, lib, ver, conv):
            reply = {"role": "assistant", "content": view.reply}
            kept = text if view.error else ""
            shown_code = view.code if view.done else gr.update()
            shown_names = view.names if view.done else gr.update()
            note = f"⚠️ {view.error}" if view.error else ""
            yield [*turns, reply], kept, note, shown_code, shown_names, conv_after

    chat_outputs = [chatbot, message, status, code, names, conversation]
    chat_inputs = [message, chatbot, library, version, conversation]
    # Gradio runs one event of a listener at a time unless told otherwise; chats of different
    # sessions may run together: their LM calls share one model and queue (agents.lm.shared).
    chat_queue = {"concurrency_limit": CHAT_CONCURRENCY, "concurrency_id": "chat"}
    message.submit(respond, chat_inputs, chat_outputs, **chat_queue)
    send.click(respond, chat_inputs, chat_outputs, **chat_queue)
    new_chat.click(lambda: ([], "", "", "", "", Conversation()), None, chat_outputs)

    def pick_library(lib: str | None) -> Any:
        versions, chosen = version_choices(home, lib)
        return gr.update(choices=versions, value=chosen or None)

    library.change(pick_library, library, version)
    return ChatTab(library, version)


def indexes_tab(
    gr: Any,
    home: Home,
    settings: Settings,
    chat: ChatTab,
    default_library: str,
    policy: apipilot.SourcePolicy,
) -> IndexesTab:
    summary = gr.Markdown(index_summary(home))
    table = gr.Dataframe(
        value=index_rows(home), headers=COLUMNS, interactive=False, wrap=True, elem_id="index-table"
    )
    refresh = gr.Button("Refresh", elem_id="refresh-indexes")
    gr.Markdown("### Build an index")
    with gr.Row():
        source = gr.Textbox(
            label="Sources (one a line, read into one library@version)",
            placeholder="installed package name or pkg:NAME, sdist:NAME, path, Sphinx URL or "
            "corpus:NAME@VERSION",
            lines=3,
            scale=3,
            elem_id="source",
        )
        upload = gr.File(
            label="…or upload a JSONL or Markdown file",
            file_types=UPLOAD_TYPES,
            type="filepath",
            scale=2,
            elem_id="upload",
        )
    with gr.Row():
        build_library = gr.Textbox(
            label="Library", placeholder="needed for a file", elem_id="build-library"
        )
        build_version = gr.Textbox(
            label="Version", placeholder="detected when possible", elem_id="build-version"
        )
        embedder = gr.Textbox(label="Embedder", value=settings.embedder, elem_id="build-embedder")
        skip_bad = gr.Checkbox(label="Skip malformed items", value=False)
    build = gr.Button("Build index", variant="primary", elem_id="build")
    build_status = gr.Markdown(elem_id="build-status")
    gr.Markdown("### Remove an index")
    refs = index_refs(home)
    with gr.Row():
        remove_ref = gr.Dropdown(
            refs, value=refs[0] if refs else None, label="Index", scale=3, elem_id="remove-ref"
        )
        remove = gr.Button("Remove…", variant="stop", scale=1, elem_id="remove")
    with gr.Row(visible=False) as confirm_row:
        confirm_text = gr.Markdown()
        confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove")
        cancel = gr.Button("Cancel")
    remove_status = gr.Markdown(elem_id="remove-status")

    def updates(current: str | None) -> tuple[Any, ...]:
        """The table, summary and remove choices, and the chat's library and version."""
        refs = index_refs(home)
        libraries, chosen = library_choices(home, current or default_library)
        versions, version = version_choices(home, chosen)
        return (
            index_rows(home),
            index_summary(home),
            gr.update(choices=refs, value=refs[0] if refs else None),
            gr.update(choices=libraries, value=chosen or None),
            gr.update(choices=versions, value=version or None),
        )

    outputs = [table, summary, remove_ref, chat.library, chat.version]
    refresh.click(updates, chat.library, outputs)

    def on_build(
        src: str,
        file: str | None,
        lib: str,
        ver: str,
        emb: str,
        skip: bool,
        current: str | None,
        progress: Any = gr.Progress(),  # noqa: B008 (Gradio's injection idiom)
    ) -> tuple[Any, ...]:
        progress(0, desc=BUILD_PHASES["read"])

        def report(phase: str, done: int, total: int) -> None:
            label = BUILD_PHASES.get(phase, phase)
            progress((done, total) if total else None, desc=label, unit="records")

        built, note = try_build(
            home, src, file, lib, ver, emb, skip_bad=skip, phases=report, policy=policy
        )
        cleared = (gr.update(value=""), gr.update(value=None)) if built else (src, file)
        return (note, *cleared, *updates(current))

    build.click(
        on_build,
        [source, upload, build_library, build_version, embedder, skip_bad, chat.library],
        [build_status, source, upload, *outputs],
    )

    def ask_remove(ref: str | None) -> tuple[Any, Any, str]:
        if not ref:
            return gr.update(visible=False), "", "⚠️ Choose an index to remove."
        return gr.update(visible=True), f"Remove `{ref}`? Its files are deleted.", ""

    remove.click(ask_remove, remove_ref, [confirm_row, confirm_text, remove_status])
    cancel.click(lambda: gr.update(visible=False), None, confirm_row)

    def on_remove(ref: str | None, current: str | None) -> tuple[Any, ...]:
        _, note = remove_index(home, ref)
        return (gr.update(visible=False), note, *updates(current))

    confirm.click(on_remove, [remove_ref, chat.library], [confirm_row, remove_status, *outputs])
    return IndexesTab(outputs, embedder, updates)


def settings_tab(
    gr: Any, config: Path, settings: Settings, warning: str, build_embedder: Any
) -> SettingsTab:
    kind, target = split_lm_spec(settings.llm)
    gr.Markdown(f"Saved in `{config}`. Requests use the saved settings.")
    note = gr.Markdown(warning)
    lm_kind = gr.Radio(LM_CHOICES, value=kind, label="Language model")
    lm_target = gr.Textbox(value=target, label="Model path or server URL", info=LM_TARGET_HINT)
    k = gr.Slider(*K_RANGE, value=settings.k, step=1, label="APIs in an answer (k)")
    with gr.Row():
        rerank = gr.Checkbox(value=settings.rerank, label="Rerank candidates with the LM")
        write_code = gr.Checkbox(value=settings.write_code, label="Write code")
    embedder = gr.Textbox(
        value=settings.embedder,
        label="Embedder for new indexes",
        info="minilm (shipped), hashing[:DIM] or a sentence-transformers model directory",
    )
    save = gr.Button("Save settings", variant="primary", elem_id="save-settings")
    save_status = gr.Markdown(elem_id="settings-status")

    def on_save(
        kind: str, target: str, top: float, rr: bool, wc: bool, emb: str
    ) -> tuple[str, Any]:
        saved, message = save_form(config, kind, target, top, rr, wc, emb)
        return message, gr.update(value=saved.embedder) if saved else gr.update()

    save.click(
        on_save,
        [lm_kind, lm_target, k, rerank, write_code, embedder],
        [save_status, build_embedder],
    )

    def form() -> tuple[Any, ...]:
        """The saved settings (or the defaults and why), for the form and the build box."""
        saved, problem = current_settings(config)
        kind, target = split_lm_spec(saved.llm)
        return (
            problem,
            kind,
            target,
            saved.k,
            saved.rerank,
            saved.write_code,
            saved.embedder,
            saved.embedder,
        )

    outputs = [note, lm_kind, lm_target, k, rerank, write_code, embedder, build_embedder]
    return SettingsTab(outputs, form)


def results_tab(gr: Any, results_at: Path) -> ResultsTab:
    first = load_results(results_at)
    text = gr.Markdown(first.markdown)
    plot = gr.Image(
        value=str(first.plot) if first.plot else None,
        label="Recall@5",
        type="filepath",
        visible=first.plot is not None,
        interactive=False,
    )
    refresh = gr.Button("Refresh", elem_id="refresh-results")

    def show() -> tuple[Any, ...]:
        found = load_results(results_at)
        shown = str(found.plot) if found.plot else None
        return found.markdown, gr.update(value=shown, visible=shown is not None)

    refresh.click(show, None, [text, plot])
    return ResultsTab([text, plot], show)
