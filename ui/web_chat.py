"""The chat: run the agent for a requirement and render its answer as it streams.

Plain functions of an index home and settings, so tests drive them without a browser.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import apipilot
from apipilot import DEFAULT_LIBRARY, DEFAULT_VERSION, ApipilotError, ConfigError
from apipilot.ui.settings import Settings

log = logging.getLogger(__name__)

CANDIDATES_SHOWN = 5
SIGNATURE_CHARS = 90
SUMMARY_CHARS = 200
ALL_LIBRARIES = "(all libraries)"  # the chat's choice that answers from every library in scope
EXAMPLE_CHARS = 120
STEP_TITLES = {
    "skills": "Skills",
    "examples": "Examples",
    "decompose": "Subtasks",
    "retrieve": "Candidates",
    "rerank": "Rerank",
    "answer": "Answer",
    "code": "Code",
}


@dataclass(frozen=True)
class Conversation:
    """The request a follow-up refines: same library and version, requirement extended."""

    requirement: str = ""
    library: str = ""
    version: str = ""


@dataclass(frozen=True)
class ChatView:
    """What the page shows after one step of a request."""

    reply: str
    code: str = ""
    names: str = ""
    error: str = ""
    done: bool = False


@dataclass
class Transcript:
    """The steps seen so far of one request, rendered as Markdown."""

    requirement: str
    ref: str
    refined: bool = False
    skills: str = ""
    examples: list[dict[str, Any]] | None = None
    subtasks: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    ranking: list[str] = field(default_factory=list)  # the answer's APIs, before the code
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    def add(self, step: str, update: Mapping[str, Any]) -> None:
        if step == "result":
            self.result = dict(update)
            return
        self.paths.update(update.get("paths", {}))
        self.timings.update(update.get("timings", {}))
        if "skills" in update:
            self.skills = str(update["skills"])
        if "examples" in update:
            self.examples = list(update["examples"])
        if "subtasks" in update:
            self.subtasks = [str(s) for s in update["subtasks"]]
        for key, found in update.get("candidates", {}).items():
            self.candidates[key] = [short_name(c) for c in found[:CANDIDATES_SHOWN]]
        if "ranking" in update:
            self.ranking = [short_name(c) for c in update["ranking"]]

    def markdown(self) -> str:
        verb = "Refining" if self.refined else "Requirement"
        parts = [f"**{verb}** (`{self.ref}`): {_inline(self.requirement)}"]
        if self.skills:
            parts.append(f"**Skills** {self._path('skills')}: {_inline(self.skills)}")
        if self.examples is not None:
            parts.append(self._examples())
        if self.subtasks:
            lines = [f"{i}. {_inline(s)}" for i, s in enumerate(self.subtasks, start=1)]
            parts.append(f"**Subtasks** {self._path('decompose')}:\n\n" + "\n".join(lines))
        if self.candidates:
            parts.append(self._candidates())
        if self.result is None and self.ranking:
            names = ", ".join(f"`{n}`" for n in self.ranking)
            parts.append(f"**Recommended APIs**: {names}\n\n_writing code…_")
        elif self.result is None:
            parts.append("_working…_")
        else:
            parts.extend(render_answer(self.result))
        return "\n\n".join(parts)

    def _path(self, step: str) -> str:
        path = self.paths.get(step)
        return f"_({path})_" if path else ""

    def _examples(self) -> str:
        if not self.examples:
            return "**Examples chosen**: none (no example bank for this library)"
        lines = []
        for demo in self.examples:
            apis = ", ".join(f"`{a}`" for a in demo.get("apis", []))
            text = _clip(_inline(demo["requirement"]), EXAMPLE_CHARS)
            lines.append(f"- {text}" + (f" → {apis}" if apis else ""))
        return "**Examples chosen** (nearest by skills):\n\n" + "\n".join(lines)

    def _candidates(self) -> str:
        lines = []
        for i, subtask in enumerate(self.subtasks):
            if str(i) in self.candidates:
                names = ", ".join(f"`{n}`" for n in self.candidates[str(i)])
                lines.append(f"- **{i + 1}** {_inline(subtask)} → {names}")
        if "requirement" in self.candidates:
            names = ", ".join(f"`{n}`" for n in self.candidates["requirement"])
            lines.append(f"- whole requirement → {names}")
        return "**Candidates per subtask**:\n\n" + "\n".join(lines)


def render_answer(result: dict[str, Any]) -> list[str]:
    """The final APIs, code, unknown APIs and timings of an answer, as Markdown blocks."""
    parts = []
    if result["apis"]:
        items = [render_api(rank, api) for rank, api in enumerate(result["apis"], start=1)]
        parts.append(f"**Recommended APIs** {_path_note(result, 'rerank')}:\n\n" + "\n".join(items))
    else:
        parts.append("**No APIs found** for this requirement.")
    if result["code"]:
        parts.append(f"**Code** {_path_note(result, 'code')}:\n\n```python\n{result['code']}\n```")
    if result["unknown_apis"]:
        flagged = ", ".join(f"`{n}`" for n in result["unknown_apis"])
        parts.append(f"⚠️ **Not in the index** (check before use): {flagged}")
    if result.get("unsafe_calls"):
        unsafe = ", ".join(f"`{n}`" for n in result["unsafe_calls"])
        parts.append(f"⛔ **Unsafe calls**, generated code withheld: {unsafe}")
    parts.append(render_timings(result))
    if result["notes"]:
        parts.append("**Fell back because**:\n\n" + "\n".join(f"- {n}" for n in result["notes"]))
    return parts


def render_api(rank: int, api: dict[str, Any]) -> str:
    """One API as a list item: name, signature, score, then summary and source."""
    name = api["qualified_name"] or api["name"]
    signature = _code(api["signature"])
    if signature and not signature.startswith("("):
        signature = f"({signature})"
    signature = f" `{_clip(signature, SIGNATURE_CHARS)}`" if signature else ""
    where = f" `{api['library']}@{api['version']}`" if api.get("library") else ""
    head = f"{rank}. **`{_code(name)}`**{signature}{where} — score {api['score']:.3f}"
    summary = _clip(_inline(api["summary"]), SUMMARY_CHARS)
    source = f" <small>({_inline(api['source'])})</small>" if api["source"] else ""
    evidence = api.get("evidence")
    if evidence:  # the guide section or passage that matched, one short line
        title = _inline(evidence["title"])
        label = f"guide “{title}”" if evidence["kind"] == "guide" else "matched"
        text = _clip(_inline(evidence["text"]), SUMMARY_CHARS)
        source += f"  \n   <small>{label}: {text}</small>"
    return f"{head}  \n   {summary}{source}"


def render_timings(result: dict[str, Any]) -> str:
    timings: dict[str, float] = result["timings"]
    paths: dict[str, str] = result["paths"]
    steps = []
    for step in STEP_TITLES:
        if step in timings:
            path = paths.get(step)
            steps.append(f"{step} {timings[step]:.2f} s" + (f" ({path})" if path else ""))
    lm = lm_label(result["models"]["lm"])
    total = timings.get("total", 0.0)
    return (
        f"<small>Timings: {' · '.join(steps)} · **total {total:.2f} s** — "
        f"embedder {result['models']['embedder']}, LM {lm}</small>"
    )


def lm_label(info: Any) -> str:
    """``model (backend)`` from an LM's ``info()`` dict; "no LM" when there is none."""
    if not info:
        return "no LM"
    if isinstance(info, dict):
        model = info.get("model") or "unknown model"
        return f"{model} ({info['backend']})" if info.get("backend") else str(model)
    return str(info)


def _path_note(result: dict[str, Any], step: str) -> str:
    path = result["paths"].get(step)
    return f"_({path})_" if path else ""


def _inline(text: str) -> str:
    return " ".join(text.split())


def _code(text: str) -> str:
    return _inline(text).replace("`", "'")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def api_names(result: dict[str, Any]) -> str:
    """One qualified API name a line (for the copy button)."""
    return "\n".join(api["qualified_name"] or api["name"] for api in result["apis"])


def next_requirement(message: str, conversation: Conversation, library: str, version: str) -> str:
    """The requirement to run: a follow-up on the same library@version extends the last one."""
    text = " ".join(message.split())
    same = (conversation.library, conversation.version) == (library, version)
    if conversation.requirement and same and text:
        return f"{conversation.requirement.rstrip(' .;')}; {text}"
    return text


def chat_stream(
    home: Path | None,
    settings: Settings,
    message: str,
    library: str | None,
    version: str | None,
    conversation: Conversation,
) -> Iterator[tuple[ChatView, Conversation]]:
    """Run one request; yield the page's view after each step, errors as a view with ``error``.

    The conversation changes only when the request succeeds, so a failed follow-up can be
    retried on the same base.
    """
    transcript: Transcript | None = None
    try:
        if not library:
            raise ConfigError("choose a library first (build one in the Indexes tab)")
        options = apipilot.RecommendOptions(
            k=settings.k, write_code=settings.write_code, rerank=settings.rerank, llm=settings.llm
        )
        several = library == ALL_LIBRARIES
        events = apipilot.stream_recommend(
            next_requirement(message, conversation, library, version or ""),
            None if several else library,
            None if several else version or None,
            options=options,
            home=home,
            libraries=None if not several else libraries_in_scope(home),
        )
        for event in events:
            if isinstance(event, apipilot.Started):
                refined = event.requirement != " ".join(message.split())
                transcript = Transcript(event.requirement, event.ref, refined=refined)
            elif transcript is None:
                continue  # Started always comes first
            elif isinstance(event, apipilot.StepDone):
                transcript.add(event.step, event.update)
            else:
                transcript.result = event.recommendation.to_dict()
                continue
            yield ChatView(transcript.markdown()), conversation
    except ApipilotError as exc:
        yield _error(str(exc)), conversation
        return
    except Exception as exc:  # the page must survive anything a backend raises
        log.exception("chat request failed")
        yield _error(f"internal error ({type(exc).__name__}): {exc}"), conversation
        return
    if transcript is None or transcript.result is None:
        yield _error("the agent ended without an answer"), conversation
        return
    result = transcript.result
    done = replace(
        conversation, requirement=transcript.requirement, library=library, version=version or ""
    )
    view = ChatView(transcript.markdown(), result["code"], api_names(result), done=True)
    yield view, done


def _error(text: str) -> ChatView:
    return ChatView(f"⚠️ **Error:** {text}", error=text, done=True)


def libraries_in_scope(home: Path | None) -> list[str] | None:
    """What ``ALL_LIBRARIES`` searches: None (the indexed project around the app, at its
    versions) inside one, else every indexed library at its newest version."""
    if apipilot.project_libraries(home):
        return None
    return [lib.library for lib in apipilot.list_libraries(home)]


def short_name(candidate: Mapping[str, Any]) -> str:
    """A candidate's qualified name cut to its last two parts: the module tells same-named
    APIs apart (iter.Shuffler, map.Shuffler)."""
    name = str(candidate.get("qualified_name") or candidate.get("name") or candidate["id"])
    return ".".join(name.split(".")[-2:])


def library_choices(home: Path | None, preferred: str = DEFAULT_LIBRARY) -> tuple[list[str], str]:
    """Libraries with an index (then ``ALL_LIBRARIES`` when there are several), and the one to
    select (``preferred`` when built)."""
    libraries = [lib.library for lib in apipilot.list_libraries(home)]
    if len(libraries) > 1:
        libraries.append(ALL_LIBRARIES)
    if preferred in libraries:
        return libraries, preferred
    return libraries, libraries[0] if libraries else ""


def version_choices(home: Path | None, library: str | None) -> tuple[list[str], str]:
    """Built versions, newest first, and the one to select (torchdata: 0.7.1 when built)."""
    if not library or library == ALL_LIBRARIES:
        return [], ""
    try:
        found = [lib for lib in apipilot.list_libraries(home) if lib.library == library]
    except ApipilotError:
        return [], ""
    versions = list(reversed(found[0].version_names)) if found else []
    if library == DEFAULT_LIBRARY and DEFAULT_VERSION in versions:
        return versions, DEFAULT_VERSION
    return versions, versions[0] if versions else ""
