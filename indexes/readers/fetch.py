"""Fetch the files of a documentation site, from a local folder or over HTTP.

A fetcher is a callable from a path relative to the site root (``objects.inv``,
``api/core.html``) to the file's bytes; it raises :class:`FetchError` with a reason when the
file cannot be had. Paths outside the site (``../``, another host) are refused.

Over HTTP, retries follow tenacity (exponential backoff, ``Retry-After`` honoured up to a
cap), responses are cached on disk by hishel and revalidated with conditional GETs (an
unchanged page costs a 304), every file has a deadline on its total time, all tries
together, and a body is capped in size however the server sends it.
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from itertools import islice
from pathlib import Path
from urllib.parse import unquote, urljoin

import httpx
from hishel import CacheOptions, SqliteStorage
from hishel.httpx import CacheTransport
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.stop import stop_base

from apipilot.errors import DeadlinePassed as DeadlinePassed
from apipilot.errors import FetchError as FetchError
from apipilot.retrieval.errors import ConfigError

Fetcher = Callable[[str], bytes]
MAX_FILE_BYTES = 20_000_000
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
PAGE_DEADLINE_S = 120.0  # one file, all its tries together
SITE_DEADLINE_S = 900.0  # a whole remote site
PAGE_DEADLINE_ENV = "APIPILOT_PAGE_DEADLINE"
SITE_DEADLINE_ENV = "APIPILOT_REMOTE_DEADLINE"
MAX_RETRY_AFTER_S = 30.0
HTTP_CACHE_BYTES = 1024**3


class Deadline:
    """A time a piece of work must be done by, named for error messages."""

    def __init__(
        self, seconds: float, name: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.name = name
        self.clock = clock
        self.ends = clock() + seconds

    def remaining(self) -> float:
        return self.ends - self.clock()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0

    def __str__(self) -> str:
        return f"the {self.name} ({self.seconds:g} s)"


def deadline_seconds(value: float | None, env: str, default: float) -> float:
    """``value``, else the number of seconds in ``$env``, else ``default``."""
    if value is None:
        text = os.environ.get(env, "").strip()
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"${env}={text!r} is not a number of seconds") from None
    if not value > 0:
        raise ConfigError(f"a deadline must be a positive number of seconds, got {value!r}")
    return value


class LocalFetcher:
    """Files of a site built on disk (a Sphinx ``html`` output folder)."""

    def __init__(self, root: Path, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes

    def __call__(self, relative: str) -> bytes:
        try:
            path = (self.root / unquote(relative)).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, NUL in the name
            raise FetchError(f"{relative}: bad path ({exc})") from None
        if not path.is_relative_to(self.root):
            raise FetchError(f"{relative}: outside the site folder")
        if path.is_dir():  # the dirhtml builder links to folders
            path = path / "index.html"
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise FetchError(f"{relative}: not a regular file")
            size = info.st_size
            if size > self.max_bytes:
                raise FetchError(f"{relative}: {size} bytes, over the {self.max_bytes} limit")
            return path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{relative}: {exc.strerror or exc}") from None


def cached_client(cache_dir: Path, *, timeout: float = 10.0) -> httpx.Client:
    """An HTTP client whose responses are kept in ``cache_dir`` (hishel, RFC 9111 rules for a
    private cache, at most ``HTTP_CACHE_BYTES``)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    storage = SqliteStorage(database_path=cache_dir / "http.db", max_size=HTTP_CACHE_BYTES)
    transport = CacheTransport(
        next_transport=httpx.HTTPTransport(), storage=storage, rfc=CacheOptions(shared=False)
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=True)


class HttpFetcher:
    """Files of a site served over HTTP(S), with deadlines, retries and a cache.

    A connection error, a timeout or a status in ``RETRY_STATUS`` is retried ``retries``
    times, waiting ``backoff * 2**attempt`` seconds, or what the server's ``Retry-After``
    asks when that is longer, up to ``max_retry_after``; any other non-200 status fails at
    once. A file gets ``page_deadline`` seconds in all, tries and waits included, and never
    more than ``site_deadline`` has left; a server that trickles bytes is cut there. With
    ``cache_dir`` every GET is a conditional one against the cached copy. The client is safe
    to share between the threads of :func:`fetch_iter`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_bytes: int = MAX_FILE_BYTES,
        page_deadline: float = PAGE_DEADLINE_S,
        site_deadline: Deadline | None = None,
        max_retry_after: float = MAX_RETRY_AFTER_S,
        cache_dir: Path | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.page_deadline = page_deadline
        self.site_deadline = site_deadline
        self.max_retry_after = max_retry_after
        if client is None:
            client = (
                cached_client(cache_dir, timeout=timeout)
                if cache_dir is not None
                else httpx.Client(timeout=timeout, follow_redirects=True)
            )
        self.client = client
        self.revalidate = cache_dir is not None
        self.sleep = sleep
        self.clock = clock

    def __call__(self, relative: str) -> bytes:
        url = urljoin(self.base_url, relative)
        if not url.startswith(self.base_url):
            raise FetchError(f"{relative}: outside the site {self.base_url}")
        deadlines = [Deadline(self.page_deadline, "per-page deadline", self.clock)]
        if self.site_deadline is not None:
            deadlines.append(self.site_deadline)
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1) | _OutOfTime(deadlines),
            wait=_Backoff(self.backoff, self.max_retry_after),
            retry=retry_if_exception_type(_Retryable),
            sleep=self.sleep,
        )
        try:
            return retrying(self._get, url, deadlines)
        except RetryError as exc:
            last = exc.last_attempt
            tries = last.attempt_number
            why = f"after {tries} {'try' if tries == 1 else 'tries'}"
            if tries <= self.retries:
                why += f"; {_soonest(deadlines)} left no time for another"
            raise FetchError(f"{url}: {last.exception()} ({why})") from None

    def _get(self, url: str, deadlines: list[Deadline]) -> bytes:
        deadline = _soonest(deadlines)
        left = deadline.remaining()
        if left <= 0:
            raise DeadlinePassed(f"{url}: {deadline} passed")
        headers = {"Cache-Control": "no-cache"} if self.revalidate else {}
        try:
            with self.client.stream(
                "GET", url, headers=headers, timeout=min(self.timeout, left)
            ) as response:
                self._check_status(url, response)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"{url}: over the {self.max_bytes} byte cap on a file")
                    if deadline.passed:
                        raise DeadlinePassed(f"{url}: {deadline} passed after {size} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TransportError as exc:  # connection errors and timeouts
            if isinstance(exc, httpx.TimeoutException) and deadline.remaining() <= 0.05:
                raise DeadlinePassed(f"{url}: {deadline} passed") from None
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None

    def _check_status(self, url: str, response: httpx.Response) -> None:
        if response.status_code == 200:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(f"{url}: {length} bytes, over the {self.max_bytes} byte cap")
            return
        message = f"HTTP {response.status_code}"
        if response.status_code in RETRY_STATUS:
            raise _Retryable(message, _retry_after(response.headers.get("Retry-After")))
        raise FetchError(f"{url}: {message}")

    def close(self) -> None:
        self.client.close()


def remote_site_deadline(seconds: float | None = None) -> Deadline:
    """The overall deadline of reading a remote site: ``seconds``, else
    ``$APIPILOT_REMOTE_DEADLINE``, else ``SITE_DEADLINE_S``."""
    seconds = deadline_seconds(seconds, SITE_DEADLINE_ENV, SITE_DEADLINE_S)
    return Deadline(seconds, "overall deadline for a remote site")


def site_fetcher(
    base_url: str,
    *,
    page_deadline: float | None,
    site_deadline: Deadline | None,
    cache_dir: Path | None,
) -> HttpFetcher:
    """The default fetcher of a remote site: each file bounded by ``page_deadline`` (else
    ``$APIPILOT_PAGE_DEADLINE``, else ``PAGE_DEADLINE_S``), responses cached in ``cache_dir``
    (default ``.http-cache`` in the index home)."""
    if cache_dir is None:
        from apipilot.indexes.store import default_home  # the store pulls in the embedders

        cache_dir = default_home() / ".http-cache"
    return HttpFetcher(
        base_url,
        page_deadline=deadline_seconds(page_deadline, PAGE_DEADLINE_ENV, PAGE_DEADLINE_S),
        site_deadline=site_deadline,
        cache_dir=cache_dir,
    )


class _Retryable(Exception):
    """A failure worth another try, with the wait the server asked for, if it did."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _soonest(deadlines: list[Deadline]) -> Deadline:
    return min(deadlines, key=Deadline.remaining)


class _Backoff(wait_exponential):
    """Exponential backoff, or the server's ``Retry-After`` when longer (up to a cap)."""

    def __init__(self, backoff: float, cap: float) -> None:
        super().__init__(multiplier=backoff)
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = super().__call__(retry_state)
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        asked = getattr(failure, "retry_after", None)
        return wait if asked is None else max(wait, min(float(asked), self.cap))


class _OutOfTime(stop_base):
    """Stop retrying when the next wait would end past a deadline."""

    def __init__(self, deadlines: list[Deadline]) -> None:
        self.deadlines = deadlines

    def __call__(self, retry_state: RetryCallState) -> bool:
        return _soonest(self.deadlines).remaining() <= retry_state.upcoming_sleep


def fetch_iter(
    fetcher: Fetcher, paths: Iterable[str], *, workers: int = 4
) -> Iterator[tuple[str, bytes | FetchError]]:
    """Fetch each distinct path once, at most ``workers`` at a time, yielding in order.

    At most ``2 * workers`` files are fetched ahead of the consumer, so memory stays bounded
    however many pages a site has. A failure is yielded as its :class:`FetchError`. When the
    consumer stops early, the fetches not yet started are cancelled.
    """

    def one(path: str) -> bytes | FetchError:
        try:
            return fetcher(path)
        except FetchError as exc:
            return exc
        except Exception as exc:  # a caller's fetcher may raise anything; it fails one page
            return FetchError(f"{path}: {type(exc).__name__}: {exc}")

    workers = max(1, workers)
    remaining = iter(dict.fromkeys(paths))
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        pending: deque[tuple[str, Future[bytes | FetchError]]] = deque(
            (p, pool.submit(one, p)) for p in islice(remaining, 2 * workers)
        )
        while pending:
            path, future = pending.popleft()
            following = next(remaining, None)
            if following is not None:
                pending.append((following, pool.submit(one, following)))
            yield path, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
