"""The gunicorn worker: gthread, with each request read in the event loop before it takes a thread.

gunicorn's threaded worker hands a connection to a thread as soon as its first byte arrives, and the
thread then blocks reading the rest: twenty clients sending headers at one byte a second hold twenty
threads. Here the worker's event loop reads the request head, and a body announced by Content-Length
(or a chunked body, up to its last chunk), without blocking, and only a complete request is handed
to a thread. A slow client costs a socket and a buffer, never a thread, and is closed with 408 when
it passes its deadline: `request_header_timeout` seconds for the head, then `request_body_timeout`
for the body. Whatever a thread still reads from the socket (a body larger than the body limit, which
the app refuses with 413) is bounded by the same deadline.

A complete request whose exact head was answered before, while the store is unchanged, is answered
by the event loop itself from response_cache.py (no thread, no Flask); its access-log line is the same.
"""

from __future__ import annotations

import errno
import re
import selectors
import time
from functools import partial

from gunicorn import SERVER
from gunicorn.workers.gthread import TConn, ThreadWorker

from .response_cache import ResponseCache, cacheable_head

HEAD_LIMIT = 64 * 1024           # gunicorn refuses larger heads (8190-byte lines, 100 fields) with a 400
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.IGNORECASE | re.MULTILINE)
_EXPECT = re.compile(rb"^expect[ \t]*:[ \t]*100-continue", re.IGNORECASE | re.MULTILINE)
_TIMEOUT_ANSWER = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                   b"Content-Length: 57\r\n\r\nThe request was not received in time; the server closed.\n")


class _Reading:
    """What the event loop knows about a request it is still receiving."""

    def __init__(self, header_deadline: float):
        self.data = bytearray()
        self.deadline = header_deadline
        self.head_end: int | None = None     # offset just past the blank line ending the head
        self.wanted: int | None = None       # total bytes (head + body) that make the request complete
        self.chunked = False


class _Deadline:
    """A socket whose reads all end by `deadline` (TimeoutError after it); everything else is the socket's."""

    def __init__(self, sock, deadline: float):
        self._sock, self._deadline = sock, deadline

    def recv(self, size: int) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not received in time")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size)
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Worker(ThreadWorker):
    """gthread worker that buffers each request in its event loop, under deadlines (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        entente = self.app.settings
        self.header_timeout = entente.request_header_timeout
        self.body_timeout = entente.request_body_timeout
        self.body_limit = entente.max_body_bytes
        self.reading: dict[TConn, _Reading] = {}
        self.answers: ResponseCache | None = None
        self.store = None

    def load_wsgi(self):
        """The application, wrapped so that its answers to cacheable GETs are kept for the event loop."""
        super().load_wsgi()
        self.store = store = self.wsgi.extensions["entente.store"]
        stamp = getattr(store, "version_stamp", None)          # the embedded store has one; a remote one not
        size = self.app.settings.answer_cache_mb * 2**20 if stamp is not None else 0
        self.answers = ResponseCache(size, stamp, SERVER)
        self.wsgi.extensions["entente.responses"] = self.answers      # /health/cache reports its figures
        self.wsgi = self.answers.wrap(self.wsgi)

    # --- connections arrive (new, or kept alive and readable again) ------------------------------
    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())   # non-blocking
        self._start_reading(conn)

    def on_client_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        conn.sock.setblocking(False)
        self._start_reading(conn)
        self._on_readable(conn, client)

    def on_pending_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self._start_reading(conn)
        self._on_readable(conn, client)

    def _start_reading(self, conn) -> None:
        self.reading[conn] = _Reading(time.monotonic() + self.header_timeout)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    # --- reading in the event loop ---------------------------------------------------------------
    def _on_readable(self, conn, _sock) -> None:
        state = self.reading.get(conn)
        if state is None:
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:                                   # the client went away before finishing
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()
            return
        state.data += data
        if self._complete(conn, state):
            self._forget(conn)
            if state.head_end == len(state.data) and self._answer_from_cache(conn, bytes(state.data)):
                return
            conn.prebuffered = bytes(state.data)
            conn.read_deadline = state.deadline
            conn.data_ready = True
            self.enqueue_req(conn)

    def _complete(self, conn, state: _Reading) -> bool:
        """True once the request can be handed to a thread without it waiting on the client."""
        data = state.data
        if state.head_end is None:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                return len(data) > HEAD_LIMIT           # gunicorn answers an oversized head with 400
            state.head_end = end + 4
            head = bytes(data[:state.head_end])
            state.deadline = time.monotonic() + self.body_timeout
            length = _CONTENT_LENGTH.search(head)
            state.chunked = bool(_CHUNKED.search(head))
            if length and not state.chunked:
                size = int(length.group(1))
                if size > self.body_limit:               # refused with 413 without being read
                    return True
                state.wanted = state.head_end + size
            elif not state.chunked:
                return True                              # no body
            if _EXPECT.search(head):
                # the client waits for this before it sends the body (gunicorn's own later one is harmless)
                try:
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                except OSError:
                    pass
        if state.chunked:
            return data.endswith(b"0\r\n\r\n") or len(data) - state.head_end > self.body_limit
        return len(data) >= state.wanted

    # --- answers sent again by the event loop (response_cache.py) ----------------------------------
    def _answer_from_cache(self, conn, head: bytes) -> bool:
        """Send a kept answer for this head and wait for the connection's next request; False: not kept
        (the head is then marked for keeping when a thread answers it)."""
        conn.replay_head = None
        if self.answers is None or not cacheable_head(head):
            return False
        if not self.alive or not self.cfg.keepalive or len(self.keepalived_conns) >= self.max_keepalived:
            return False                      # the normal path closes such connections after answering
        found = self.answers.answer(head)
        if found is None:
            conn.replay_head = head
            return False
        message, log_rest = found
        self.nr += 1
        if self.nr >= self.max_requests:
            self.alive = False
        try:
            sent = conn.sock.send(message)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.nr_conns -= 1
            conn.close()
            return True
        self._log_access(conn, log_rest)
        if sent < len(message):               # the socket buffer is full: a thread sends the rest
            fs = self.tpool.submit(self._send_rest, conn, message[sent:])
            fs.add_done_callback(lambda fut: self.method_queue.defer(self._after_answer, conn, fut.result))
        else:
            self._after_answer(conn, lambda: True)
        return True

    def _send_rest(self, conn, rest: bytes) -> bool:
        try:
            conn.sock.settimeout(self.body_timeout)
            conn.sock.sendall(rest)
            return True
        except OSError:
            return False

    def _after_answer(self, conn, sent) -> None:
        """As gunicorn's finish_request: back to waiting for the next request, or closed."""
        try:
            ok = sent()
        except Exception:                     # noqa: BLE001 — the send failed: close
            ok = False
        if not ok or not self.alive:
            self.nr_conns -= 1
            conn.close()
            return
        conn.sock.setblocking(False)
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def _log_access(self, conn, log_rest: str) -> None:
        if not self.log.access_log_enabled:
            return
        client = conn.client[0] if isinstance(conn.client, tuple) else "-"
        self.log.access_log.info(f"{client} - - {time.strftime('[%d/%b/%Y:%H:%M:%S %z]')} {log_rest}")

    def _forget(self, conn) -> None:
        self.reading.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def murder_keepalived(self, force=False):
        """Also close the connections whose request did not arrive by its deadline (408), and stop the
        store's long-idle query processes (called about once a second by the event loop)."""
        super().murder_keepalived(force)
        stop_idle = getattr(self.store, "stop_idle_query_processes", None)     # the embedded store's
        if stop_idle is not None:
            try:
                stop_idle()
            except Exception:                  # noqa: BLE001 — never let housekeeping stop the event loop
                self.log.exception("stopping idle query processes failed")
        now = time.monotonic()
        for conn, state in list(self.reading.items()):
            if force or now >= state.deadline:
                self._forget(conn)
                self.nr_conns -= 1
                try:
                    conn.sock.send(_TIMEOUT_ANSWER)
                except OSError:
                    pass
                conn.close()

    # --- in the thread ---------------------------------------------------------------------------
    def handle(self, conn):
        if self.answers is not None:
            self.answers.for_this_thread(getattr(conn, "replay_head", None))
            conn.replay_head = None
        prebuffered = getattr(conn, "prebuffered", None)
        if prebuffered is not None:
            conn.prebuffered = None
            conn.sock.setblocking(True)
            conn.init()
            if conn.parser is not None and not conn.is_http2:
                conn.parser.unreader.unread(prebuffered)
                conn.parser.unreader.sock = _Deadline(conn.sock, conn.read_deadline)
        elif conn.parser is not None and isinstance(conn.parser.unreader.sock, _Deadline):
            # a pipelined request already partly read ahead: a fresh deadline for the rest of it
            conn.parser.unreader.sock = _Deadline(conn.sock, time.monotonic() + self.header_timeout
                                                  + self.body_timeout)
        return super().handle(conn)


__all__ = ["Worker"]
