"""Fetch the files of a documentation site, from a local folder or over HTTP.

A fetcher is a callable from a path relative to the site root (``objects.inv``,
``api/core.html``) to the file's bytes; it raises :class:`FetchError` with a reason when the
file cannot be had. Paths outside the site (``../``, another host) are refused.
"""

from __future__ import annotations

import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from urllib.parse import unquote, urljoin

import httpx

from apipilot.indexes.errors import SourceError

Fetcher = Callable[[str], bytes]
MAX_FILE_BYTES = 20_000_000
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(SourceError):
    """One file of a documentation site could not be fetched."""


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


class HttpFetcher:
    """Files of a site served over HTTP(S), with a timeout and retries with backoff.

    A connection error, a timeout or a status in ``RETRY_STATUS`` is retried ``retries``
    times, waiting ``backoff * 2**attempt`` seconds; any other non-200 status fails at once.
    The client is safe to share between the threads of :func:`fetch_all`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_bytes: int = MAX_FILE_BYTES,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)
        self.sleep = sleep

    def __call__(self, relative: str) -> bytes:
        url = urljoin(self.base_url, relative)
        if not url.startswith(self.base_url):
            raise FetchError(f"{relative}: outside the site {self.base_url}")
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self._get(url)
            except _Retryable as exc:
                reason = str(exc)
        raise FetchError(f"{url}: {reason} (after {self.retries + 1} tries)")

    def _get(self, url: str) -> bytes:
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    message = f"HTTP {response.status_code}"
                    if response.status_code in RETRY_STATUS:
                        raise _Retryable(message)
                    raise FetchError(f"{url}: {message}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"{url}: over the {self.max_bytes} byte limit")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TransportError as exc:  # connection errors and timeouts
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.client.close()


class _Retryable(Exception):
    """A failure worth another try."""


def fetch_iter(
    fetcher: Fetcher, paths: Iterable[str], *, workers: int = 4
) -> Iterator[tuple[str, bytes | FetchError]]:
    """Fetch each distinct path once, at most ``workers`` at a time, yielding in order.

    At most ``2 * workers`` files are fetched ahead of the consumer, so memory stays bounded
    however many pages a site has. A failure is yielded as its :class:`FetchError`.
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
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque((p, pool.submit(one, p)) for p in islice(remaining, 2 * workers))
        while pending:
            path, future = pending.popleft()
            following = next(remaining, None)
            if following is not None:
                pending.append((following, pool.submit(one, following)))
            yield path, future.result()
