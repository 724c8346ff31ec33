"""Whole answers sent again by the worker's event loop (server/web/response_cache.py): only for requests
and answers that would be answered the same way again, never after a write, and as valid HTTP."""

from __future__ import annotations

import socket
import threading

import pytest
import requests
from conftest import MAINTAINER_TOKEN

from server.web.response_cache import ResponseCache, cacheable_head

PLAIN = b"GET /id/iran HTTP/1.1\r\nHost: example.org\r\nAccept: text/turtle\r\n\r\n"


def _head(*extra: str, line: str = "GET /id/iran HTTP/1.1") -> bytes:
    return (line + "\r\nHost: example.org\r\n" + "".join(h + "\r\n" for h in extra) + "\r\n").encode()


def test_a_plain_get_is_cacheable():
    assert cacheable_head(PLAIN)
    assert cacheable_head(_head("Accept-Encoding: gzip", "Connection: keep-alive", "User-Agent: x"))


@pytest.mark.parametrize("head", [
    _head(line="POST /sparql HTTP/1.1"), _head(line="HEAD /id/iran HTTP/1.1"), _head(line="GET /id/iran HTTP/1.0"),
    _head("Authorization: Bearer secret"), _head("cookie: a=b"), _head("If-None-Match: \"x\""),
    _head("If-Modified-Since: Sun, 06 Dec 2026 00:00:00 GMT"), _head("Range: bytes=0-10"),
    _head("X-Forwarded-Proto: https"), _head("Forwarded: proto=https"), _head("Connection: close"),
    _head("Connection: Upgrade", "Upgrade: h2c"), _head("Content-Length: 0"), _head("Transfer-Encoding: chunked"),
])
def test_personal_conditional_proxied_or_bodied_requests_are_never_cacheable(head):
    assert not cacheable_head(head)


def _app(status="200 OK", **headers):
    def app(environ, start_response):
        body = b"answer"
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                *headers.items()])
        return [body]
    return app


def _ask(cache: ResponseCache, app, head: bytes = PLAIN) -> bytes:
    cache.for_this_thread(head)
    return b"".join(cache.wrap(app)({"RAW_URI": "/id/iran"}, lambda *a: None))


KEEPABLE = {"ETag": '"v1"', "Cache-Control": "public, no-cache"}


def test_an_answer_is_sent_again_while_the_store_is_unchanged():
    stamp = ["v1"]
    cache = ResponseCache(1 << 20, lambda: stamp[0])
    assert cache.answer(PLAIN) is None
    assert _ask(cache, _app(**KEEPABLE)) == b"answer"
    message, log = cache.answer(PLAIN)
    head, _, body = message.partition(b"\r\n\r\n")
    assert body == b"answer" and head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nDate: " in head and b"\r\nETag: \"v1\"" in head and b"\r\nContent-Length: 6" in head
    assert log.startswith('"GET /id/iran HTTP/1.1" 200 6')
    stamp[0] = "v2"                                        # a write: the entry is dropped for good
    assert cache.answer(PLAIN) is None
    stamp[0] = "v1"
    assert cache.answer(PLAIN) is None


@pytest.mark.parametrize("status, headers", [
    ("500 INTERNAL SERVER ERROR", KEEPABLE), ("404 NOT FOUND", KEEPABLE),
    ("200 OK", {"Cache-Control": "public, no-cache"}),                          # no ETag
    ("200 OK", {"ETag": '"v1"', "Cache-Control": "no-store"}),
    ("200 OK", {"ETag": '"v1"', "Cache-Control": "private"}),
    ("200 OK", {"ETag": '"v1"'}),                                                # not said public
    ("200 OK", {**KEEPABLE, "Set-Cookie": "a=b"}),
    ("303 SEE OTHER", {"Location": "/id/iran.html"}),                            # a redirect not said public
    ("302 FOUND", {"Location": "/x", "Cache-Control": "public, no-cache"}),
    ("303 SEE OTHER", {"Cache-Control": "public, no-cache"}),                    # no Location
])
def test_answers_that_are_not_plainly_public_and_versioned_are_not_kept(status, headers):
    cache = ResponseCache(1 << 20, lambda: "v1")
    assert _ask(cache, _app(status, **headers)) == b"answer"
    assert cache.answer(PLAIN) is None


def test_a_public_see_other_is_sent_again_with_its_status():
    cache = ResponseCache(1 << 20, lambda: "v1")
    _ask(cache, _app("303 SEE OTHER", Location="/id/iran.html", **{"Cache-Control": "public, no-cache"}))
    message, log = cache.answer(PLAIN)
    assert message.startswith(b"HTTP/1.1 303 SEE OTHER\r\n") and b"\r\nLocation: /id/iran.html\r\n" in message
    assert log.startswith('"GET /id/iran HTTP/1.1" 303 6')


def test_a_request_the_worker_did_not_mark_is_not_kept():
    cache = ResponseCache(1 << 20, lambda: "v1")
    cache.for_this_thread(None)
    assert b"".join(cache.wrap(_app(**KEEPABLE))({}, lambda *a: None)) == b"answer"
    assert cache.answer(PLAIN) is None


def test_the_cache_is_bounded_and_a_size_of_zero_keeps_nothing():
    cache = ResponseCache(8 * 1000, lambda: "v1")          # an answer with its head is ~0.45 kB: an eighth fits one
    heads = [_head(line=f"GET /id/e{i} HTTP/1.1") for i in range(30)]
    for head in heads:
        _ask(cache, _app(**KEEPABLE), head)
    assert cache.figures()["bytes"] <= 8000
    assert cache.answer(heads[0]) is None and cache.answer(heads[-1]) is not None
    off = ResponseCache(0, lambda: "v1")
    _ask(off, _app(**KEEPABLE))
    assert off.answer(PLAIN) is None


def _run_twice_at_once(monkeypatch, headers) -> tuple[int, list[bytes]]:
    """Two threads ask the same request while the first is still running it: (runs of the app, answers)."""
    from server.web import response_cache

    progress = threading.Event()                 # the second thread is waiting, or ran the app itself

    class Done(threading.Event):
        def wait(self, timeout=None):
            progress.set()
            return super().wait(timeout)

    class Run(response_cache._Run):
        def __init__(self):
            super().__init__()
            self.done = Done()

    monkeypatch.setattr(response_cache, "_Run", Run)
    cache = ResponseCache(1 << 20, lambda: "v1")
    entered, release, runs, answers = threading.Event(), threading.Event(), [], []

    def app(environ, start_response):
        runs.append(1)
        if len(runs) == 1:
            entered.set()
            release.wait(30)
        else:
            progress.set()
        return _app(**headers)(environ, start_response)

    threads = [threading.Thread(target=lambda: answers.append(_ask(cache, app))) for _ in range(2)]
    threads[0].start()
    assert entered.wait(30)
    threads[1].start()
    assert progress.wait(30)
    release.set()
    for t in threads:
        t.join(30)
    return len(runs), answers


def test_threads_asking_the_same_request_at_once_share_one_run(monkeypatch):
    runs, answers = _run_twice_at_once(monkeypatch, KEEPABLE)
    assert runs == 1 and answers == [b"answer", b"answer"]


def test_an_answer_that_is_not_kept_is_not_shared_either(monkeypatch):
    runs, answers = _run_twice_at_once(monkeypatch, {"Cache-Control": "no-store"})
    assert runs == 2 and answers == [b"answer", b"answer"]


# --- the real server ------------------------------------------------------------------------------

def _exchange(sock: socket.socket, request: bytes) -> tuple[bytes, bytes]:
    """Send one request on a kept-alive connection; (head, body) of the answer."""
    sock.sendall(request)
    return _read_answer(sock)


def _read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """(head, body) of the next answer on the connection, the body read by its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    assert len(body) == length
    return head, body


def test_the_server_sends_a_repeated_answer_from_its_cache_and_a_new_one_after_a_write(make_server):
    live = make_server(None, env={"ENTENTE_WORKERS": "1"})
    graph = "http://example.org/g"
    put = requests.put(f"{live.url}/store", params={"graph": graph}, data="<urn:a> <urn:p> \"one\" .",
                       headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert put.status_code in (201, 204)
    query = "SELECT%20%3Fo%20WHERE%20%7B%20%3Fs%20%3Curn%3Ap%3E%20%3Fo%20%7D"
    request = (f"GET /sparql?query={query} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
               f"Accept: text/csv\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        first_head, first = _exchange(sock, request)
        second_head, second = _exchange(sock, request)         # the same connection: kept alive
        assert first == second == b"o\r\none\r\n"
        assert second_head.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
        etags = [[line for line in h.split(b"\r\n") if line.lower().startswith(b"etag")] for h in (first_head, second_head)]
        assert etags[0] == etags[1] != []
        health = requests.get(f"{live.url}/health/cache").json()
        assert health["hits"] >= 1 and health["entries"] >= 1

        put = requests.put(f"{live.url}/store", params={"graph": graph}, data="<urn:a> <urn:p> \"two\" .",
                           headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {MAINTAINER_TOKEN}"})
        assert put.status_code == 204
        _, third = _exchange(sock, request)
        assert third == b"o\r\ntwo\r\n"
        # two requests in one packet (pipelined) are both answered, in order
        sock.sendall(request + request)
        data = b""
        while data.count(b"two") < 2:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 2
        # a Cool-URI redirect is kept too, with its status and Location
        redirect = f"GET /article HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nAccept: text/html\r\n\r\n".encode()
        hits = requests.get(f"{live.url}/health/cache").json()["hits"]
        answers = [_exchange(sock, redirect) for _ in range(2)]
        assert [h.split(b"\r\n")[0] for h, _ in answers] == [b"HTTP/1.1 303 SEE OTHER"] * 2
        assert answers[0][1] == answers[1][1] and b"303 See Other: http://127.0.0.1" in answers[0][1]
        assert requests.get(f"{live.url}/health/cache").json()["hits"] == hits + 1


def test_answers_that_change_without_a_write_are_marked_no_store(app_client):
    client = app_client()
    volatile = client.get("/sparql", query_string={"query": "SELECT (RAND() AS ?r) {}"},
                          headers={"Accept": "application/sparql-results+json"})
    assert volatile.status_code == 200 and volatile.headers["Cache-Control"] == "no-store"
    assert "ETag" not in volatile.headers
    steady = client.get("/sparql", query_string={"query": "SELECT * {}"},
                        headers={"Accept": "application/sparql-results+json"})
    assert "public" in steady.headers["Cache-Control"] and "ETag" in steady.headers


def test_a_large_kept_answer_reaches_a_slow_reader_whole(make_server):
    """An answer larger than the socket buffers (~200 kB on loopback): the event loop sends what fits and a
    thread the rest."""
    import time

    live = make_server(None, env={"ENTENTE_WORKERS": "1"})
    graph = "http://example.org/big"
    body = "".join(f'<urn:s{i}> <urn:p> "{"x" * 5000}{i}" .\n' for i in range(400))       # ~2 MB of N-Triples
    put = requests.put(f"{live.url}/store", params={"graph": graph}, data=body.encode(),
                       headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert put.status_code == 201
    request = (f"GET /store?graph={graph} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
               f"Accept: application/n-triples\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        _, first = _exchange(sock, request)
        sock.sendall(request)
        time.sleep(1)                                            # let the server fill every buffer first
        _, second = _read_answer(sock)
        assert second == first and len(first) > 2_000_000
        assert requests.get(f"{live.url}/health/cache").json()["hits"] >= 1
        _, third = _exchange(sock, request)                      # and the connection is still usable
        assert third == first
