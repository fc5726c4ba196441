"""Read-side results kept while the audit chain stands still.

Every change to what the fund counts (a transition, an edit, an upload, a registry change) appends an
audit event, and the event moves the chain's head in the same transaction (DESIGN §4). A result
computed from the database at head (id, hash) therefore holds exactly as long as the head stays
there: the cache is never stale, and needs no invalidation of its own. A restored backup has another
head, so its results are its own too.

A result is kept only when the head was the same before and after it was computed. On PostgreSQL
each statement reads its own snapshot, so a change committed in between may show in part of the
result; such a result is returned, as the reader would have read it anyway, but not kept.

Each app keeps its own cache (one per process): a test's fresh database never meets another's
results. Results are shared between readers, so callers must not change what they are given.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import current_app
from sqlalchemy import select

from .. import audit, db
from ..models import ChainHead

MAX_ENTRIES = 256  # the fund's figures and each body's (the fund has a few hundred bodies at most), a few KB each
_HEAD = select(ChainHead.event_id, ChainHead.hash).where(ChainHead.id == audit.HEAD_ID)


class ChainCache:
    """Results keyed by the chain's head and a key of the caller's, the least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """The result of `compute()` for `key` at the chain's current head: kept, or computed once.

        Readers missing the same entry at once wait for one computation rather than each running it.
        """
        head = _head()
        full = (head, *key)
        found = self._kept(full)
        if found is not _MISSING:
            return found
        with self._lock:
            computing = self._computing.setdefault(full, threading.Lock())
        try:
            with computing:
                found = self._kept(full)
                if found is not _MISSING:
                    return found
                result = compute()
                if _head() == head:
                    self._keep(full, result)
                return result
        finally:
            with self._lock:
                self._computing.pop(full, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _kept(self, full: tuple) -> Any:
        with self._lock:
            if full not in self._entries:
                return _MISSING
            self._entries.move_to_end(full)
            return self._entries[full]

    def _keep(self, full: tuple, result: Any) -> None:
        with self._lock:
            self._entries[full] = result
            self._entries.move_to_end(full)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


_MISSING = object()


def _head() -> tuple[int, str] | None:
    """The head as the database holds it now: read with a statement, never from the session's identity map."""
    row = db.session().execute(_HEAD).one_or_none()
    return (row.event_id, row.hash) if row is not None else None


def kept(key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
    """`compute()` for `key` through this app's cache."""
    cache = current_app.extensions.get("fundflow.chain_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("fundflow.chain_cache", ChainCache())
    return cache.get(key, compute)
