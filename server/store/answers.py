"""A per-process cache of serialized query answers, keyed by (store version, query, dataset, formats).

Why: the same queries come back again and again (pages, the examples, clients polling), and an
answer from the cache skips the hop to the query process and the evaluation. Every write changes the
store version, and the cache empties itself the first time it sees a new version, so it never
answers from data older than what the store holds. Bounded in bytes (least recently used first out);
answers larger than an eighth of it are not kept. Queries whose answer may change without a write
(SERVICE, NOW(), RAND(), UUID(), STRUUID(), BNODE()) are never cached. Errors are never cached.
Thread-safe: a gthread worker's threads share one cache. `answer()` also lets threads that ask the
same thing at once wait for the one already computing it (after a write, every client's first query
misses together; without this each would run the same query), never longer than that one may take.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

_VOLATILE = re.compile(r"\bservice\b|\b(?:now|rand|uuid|struuid|bnode)\s*\(", re.IGNORECASE)


def cacheable(query: str) -> bool:
    """False when the answer could change without a write to the store (conservative: a word in a
    string literal also counts)."""
    return _VOLATILE.search(query) is None


class AnswerCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._version: str | None = None
        self._lock = threading.Lock()
        self._running: dict = {}            # (version, key) -> Event set when its computation ends
        self.hits = self.misses = 0

    def get(self, version: str, key) -> tuple[str, bytes] | None:
        if not self.max_bytes:
            return None
        with self._lock:
            self._see(version)
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def answer(self, version: str, key, compute, wait: float):
        """The kept answer, or the one a thread computing the same key gives within `wait` seconds, or
        compute()'s (kept). A failed or slow computation never fails the waiters: they compute themselves."""
        value = self.get(version, key)
        if value is not None or not self.max_bytes:
            return value if value is not None else compute()
        with self._lock:
            running = self._running.get((version, key))
            if running is None:
                self._running[(version, key)] = threading.Event()
        if running is not None:
            running.wait(wait)
            value = self.get(version, key)
            return value if value is not None else compute()
        try:
            value = compute()
            self.put(version, key, value)
            return value
        finally:
            with self._lock:
                self._running.pop((version, key)).set()

    def put(self, version: str, key, value: tuple[str, bytes]) -> None:
        size = len(value[1]) + len(key[0]) + 200
        if not self.max_bytes or size > self.max_bytes // 8:
            return
        with self._lock:
            self._see(version)
            if key in self._entries:
                return
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                old_key, old = self._entries.popitem(last=False)
                self._bytes -= len(old[1]) + len(old_key[0]) + 200

    def _see(self, version: str) -> None:
        """A new store version (another process or thread wrote): drop everything."""
        if version != self._version:
            self._entries.clear()
            self._bytes = 0
            self._version = version
