"""apipilot's Python API: which APIs of a library to use for what you want to do.

Every function returns plain data (dicts and lists of str, int, float, bool, None) that
``json.dumps`` accepts. Importing this package loads no model and no index::

    import apipilot

    apipilot.list_libraries()
    apipilot.search("torchdata", "shuffle the elements of a datapipe", k=5)
    apipilot.get_api("torchdata", "Shuffler")
    apipilot.recommend("read CSV files from a folder, shuffle and batch the rows", llm="none")
    apipilot.build_index("my_api.jsonl", library="mylib", version="1.2")

``home`` is the index directory (default ``$APIPILOT_HOME``, else the user cache). Errors are
subclasses of :class:`ApipilotError` with a message that names the bad value and what is valid
(an unknown library raises :class:`IndexNotFound` naming the known ones).
"""

from __future__ import annotations

from apipilot._api import (
    ApiNotFound,
    build_index,
    get_api,
    list_libraries,
    recommend,
    search,
)
from apipilot.indexes.errors import IndexNotFound
from apipilot.indexes.store import apipilot_version as _apipilot_version
from apipilot.retrieval.errors import ApipilotError, ConfigError

__version__ = _apipilot_version()

__all__ = [
    "ApiNotFound",
    "ApipilotError",
    "ConfigError",
    "IndexNotFound",
    "__version__",
    "build_index",
    "get_api",
    "list_libraries",
    "recommend",
    "search",
]
