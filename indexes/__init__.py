"""API records, documentation readers and the on-disk index store."""

from __future__ import annotations
