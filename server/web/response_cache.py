"""Whole HTTP answers kept per worker and sent again from its event loop, without a thread or Flask.

Why: most GETs are asked again byte for byte (wrk, clients polling, the same page opened twice), and
for a small answer Entente's own request path (gunicorn's parser, a thread hop, Flask, the header hook,
the log) costs several times what the engine does. An answer kept here is sent by the worker's event
loop as soon as the same request head arrives again, while the store is unchanged.

What is kept (both sides must hold, so a kept answer is what the application would answer again):
- the request: one GET over HTTP/1.1 with no body, and none of the headers that make an answer
  personal, conditional or proxy-dependent (Authorization, Cookie, If-*, Range, Forwarded,
  X-Forwarded-*, Connection: close/upgrade). The key is the request head byte for byte, so Host,
  Accept and Accept-Encoding are in it;
- the answer: 200 with an ETag (the header hook gives one only to answers that depend on the data
  version, the code and the format), or a 303 with a Location (urls.see_other: the Cool-URI
  redirects); Cache-Control public without no-store/private, no Set-Cookie, a Content-Length, and at
  most an eighth of the cache.
An entry also holds the store's version stamp read before the application ran: it is sent only while
the store still has that stamp, so a write (by any worker or process) retires every entry at once.
Timeouts, limits and refusals are untouched: only answers the application gave are ever sent again.

Threads that run the same head at the same stamp at once share one run (the first; the others wait for
it, at most WAIT seconds): after a write every client's next page misses together, and a dozen threads
rendering the same article page held the worker's GIL for seconds while the event loop waited with
answers it could send (benchmarks/mixed.py). An answer that is not kept is not shared: its waiters run
the request themselves.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from email.utils import formatdate

_UNSAFE_HEADER = re.compile(
    rb"^(?:authorization|cookie|if-[a-z-]+|range|forwarded|x-forwarded-[a-z-]*|content-length|transfer-encoding"
    rb"|expect|upgrade|http2-settings|connection[ \t]*:[^\r\n]*(?:close|upgrade))[ \t]*:?",
    re.IGNORECASE | re.MULTILINE)
_OVERHEAD = 300      # bytes counted for an entry besides its head and answer
WAIT = 10.0          # seconds a thread waits for another running the same request; then it runs it itself


def cacheable_head(head: bytes) -> bool:
    """True for a bodyless GET over HTTP/1.1 that carries nothing personal or conditional (see above)."""
    line_end = head.find(b"\r\n")
    return (head.startswith(b"GET ") and head[:line_end].endswith(b" HTTP/1.1")
            and _UNSAFE_HEADER.search(head, line_end) is None)


class _Entry:
    __slots__ = ("stamp", "status_line", "head_lines", "body", "log_rest", "size")

    def __init__(self, stamp, status_line: bytes, head_lines: bytes, body: bytes, log_rest: str, size: int):
        self.stamp, self.status_line, self.head_lines, self.body = stamp, status_line, head_lines, body
        self.log_rest, self.size = log_rest, size


class _Run:
    """One thread running a request that others may be waiting for: its answer once kept, or None."""
    __slots__ = ("done", "answer")

    def __init__(self):
        self.done, self.answer = threading.Event(), None


class ResponseCache:
    """Bounded in bytes, least recently used out first; shared by the event loop and the threads."""

    def __init__(self, max_bytes: int, stamp, server_name: str = "gunicorn"):
        """`stamp()`: the store's current version stamp, cheap (a stat), or None when it has none."""
        self.max_bytes = max(0, int(max_bytes))
        self._stamp = stamp
        self._server = server_name
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._running: dict[tuple, _Run] = {}          # (head, stamp) -> the run other threads may wait for
        self._date_second = -1
        self._date = b""
        self.hits = self.stores = 0

    def figures(self) -> dict:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "stores": self.stores}

    # --- the event loop ----------------------------------------------------------------------------
    def answer(self, head: bytes) -> tuple[bytes, str] | None:
        """(the whole HTTP answer, the access-log tail) for a head seen before, while the store is unchanged."""
        if not self.max_bytes:
            return None
        with self._lock:
            entry = self._entries.get(head)
            if entry is None:
                return None
            if entry.stamp != self._stamp():
                del self._entries[head]
                self._bytes -= entry.size
                return None
            self._entries.move_to_end(head)
            self.hits += 1
        return (entry.status_line + b"Server: " + self._server.encode() + b"\r\nDate: " + self._http_date()
                + b"\r\nConnection: keep-alive\r\n" + entry.head_lines + b"\r\n" + entry.body), entry.log_rest

    def _http_date(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date, self._date_second = formatdate(now, usegmt=True).encode(), now
        return self._date

    # --- the threads: a WSGI middleware that keeps eligible answers ----------------------------------
    def for_this_thread(self, head: bytes | None) -> None:
        """The worker names the head of the request this thread is about to run (None: not cacheable)."""
        self._local.head = head if self.max_bytes else None

    def wrap(self, app):
        def keeping(environ, start_response):
            head = getattr(self._local, "head", None)
            self._local.head = None
            if head is None:
                return app(environ, start_response)
            stamp = self._stamp()            # before the application reads the store (module docstring)
            if stamp is None:
                return app(environ, start_response)
            with self._lock:
                run = self._running.get((head, stamp))
                first = run is None
                if first:
                    run = self._running[(head, stamp)] = _Run()
            if not first:
                if run.done.wait(WAIT) and run.answer is not None:
                    status, headers, data = run.answer
                    start_response(status, list(headers))
                    return [data]
                return app(environ, start_response)
            try:
                return keep(environ, start_response, head, stamp, run)
            finally:
                with self._lock:
                    self._running.pop((head, stamp), None)
                run.done.set()

        def keep(environ, start_response, head, stamp, run):
            seen = {}

            def start(status, headers, exc_info=None):
                seen["status"], seen["headers"] = status, headers
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            body = app(environ, start)
            headers = seen.get("headers")
            if headers is None or not self._keepable(seen["status"], headers):
                return body
            try:
                data = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
            if self._put(head, stamp, seen["status"], headers, data, environ):
                run.answer = (seen["status"], headers, data)
            return [data]

        return keeping

    def _keepable(self, status: str, headers) -> bool:
        names = {k.lower(): v for k, v in headers}
        control = names.get("cache-control", "")
        length = names.get("content-length")
        versioned = (status.startswith("200 ") and "etag" in names) or (status.startswith("303 ") and "location" in names)
        return (versioned and "public" in control
                and "no-store" not in control and "private" not in control and "set-cookie" not in names
                and length is not None and length.isdigit() and int(length) <= self.max_bytes // 8)

    def _put(self, head: bytes, stamp, status: str, headers, data: bytes, environ) -> bool:
        if len(data) != int(dict((k.lower(), v) for k, v in headers)["content-length"]):
            return False                                     # the body is not what the headers said: keep nothing
        head_lines = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("latin-1")
        log_rest = (f'"GET {environ.get("RAW_URI", "")} HTTP/1.1" {status[:3]} {len(data)} '
                    f'"{environ.get("HTTP_REFERER", "-")}" "{environ.get("HTTP_USER_AGENT", "-")}"')
        entry = _Entry(stamp, f"HTTP/1.1 {status}\r\n".encode("latin-1"), head_lines, data, log_rest,
                       len(head) + len(head_lines) + len(data) + _OVERHEAD)
        with self._lock:
            old = self._entries.pop(head, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[head] = entry
            self._bytes += entry.size
            self.stores += 1
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size
        return True
