"""Retrieval core: embedders, FAISS and BM25 search, rank fusion.

Nothing here loads a model or an index at import time.
"""

from __future__ import annotations
