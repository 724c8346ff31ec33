"""Serving: gunicorn workers, the header hook (CORS, ETag/304, Last-Modified, gzip, Vary, HEAD),
the hard query timeout, the result limit and the settings documentation."""

from __future__ import annotations

import gzip
import os
import subprocess
import time

from pathlib import Path

import pytest
import requests
from conftest import MAINTAINER_TOKEN, ROOT, LiveServer

from server import settings as settings_module

EX = "http://example.org/"
DATASET = f"@prefix ex: <{EX}> .\n" + "".join(
    f'ex:g{i % 3} {{ ex:s{i} ex:p ex:o{i % 7} . ex:s{i} ex:label "thing number {i}"@en . }}\n' for i in range(40))
ALL = "SELECT * WHERE { ?s ?p ?o }"
JSON = "application/sparql-results+json"
EXPENSIVE = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . "
             "?p1 ?q ?r . ?s ?t ?u . ?v ?w ?x }")


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    (root / "dataset.trig").write_text(DATASET)
    server = LiveServer(root / "store", root / "dataset.trig", ["--query-timeout", "1", "--max-results", "50"]).start()
    yield server
    server.stop()


def get(strict_server, query=ALL + " LIMIT 40", headers=None, **params):
    return requests.get(strict_server.url + "/sparql", params={"query": query, **params}, headers=headers or {})


# --- processes -------------------------------------------------------------------------------------

def test_gunicorn_runs_two_threaded_worker_processes(strict_server):
    children = subprocess.run(["ps", "--ppid", str(strict_server.process.pid), "-o", "pid=,args="],
                              capture_output=True, text=True).stdout.split("\n")
    workers = [line for line in children if "server.cli serve" in line]   # not multiprocessing's helpers
    assert len(workers) == 2
    log = strict_server.log.read_text()
    assert "Using worker: server.web.worker.Worker" in log and f"http://127.0.0.1:{strict_server.port}/" in log


# --- CORS ------------------------------------------------------------------------------------------------

def test_cors_on_answers_and_errors(strict_server):
    assert get(strict_server).headers["Access-Control-Allow-Origin"] == "*"
    assert get(strict_server, "SELECT").headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in get(strict_server).headers["Access-Control-Expose-Headers"]


def test_cors_preflight(strict_server):
    r = requests.options(strict_server.url + "/sparql", headers={
        "Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert requests.options(strict_server.url + "/store").headers["Access-Control-Allow-Methods"].count("PUT") == 1


# --- caching -----------------------------------------------------------------------------------------

def test_etag_and_304(strict_server):
    first = get(strict_server, headers={"Accept": JSON})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache" and first.headers["Last-Modified"]
    again = get(strict_server, headers={"Accept": JSON, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_format = get(strict_server, headers={"Accept": "text/csv", "If-None-Match": etag})
    assert other_format.status_code == 200 and other_format.headers["ETag"] != etag
    since = get(strict_server, headers={"Accept": JSON, "If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_a_write_changes_the_etag(strict_server):
    etag = get(strict_server, headers={"Accept": JSON}).headers["ETag"]
    r = requests.post(strict_server.url + "/sparql", data={"update": f"INSERT DATA {{ GRAPH <{EX}w> {{ <{EX}a> <{EX}b> 1 }} }}"},
                      headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert r.status_code == 204
    fresh = get(strict_server, headers={"Accept": JSON, "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    r = requests.post(strict_server.url + "/sparql", data={"update": f"DROP GRAPH <{EX}w>"},
                      headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert r.status_code == 204


def test_vary(strict_server):
    vary = [v.strip() for v in get(strict_server).headers["Vary"].split(",")]
    assert "Accept" in vary and "Accept-Encoding" in vary


def test_gzip_when_asked(strict_server):
    zipped = get(strict_server, f"{ALL} LIMIT 40", {"Accept": JSON, "Accept-Encoding": "gzip"}, stream=None)
    assert zipped.headers["Content-Encoding"] == "gzip"
    raw = requests.get(strict_server.url + "/sparql", params={"query": f"{ALL} LIMIT 40"}, stream=True,
                       headers={"Accept": JSON, "Accept-Encoding": "gzip"}).raw.read()
    plain = get(strict_server, f"{ALL} LIMIT 40", {"Accept": JSON, "Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content)
    assert zipped.headers["ETag"] != plain.headers["ETag"]


def test_head_has_the_headers_and_no_body(strict_server):
    head = requests.head(strict_server.url + "/sparql", params={"query": ALL + " LIMIT 3"}, headers={"Accept": "text/csv"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"].startswith("text/csv") and head.headers["ETag"]


# --- limits ------------------------------------------------------------------------------------------------

def test_timeout_is_503_and_the_server_still_answers(strict_server):
    r = get(strict_server, EXPENSIVE, {"Accept": "application/json"})
    assert r.status_code == 503
    assert "time limit" in r.json()["message"]
    for _ in range(4):                                   # both workers still answer
        assert get(strict_server, "ASK { ?s ?p ?o }", {"Accept": JSON}).json()["boolean"] is True


def test_query_processes_hold_no_client_or_listening_socket(strict_server):
    """A query process is forked in the middle of a request: it must not keep that connection (or
    gunicorn's listening socket) open, only its pipe to the worker."""
    for _ in range(4):
        assert get(strict_server).status_code == 200
    workers = subprocess.run(["ps", "--ppid", str(strict_server.process.pid), "-o", "pid=,args="],
                             capture_output=True, text=True).stdout
    worker_pids = [line.split()[0] for line in workers.splitlines() if "server.cli serve" in line]
    helpers = []
    for pid in worker_pids:
        out = subprocess.run(["ps", "--ppid", pid, "-o", "pid=,args="], capture_output=True, text=True).stdout
        helpers += [line.split()[0] for line in out.splitlines() if "server.cli serve" in line]
    assert helpers
    for pid in helpers:
        fd_dir = Path(f"/proc/{pid}/fd")
        sockets = [p for p in fd_dir.iterdir() if os.readlink(p).startswith("socket:")]
        assert len(sockets) == 1, f"query process {pid} holds {len(sockets)} sockets"


def test_no_query_process_is_left_running_after_a_timeout(strict_server):
    assert get(strict_server, EXPENSIVE).status_code == 503
    time.sleep(0.2)
    tree = subprocess.run(["ps", "-g", str(strict_server.process.pid), "-o", "pid=,stat="], capture_output=True, text=True).stdout
    # The gunicorn master, its 2 workers, and the workers' writer fork servers: no busy query child.
    running = [line for line in tree.splitlines() if line.split()[1].startswith("R")]
    assert running == []


def test_result_limit_is_refused_with_a_message(strict_server):
    r = get(strict_server, ALL, {"Accept": "application/json"})          # 80 triples, limit 50
    assert r.status_code == 413
    message = r.json()["message"]
    assert "50" in message and "LIMIT" in message and "OFFSET" in message
    r = get(strict_server, "CONSTRUCT WHERE { ?s ?p ?o }", {"Accept": "text/turtle"})
    assert r.status_code == 413
    page = get(strict_server, ALL + " ORDER BY ?s ?p LIMIT 50 OFFSET 50", {"Accept": JSON})
    assert page.status_code == 200 and len(page.json()["results"]["bindings"]) == 30


def test_body_size_limit(make_server):
    small = make_server(env={"ENTENTE_MAX_BODY_BYTES": "100"})
    r = requests.post(small.url + "/sparql", data=("ASK {} #" + "x" * 200).encode(),
                      headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413


# --- settings are documented --------------------------------------------------------------------

def test_docs_settings_table_matches_the_code():
    text = (ROOT / "docs" / "settings.md").read_text()
    from server.cli import markdown_table

    assert markdown_table() in text, "regenerate with: entente settings-table"


def test_every_setting_has_help_and_an_env_var():
    for name, var, default, help_text in settings_module.describe():
        assert var.startswith("ENTENTE_") and help_text.strip(), name


def test_each_worker_takes_the_switch_interval_setting():
    """gunicorn runs the post_fork hook in every worker it forks; the hook sets the GIL switch interval."""
    import sys

    from server.web.serving import _Gunicorn

    before = sys.getswitchinterval()
    try:
        _Gunicorn(settings_module.Settings.from_env({}, switch_interval=0.0025)).cfg.post_fork(None, None)
        assert sys.getswitchinterval() == 0.0025
    finally:
        sys.setswitchinterval(before)


def test_a_worker_stops_its_long_idle_query_processes(make_server):
    """Four queries at once give the one worker four query processes; about 10 s after the burst the
    worker's event loop has stopped all but one (store.stop_idle_query_processes)."""
    from concurrent.futures import ThreadPoolExecutor

    live = make_server(None, env={"ENTENTE_WORKERS": "1", "ENTENTE_THREADS": "4"})
    master = live.process.pid

    def descendants(pid: int) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def query(n: int) -> int:      # a different text each, so no cache answers it; slow enough to overlap
        q = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?x {{ {' '.join(str(i) for i in range(3000))} }} " \
            f"VALUES ?y {{ {' '.join(str(i) for i in range(300))} }} FILTER(?x != {n}) }}"
        return requests.post(live.url + "/sparql", data={"query": q}, timeout=60).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(query, range(4))) == [200] * 4
    workers = [p for p in descendants(master) if descendants(p)]
    assert len(workers) == 1 and len(descendants(workers[0])) >= 2
    deadline = time.monotonic() + 60
    while len(descendants(workers[0])) > 1 and time.monotonic() < deadline:
        time.sleep(1)
    assert len(descendants(workers[0])) == 1
    assert query(99) == 200                        # the one kept (or a new one) still answers
