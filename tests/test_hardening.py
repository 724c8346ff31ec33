"""Issue 10: the hostile campaign's findings, each replayed against the real server process over HTTP.

One writable server (the real dataset) serves the whole module; every test leaves the article's
graphs as they were (the last test checks it).
"""

from __future__ import annotations

import ast
import contextlib
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from conftest import CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN, LiveServer

PROBE_TIMEOUT = 3.0      # the campaign's criterion: a health probe answered within 3 s counts as answered


@pytest.fixture(scope="module")
def live(built_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening")
    env = {"ENTENTE_REQUEST_HEADER_TIMEOUT": "3", "ENTENTE_REQUEST_BODY_TIMEOUT": "4",
           "ENTENTE_VALIDATION_TIMEOUT": "8", "ENTENTE_QUERY_TIMEOUT": "5", "ENTENTE_RATE_LIMIT": "100000",
           "ENTENTE_ANONYMOUS_RATE_LIMIT": "100000"}
    server = LiveServer(root / "store", built_dataset, env=env).start()
    server.article_before = _article_state(server)
    yield server
    server.stop()


def _article_state(live) -> dict:
    q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(!STRSTARTS(STR(?g), " \
        "'https://w3id.org/entente/contribution/') && ?g != <https://w3id.org/entente/graph/contributions>) } GROUP BY ?g"
    rows = requests.get(live.url + "/sparql", params={"query": q},
                        headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows["results"]["bindings"]}


def probe(live, path="/health", **params) -> bool:
    """True if the server answered within PROBE_TIMEOUT."""
    try:
        return requests.get(live.url + path, params=params, timeout=PROBE_TIMEOUT).status_code == 200
    except requests.RequestException:
        return False


def probes_while(live, attack, count: int = 6, path="/health", **params) -> list[bool]:
    """Start `attack(stop)` in a thread, give it a moment to take hold, probe `count` times, stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=attack, args=(stop,), daemon=True)
    thread.start()
    time.sleep(1.5)
    try:
        answers = []
        for _ in range(count):
            answers.append(probe(live, path, **params))
            time.sleep(0.2)
        return answers
    finally:
        stop.set()
        thread.join(30)


# --- 1 and 5. updates that would fetch, decided on the parsed form, under the time limit --------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        _Recorder.hits.append(self.path)
        body = b"<http://example.org/fetched> <http://example.org/p> <http://example.org/o> .\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/turtle")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def listener():
    """A local HTTP server that records every request: a fetch by the server would show up here."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


TQ = '"""x\\\\\\""""'      # """x\\\"""" : a backslash pair, an escaped quote, then the closing quotes
HIDDEN_LOADS = {     # the campaign's four ways of hiding LOAD from a lexer, and a file: target
    "escaped-quote": 'INSERT DATA { <a:s> <a:p> ' + TQ + ' } ; LOAD <{url}>',
    "prefixed-name-glued-to-string": 'PREFIX ex: <http://e/>\nINSERT DATA {{ <a:s> ex:p"{{" }} ;\nLOAD <{url}>',
    "prefixed-name-glued-to-comment": 'PREFIX ex: <http://e/>\nINSERT DATA {{ <a:s> <a:p> ex:o#{{\n}} ;\nLOAD <{url}>',
    "load-silent": 'INSERT DATA { <a:s> <a:p> ' + TQ + ' } ; LOAD SILENT <{url}> INTO GRAPH <urn:x:loaded>',
    "file": 'INSERT DATA { <a:s> <a:p> ' + TQ + ' } ; LOAD <file:///etc/passwd> INTO GRAPH <urn:x:loaded>',
}


def _fill(template: str, url: str) -> str:
    if "{{" in template:
        return template.format(url=url)
    return template.replace("{url}", url)


@pytest.mark.parametrize("name", sorted(HIDDEN_LOADS))
def test_hidden_loads_are_refused_and_never_fetch(live, listener, name):
    update = _fill(HIDDEN_LOADS[name], listener + "/a.ttl")
    before = requests.get(live.url + "/health").json()
    _Recorder.hits.clear()
    r = requests.post(live.url + "/sparql", data=update.encode(),
                      headers={**MAINTAINER, "Content-Type": "application/sparql-update", "Accept": "application/json"})
    assert r.status_code == 400, r.text
    assert "LOAD is refused" in r.json()["message"]
    assert _Recorder.hits == []
    assert requests.get(live.url + "/health").json() == before           # nothing written, not even the INSERT


def test_the_engine_would_have_fetched_these(listener):
    """The variants are real: pyoxigraph, given them, fetches from the listener (so the refusal matters)."""
    import pyoxigraph

    _Recorder.hits.clear()
    pyoxigraph.Store().update(_fill(HIDDEN_LOADS["prefixed-name-glued-to-comment"], listener + "/a.ttl"))
    assert _Recorder.hits == ["/a.ttl"]


def test_a_service_in_an_update_is_checked_on_the_parsed_form(live, listener):
    update = 'INSERT { <a:s> <a:p> ?o } WHERE { SERVICE <' + listener + '/sparql> { ?s ?p ?o } }'
    _Recorder.hits.clear()
    r = requests.post(live.url + "/sparql", data={"update": update}, headers={**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and "SERVICE" in r.json()["message"], r.text
    assert _Recorder.hits == []


def test_checking_a_long_update_runs_under_the_time_limit(live):
    """30,000 `||` and a `# SERVICE` comment: the check runs in a child under ENTENTE_QUERY_TIMEOUT (5 s here),
    and the server answers everyone else meanwhile."""
    chain = " || ".join(["?x"] * 30000)
    update = f"DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o FILTER({chain}) }} # SERVICE"
    before = requests.get(live.url + "/health").json()
    answer = {}

    def attack(stop):
        started = time.monotonic()
        r = requests.post(live.url + "/sparql", data={"update": update}, headers={**MAINTAINER, "Accept": "application/json"})
        answer.update(status=r.status_code, seconds=time.monotonic() - started, text=r.text)

    assert all(probes_while(live, attack, 4))
    assert answer["status"] in (400, 503), answer
    assert answer["seconds"] < 30, answer           # the campaign's run took 44.9 s
    assert requests.get(live.url + "/health").json() == before


# --- 2. parser bombs -------------------------------------------------------------------------------

LAUGHS = ("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'>"
          + "".join(f"<!ENTITY {c} '{('&' + p + ';') * 10}'>" for p, c in zip("abcdefgh", "bcdefghi"))
          + "]><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns:r='http://x/'>"
          "<rdf:Description rdf:about='http://x/s'><r:p>&i;</r:p></rdf:Description></rdf:RDF>").encode()
EXPANDING = ("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a '" + "a" * 50000 + "'>]>"
             "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns:r='http://x/'>"
             "<rdf:Description rdf:about='http://x/s'>" + "<r:p>&a;</r:p>" * 400 + "</rdf:Description></rdf:RDF>").encode()


def _bombs() -> dict:
    prefixes = "".join(f"@prefix p{i}: <http://example.org/{i}/> .\n" for i in range(100000))
    namespaces = " ".join(f'xmlns:n{i}="http://example.org/{i}/"' for i in range(30000))
    return {
        "billion-laughs": ("application/rdf+xml", LAUGHS),
        "prefixes": ("text/turtle", (prefixes + "<urn:x:a> <urn:x:b> <urn:x:c> .\n").encode()),
        "literal": ("application/n-triples", b'<urn:x:a> <urn:x:b> "' + b"x" * (9 * 1024 * 1024) + b'" .\n'),
        "namespaces": ("application/rdf+xml", (f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                                              f'{namespaces}><rdf:Description rdf:about="urn:x:a"/></rdf:RDF>').encode()),
    }


@pytest.fixture(scope="module")
def bombs():
    return _bombs()


@pytest.mark.parametrize("name", ["billion-laughs", "prefixes", "literal", "namespaces"])
def test_parser_bombs_are_refused_and_do_not_stall_the_server(live, bombs, name):
    content_type, body = bombs[name]
    before = requests.get(live.url + "/health").json()
    statuses = []

    def attack(stop):
        def one(path, headers):
            r = requests.post(live.url + path, data=body, headers={**headers, "Content-Type": content_type,
                                                                    "Accept": "application/json"})
            statuses.append((path, r.status_code, r.text[:300]))
        threads = [threading.Thread(target=one, args=a) for a in (("/validate", {}), ("/contributions", CONTRIBUTOR))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert all(probes_while(live, attack, 4)), "health probes went unanswered"
    assert all(probes_while(live, attack, 3, "/sparql", query="ASK { ?s ?p ?o }")), "queries went unanswered"
    assert statuses and all(400 <= status < 500 or status == 503 for _, status, _ in statuses), statuses
    assert all(status != 500 and "Internal" not in text for _, status, text in statuses), statuses
    assert requests.get(live.url + "/health").json() == before


def test_entity_expansion_cannot_bypass_the_body_limit_through_the_graph_store(live):
    before = requests.get(live.url + "/health").json()
    for body in (EXPANDING, LAUGHS):
        r = requests.put(live.url + "/store", params={"graph": "urn:x:expanded"}, data=body,
                         headers={**MAINTAINER, "Content-Type": "application/rdf+xml", "Accept": "application/json"})
        assert r.status_code == 400 and "DOCTYPE" in r.json()["message"], r.text[:300]
    assert requests.get(live.url + "/health").json() == before


def test_a_literal_over_the_limit_is_413(live):
    body = b'<urn:x:a> <urn:x:b> "' + b"x" * 200_000 + b'" .\n'
    r = requests.post(live.url + "/validate", data=body,
                      headers={"Content-Type": "application/n-triples", "Accept": "application/json"})
    assert r.status_code == 413 and "ENTENTE_MAX_LITERAL_LENGTH" in r.json()["message"], r.text[:300]


# --- 3. slow clients -------------------------------------------------------------------------------

def _slow_sockets(live, n: int, head: bytes, body: bytes, stop: threading.Event, byte_every: float = 0.5):
    """n connections that send `head` whole, then `body` one byte every `byte_every` s (slowloris)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", live.port))
            s.sendall(head)
            socks.append(s)
        i = 0
        while not stop.is_set() and i < len(body):
            for s in socks:
                try:
                    s.sendall(body[i:i + 1])
                except OSError:
                    pass
            i += 1
            stop.wait(byte_every)
    finally:
        for s in socks:
            s.close()


def test_slow_headers_do_not_stall_the_server(live):
    """40 clients trickling their request heads (1 byte every 0.5 s): probes still answered."""
    host = f"127.0.0.1:{live.port}".encode()
    head_text = b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    answers = probes_while(live, lambda stop: _slow_sockets(live, 40, b"G", head_text[1:], stop))
    assert all(answers), answers


def test_slow_bodies_do_not_stall_the_server(live):
    """12 clients trickling bodies to /validate and /sparql: probes and queries still answered."""
    host = f"127.0.0.1:{live.port}".encode()

    def attack(stop):
        threads = []
        for path, ctype in ((b"/validate", b"text/turtle"), (b"/sparql", b"application/sparql-query")):
            head = (b"POST " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: " + ctype +
                    b"\r\nContent-Length: 1000\r\n\r\n")
            t = threading.Thread(target=_slow_sockets, args=(live, 6, head, b"#" * 1000, stop), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()

    assert all(probes_while(live, attack)), "health probes went unanswered"
    assert all(probes_while(live, attack, 3, "/sparql", query="ASK { ?s ?p ?o }")), "queries went unanswered"


def test_a_client_that_stalls_in_its_head_gets_408_and_is_closed(live):
    s = socket.create_connection(("127.0.0.1", live.port))
    s.settimeout(15)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")      # never ends the head
    started = time.monotonic()
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 408"), data
    assert time.monotonic() - started < 14         # closed by the server (the header deadline is 3 s here)


def test_a_client_that_stalls_in_its_body_gets_408_and_nothing_is_stored(live):
    before = requests.get(live.url + "/health").json()["version"]
    s = socket.create_connection(("127.0.0.1", live.port))
    s.settimeout(20)
    s.sendall(b"PUT /store?graph=urn:x:slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/turtle\r\n"
              b"Authorization: Bearer " + MAINTAINER_TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n<urn:a> ")
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"HTTP/1.1 408"), data
    assert requests.get(live.url + "/health").json()["version"] == before


def test_requests_still_work_in_pieces_and_kept_alive(live):
    """The buffering keeps HTTP intact: a request sent in pieces, a body, keep-alive and pipelining."""
    s = socket.create_connection(("127.0.0.1", live.port))
    s.settimeout(20)
    query = b"ASK { ?s ?p ?o }"
    request = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
               b"Accept: application/sparql-results+json\r\nContent-Length: " + str(len(query)).encode() +
               b"\r\n\r\n" + query)
    for piece in (request[:10], request[10:60], request[60:]):
        s.sendall(piece)
        time.sleep(0.3)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2)      # two more, pipelined
    data = b""
    deadline = time.monotonic() + 15
    while data.count(b"HTTP/1.1 200") < 3 and time.monotonic() < deadline:
        data += s.recv(65536)
    s.close()
    assert data.count(b"HTTP/1.1 200") == 3, data[:500]
    assert b'"boolean":true' in data.replace(b" ", b"")


# --- 4. contribution ids ---------------------------------------------------------------------------

CONTRIBUTOR = {"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}
MAINTAINER = {"Authorization": f"Bearer {MAINTAINER_TOKEN}"}
ID = "https://w3id.org/entente/id/"
ENT = "https://w3id.org/entente/ontology#"


@pytest.mark.parametrize("suffix", ["%0A", "%0D%0A", "%20", "%00", "%3E", "x", "%0A%7D"])
def test_ids_that_only_start_like_an_id_are_404(live, suffix):
    """An id is its whole pattern: a trailing newline (which `$` lets through) is not spliced into SPARQL."""
    cid = "20000101T000000Z-00000000" + suffix
    r = requests.get(f"{live.url}/contributions/{cid}", headers={"Accept": "application/json"})
    assert r.status_code == 404, r.text
    for action in ("accept", "reject"):
        r = requests.post(f"{live.url}/contributions/{cid}/{action}", json={"reason": "x"},
                          headers={**MAINTAINER, "Accept": "application/json"})
        assert r.status_code == 404, r.text
        assert "SPARQL" not in r.text


# the functions that receive values from requests, and the parameters that carry them
REQUEST_VALUES = {"server/graph/provenance.py": {"read": "cid", "record_graph": "cid"},
                  "server/graph/page_data.py": {"relations": "focus", "graph_content": "graph", "find_by_name": "text"},
                  "server/graph/describe.py": {"exists": "iri", "description_quads": "iri"}}
SPARQL_WORDS = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|WHERE|GRAPH|FILTER|VALUES)\b")
SANITIZERS = {"_named", "NamedNode", "_n"}        # pyoxigraph terms: validated IRIs, never raw text


def _sparql_fstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if SPARQL_WORDS.search(text) and "{" in text:
                yield node


def _names(node) -> set[str]:
    """Names used in `node`, except inside a call that makes a pyoxigraph term of them."""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in SANITIZERS:
        return set()
    if isinstance(node, ast.Compare):              # a comparison gives a boolean, not text
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    return set().union(*(_names(child) for child in ast.iter_child_nodes(node)))


def test_no_sparql_text_is_built_from_request_values():
    """The web layer builds no SPARQL; the functions below it that take a request's id, IRI or focus bind it
    (or make a pyoxigraph term of it) and never write it, or anything made from it, into query text."""
    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "server" / "web").rglob("*.py")):
        built = [n.lineno for n in _sparql_fstrings(ast.parse(path.read_text()))]
        assert not built, f"{path.relative_to(root)} builds SPARQL text at lines {built}"
    checked = 0
    for name, functions in REQUEST_VALUES.items():
        tree = ast.parse((root / name).read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions):
            tainted = {functions[fn.name]}
            for node in ast.walk(fn):                       # what is made from the value is tainted too
                if isinstance(node, ast.Assign) and _names(node.value) & tainted:
                    tainted |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            for fstring in _sparql_fstrings(fn):
                for value in (v for v in fstring.values if isinstance(v, ast.FormattedValue)):
                    assert not _names(value.value) & tainted, \
                        f"{name}:{fstring.lineno} {fn.name}() writes {ast.unparse(value.value)} into SPARQL text"
            checked += 1
    assert checked == sum(len(f) for f in REQUEST_VALUES.values())


# --- 9. pictures ------------------------------------------------------------------------------------

HOSTILE_LABEL = "a\u0001b &#1; &#x1; \uFFFE c&amp;"       # Turtle escapes: control characters in a label


def test_pictures_are_well_formed_whatever_the_labels(live):
    """Labels with characters XML forbids (raw, or as `&#1;` that dot would expand) and a claim IRI with
    a fragment: every picture still parses as XML."""
    graph = "https://w3id.org/entente/contribution/20000101T000000Z-0000abcd#evil"
    node = ID + "hardening-picture"
    data = (f'<{node}> a <{ENT}SovereignState> ; <http://www.w3.org/2000/01/rdf-schema#label> "{HOSTILE_LABEL}" ; '
            f'<{ENT}finances> <{ID}iran> . <{graph}> <{ENT}evidence> <{graph}-span> .')
    r = requests.post(live.url + "/sparql", data={"update": f"INSERT DATA {{ GRAPH <{graph}> {{ {data} }} }}"},
                      headers=MAINTAINER)
    assert r.status_code == 204, r.text
    try:
        for params in ({"about": node}, {"about": ID + "iran"}, {}):
            r = requests.get(live.url + "/picture.svg", params=params)
            assert r.status_code == 200, r.text
            root = ET.fromstring(r.content)
            assert any("b &#1; &#x1;" in t for t in root.itertext()), params     # shown as text
    finally:
        r = requests.post(live.url + "/sparql", data={"update": f"DROP GRAPH <{graph}>"}, headers=MAINTAINER)
        assert r.status_code == 204, r.text


# --- 6 and 7. hosts, forwarded headers, 400s not 500s ----------------------------------------------

ROUTES = ["/", "/health", "/sparql", "/sparql?query=ASK%7B%7D", "/id/iran", "/id/iran.ttl", "/.well-known/void",
          "/contributions", "/store?graph=https://w3id.org/entente/graph/article", "/article", "/ontology"]


@pytest.mark.parametrize("host", ["xn--", "xn--a.example", "a..b", "x\"><script>", "[::1", "h:port"])
@pytest.mark.parametrize("path", ROUTES)
def test_malformed_hosts_are_400_on_every_route(live, path, host):
    r = requests.get(live.url + path, headers={"Host": host, "Accept": "application/json"})
    assert r.status_code == 400, (path, host, r.status_code, r.text[:200])
    assert r.json()["where"] == {"header": "Host"}


@pytest.mark.parametrize("path", ROUTES)
def test_forged_hosts_are_refused_not_reflected(live, path):
    r = requests.get(live.url + path, headers={"Host": "evil.example", "Accept": "text/html"},
                     allow_redirects=False)
    assert r.status_code == 400, (path, r.status_code)
    assert "evil.example" not in r.headers.get("Location", "") + r.headers.get("Link", "")
    assert "ENTENTE_TRUSTED_HOSTS" in r.text


def test_a_forged_host_cannot_reach_a_contributions_location(live):
    r = requests.post(live.url + "/contributions", data=b"<a:b> <a:c> <a:d> .",
                      headers={**CONTRIBUTOR, "Host": "evil.example", "Content-Type": "text/turtle"})
    assert r.status_code == 400 and "evil.example" not in r.headers.get("Location", "")


def test_forwarded_headers_from_an_untrusted_address_are_ignored(live):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example",
               "Accept": "text/turtle"}
    for path in ("/id/iran", "/.well-known/void"):
        r = requests.get(live.url + path, headers=headers)
        assert r.status_code == 200
        assert "evil.example" not in r.text and f"https://127.0.0.1:{live.port}" not in r.text
        assert f"http://127.0.0.1:{live.port}/" in r.text or path == "/id/iran"
    r = requests.get(live.url + "/id/iran", headers={**headers, "Accept": "text/html"}, allow_redirects=False)
    for value in (r.headers.get("Location", ""), r.headers.get("Link", ""), r.text):
        assert "evil.example" not in value and f"https://127.0.0.1:{live.port}" not in value


def test_caches_key_on_the_host(live):
    """Without a public URL the body depends on Host: Vary names it and the ETag differs per host."""
    a = requests.get(f"{live.url}/.well-known/void", headers={"Accept": "text/turtle"})
    b = requests.get(f"{live.url}/.well-known/void", headers={"Accept": "text/turtle", "Host": f"localhost:{live.port}"})
    assert a.status_code == b.status_code == 200
    assert "Host" in [v.strip() for v in a.headers["Vary"].split(",")]
    assert a.headers["ETag"] != b.headers["ETag"]
    assert f"http://localhost:{live.port}/" in b.text and f"http://127.0.0.1:{live.port}/" in a.text
    r = requests.get(f"{live.url}/.well-known/void", headers={"Accept": "text/turtle", "If-None-Match": a.headers["ETag"],
                                                              "Host": f"localhost:{live.port}"})
    assert r.status_code == 200            # another host's validator does not match


def test_trusted_proxies_forwarded_headers_are_applied(tmp_path):
    """With trusted_proxies, X-Forwarded-Host/-Proto from that address name the public host (Flask client)."""
    from server.web.app import create_app
    from server.settings import Settings

    app = create_app(Settings.from_env({}, data_dir=tmp_path, empty=True, trusted_proxies=("10.0.0.0/8",),
                                       trusted_hosts=("data.example.org",)))
    client = app.test_client()
    forwarded = {"X-Forwarded-Host": "data.example.org", "X-Forwarded-Proto": "https", "Accept": "text/turtle"}
    r = client.get("/void.ttl", headers=forwarded, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200 and "<https://data.example.org/sparql>" in r.get_data(as_text=True)
    r = client.get("/void.ttl", headers={**forwarded, "Host": "data.example.org"},
                   environ_base={"REMOTE_ADDR": "192.0.2.7"})           # not the proxy: headers ignored
    assert r.status_code == 200 and "<http://data.example.org/sparql>" in r.get_data(as_text=True)
    r = client.get("/void.ttl", headers={**forwarded, "X-Forwarded-Host": "evil.example"},
                   environ_base={"REMOTE_ADDR": "10.1.2.3"})            # the proxy, but an untrusted host
    assert r.status_code == 400


HUGE = "1" + "0" * 5000


@pytest.mark.parametrize("body", [
    '{"@id": "urn:x:a", "urn:x:p": ' + HUGE + '}',
    '{"@graph": [{"@id": "urn:x:a", "urn:x:p": [{"@value": {"deep": [' + HUGE + ']}}]}]}',
    '[' + HUGE + ']',
])
@pytest.mark.parametrize("path,headers", [("/validate", {}), ("/contributions", CONTRIBUTOR)])
def test_jsonld_numbers_too_long_to_read_are_400(live, body, path, headers):
    r = requests.post(live.url + path, data=body.encode(),
                      headers={**headers, "Content-Type": "application/ld+json", "Accept": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert "digits" in r.json()["message"]


# --- 8. anonymous rate limits ----------------------------------------------------------------------

def _anonymous_app(tmp_path, **settings):
    from server.settings import Settings
    from server.web.app import create_app

    return create_app(Settings.from_env({}, data_dir=tmp_path, empty=True, **settings)).test_client()


def _dry_run(client, address: str) -> int:
    return client.post("/validate", data=b"not turtle", environ_base={"REMOTE_ADDR": address},
                       headers={"Content-Type": "text/turtle", "Accept": "application/json"}).status_code


def test_ipv6_addresses_in_one_64_share_one_allowance(tmp_path):
    client = _anonymous_app(tmp_path, rate_limit=3)
    codes = [_dry_run(client, f"2001:db8:1:2::{i:x}") for i in range(1, 6)]       # one /64, five addresses
    assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429], codes
    assert _dry_run(client, "2001:db8:1:3::1") == 400                             # the next /64 has its own


def test_all_anonymous_clients_together_have_a_ceiling(tmp_path):
    client = _anonymous_app(tmp_path, rate_limit=100, anonymous_rate_limit=4)
    codes = [_dry_run(client, f"127.0.0.{i}") for i in range(1, 7)]               # rotating addresses
    assert codes == [400] * 4 + [429] * 2, codes
    r = client.post("/validate", data=b"x", environ_base={"REMOTE_ADDR": "127.0.0.9"},
                    headers={"Content-Type": "text/turtle", "Accept": "application/json"})
    assert "all clients without a token" in r.get_json()["message"] and "Retry-After" in r.headers


# --- 10. shutdown ----------------------------------------------------------------------------------

SLOW_DATASET = "@prefix ex: <http://example.org/> .\n" + "".join(
    f"ex:g{i % 3} {{ ex:s{i} ex:p ex:o{i % 7} . }}\n" for i in range(40))
ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . "
           "?p1 ?q ?r . ?s ?t ?u . ?v ?w ?x }")


def _session_processes(sid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,sid="], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid, s in zip(out[::2], out[1::2]) if int(s) == sid]


def test_no_child_outlives_the_master_after_sigterm(make_server, tmp_path):
    (tmp_path / "slow.trig").write_text(SLOW_DATASET)
    server = make_server(tmp_path / "slow.trig", ["--query-timeout", "600"])
    master = server.process.pid
    def endless():
        with contextlib.suppress(requests.RequestException):     # the server goes away under it
            requests.get(server.url + "/sparql", params={"query": ENDLESS}, timeout=120)

    thread = threading.Thread(target=endless, daemon=True)
    thread.start()
    time.sleep(3)                                 # the query process is busy with it now
    assert len(_session_processes(master)) >= 4   # master, workers, at least one query process
    try:
        os.kill(master, signal.SIGTERM)
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _session_processes(master) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _session_processes(master)
        assert left == [], subprocess.run(["ps", "-o", "pid,ppid,args", "-p", ",".join(map(str, left))],
                                          capture_output=True, text=True).stdout
    finally:
        for pid in _session_processes(master):   # never leave a runaway query behind, even when this fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- 11. a real Linked Data client: Comunica ----------------------------------------------------------

JS = Path(__file__).parent / "js"


def comunica(query: str, *sources: str) -> list[dict]:
    """Run Comunica (tests/js, installed by scripts/setup.sh) on `sources`; its rows."""
    assert (JS / "node_modules" / "@comunica" / "query-sparql").is_dir(), "run scripts/setup.sh (npm ci in tests/js)"
    result = subprocess.run(["node", "comunica.mjs", query, *sources], cwd=JS, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_comunica_reads_a_dereferenced_resource(live):
    """Comunica asks for N-Quads first and queries the default graph: the description must be there."""
    rows = comunica(f"SELECT ?p ?o WHERE {{ <{ID}iran> ?p ?o }}", f"{live.url}/id/iran")
    predicates = {row["p"] for row in rows}
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" in predicates, rows[:5]
    assert "http://www.w3.org/2000/01/rdf-schema#label" in predicates
    assert len(rows) >= 10


def test_comunica_joins_across_dereferenced_resources(live):
    """Two of our IRIs dereferenced as sources: what one says of the other joins with the other's labels."""
    rows = comunica(f"SELECT DISTINCT ?p ?label WHERE {{ <{ID}iran> ?p <{ID}russia> . "
                    f"<{ID}russia> <http://www.w3.org/2000/01/rdf-schema#label> ?label }}",
                    f"{live.url}/id/iran", f"{live.url}/id/russia")
    assert rows and all(row["label"] for row in rows), rows
    assert any(row["p"].startswith("https://w3id.org/entente/ontology#") for row in rows), rows


def test_comunica_as_a_sparql_client(live):
    query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    ours = requests.get(live.url + "/sparql", params={"query": query},
                        headers={"Accept": "application/sparql-results+json"}).json()
    theirs = comunica(query, f"sparql@{live.url}/sparql")
    assert int(theirs[0]["n"]) == int(ours["results"]["bindings"][0]["n"]["value"]) > 1000
    rows = comunica(f"SELECT ?label WHERE {{ <{ID}iran> <http://www.w3.org/2000/01/rdf-schema#label> ?label }}",
                    f"sparql@{live.url}/sparql")
    assert any(row["label"] == "Iran" for row in rows), rows


# --- the store is as it was ------------------------------------------------------------------------

def test_zz_the_article_graphs_are_unchanged(live):
    assert _article_state(live) == live.article_before
