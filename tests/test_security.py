"""Attacks on the real server over HTTP: server-side requests (SERVICE, FROM, LOAD, remote JSON-LD
contexts, XML external entities), HTML/SVG injection through stored literals and IRIs and through
echoed input, and tokens (never echoed or logged).

A local listener on 127.0.0.1 proves that no connection is ever made to a URL off the allowlist:
every test that names it checks that it saw nothing.
"""

from __future__ import annotations

import html.parser
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from conftest import CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN, ROOT, LiveServer

MAINTAINER = {"Authorization": f"Bearer {MAINTAINER_TOKEN}"}
CONTRIBUTOR = {"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}
UPDATE = "application/sparql-update"
JSON = "application/json"
ID = "https://w3id.org/entente/id/"
ENT = "https://w3id.org/entente/ontology#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


# --- fixtures ----------------------------------------------------------------------------------------

class Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.connections: list = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)
            conn.close()

    def assert_untouched(self, what: str):
        time.sleep(0.05)
        assert not self.connections, f"the server connected to {self.url} for: {what}"

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def writable_server(built_dataset, tmp_path_factory) -> LiveServer:
    """One writable server with the real dataset for this module."""
    server = LiveServer(tmp_path_factory.mktemp("security") / "store", built_dataset).start()
    yield server
    server.stop()


def health(writable_server):
    return requests.get(writable_server.url + "/health").json()


def sparql(writable_server, query, method="GET", headers=None, **params):
    headers = {"Accept": JSON, **(headers or {})}
    if method == "GET":
        return requests.get(writable_server.url + "/sparql", params={"query": query, **params}, headers=headers)
    return requests.post(writable_server.url + "/sparql", data={"query": query, **params}, headers=headers)


def update(writable_server, text, headers=MAINTAINER, **params):
    return requests.post(writable_server.url + "/sparql", params=params, data=text.encode(),
                         headers={"Content-Type": UPDATE, "Accept": JSON, **headers})


def assert_refused(r, status, *words):
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["status"] == status and body["message"], body
    for word in words:
        assert word.lower() in body["message"].lower(), (word, body["message"])
    assert "Traceback" not in r.text


# --- SSRF: SERVICE ----------------------------------------------------------------------------------

def service_queries(url):
    return {
        "plain": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "lowercase": f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
        "silent": f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        "variable": f"SELECT * WHERE {{ VALUES ?x {{ <{url}> }} SERVICE ?x {{ ?s ?p ?o }} }}",
        "silent variable": f"SELECT * WHERE {{ VALUES ?x {{ <{url}> }} SERVICE SILENT ?x {{ ?s ?p ?o }} }}",
        "subquery": f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        "optional": f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} LIMIT 1",
        "union": f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} LIMIT 1",
        "minus": f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{url}> {{ ?a ?p ?o }} }} }} LIMIT 1",
        "filter exists": f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{url}> {{ ?a ?p ?o }} }} }} LIMIT 1",
        "graph": f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        "prefixed name": f"PREFIX l: <{url}> SELECT * WHERE {{ SERVICE l:sparql {{ ?s ?p ?o }} }}",
        "relative to BASE": f"BASE <{url}> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
        "escaped IRI": "SELECT * WHERE { SERVICE <" + url.replace("h", "\\u0068", 1) + "> { ?s ?p ?o } }",
        "ask": f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "describe": f"DESCRIBE ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    }


@pytest.mark.parametrize("case", list(service_queries("http://x/")))
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_service_off_the_allowlist_is_refused_and_never_called(writable_server, listener, case, method):
    r = sparql(writable_server, service_queries(listener.url)[case], method=method)
    assert_refused(r, 400, "SERVICE", "allowlist")
    listener.assert_untouched(f"SERVICE ({case}, {method})")


def test_service_to_the_server_itself_is_refused(writable_server, listener):
    """A relative SERVICE IRI would resolve against the endpoint's own URL (a request to itself)."""
    r = sparql(writable_server, "SELECT * WHERE { SERVICE <> { ?s ?p ?o } }")
    assert_refused(r, 400, "SERVICE")
    r = sparql(writable_server, f"SELECT * WHERE {{ SERVICE <{writable_server.url}/sparql> {{ ?s ?p ?o }} }}")
    assert_refused(r, 400, "SERVICE", "allowlist")


def test_service_as_a_query_body_is_refused(writable_server, listener):
    r = requests.post(writable_server.url + "/sparql", data=service_queries(listener.url)["silent"].encode(),
                      headers={"Content-Type": "application/sparql-query", "Accept": JSON})
    assert_refused(r, 400, "SERVICE")
    listener.assert_untouched("SERVICE in an application/sparql-query body")


@pytest.mark.parametrize("kind", ["FROM", "FROM NAMED"])
def test_from_names_a_graph_and_never_fetches_it(writable_server, listener, kind):
    r = sparql(writable_server, f"SELECT * {kind} <{listener.url}data.ttl> WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} }} }}")
    assert r.status_code == 200, r.text
    assert r.json()["results"]["bindings"] == []
    listener.assert_untouched(kind)


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_protocol_dataset_never_fetches(writable_server, listener, param):
    r = sparql(writable_server, "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }", **{param: listener.url})
    assert r.status_code == 200, r.text
    assert r.json()["results"]["bindings"] == []
    listener.assert_untouched(param)


# --- SSRF: updates, even with the maintainer token ------------------------------------------------

def ssrf_updates(url):
    return {
        "LOAD": f"LOAD <{url}data.ttl>",
        "load lowercase": f"load <{url}data.ttl>",
        "LOAD SILENT": f"LOAD SILENT <{url}data.ttl>",
        "LOAD INTO": f"LOAD <{url}data.ttl> INTO GRAPH <{ID}loaded>",
        "LOAD after INSERT DATA": f"INSERT DATA {{ <{ID}a> <{ID}b> <{ID}c> }} ; LOAD <{url}data.ttl>",
        "LOAD with comment": f"# comment\nLOAD # LOAD\n<{url}data.ttl>",
        # an escape in an IRI, then a character that ends a prefixed name, then '#': the rest of the line
        # must not be mistaken for a comment
        "LOAD after escaped IRI": f"INSERT DATA {{ <{ID}a> <{ID}b> <http://x/\\u0041(#> }} ; LOAD <{url}data.ttl>",
        "LOAD after escaped IRI 2": f"INSERT DATA {{ <{ID}a> <{ID}b> <\\u0068ttp://x/;#> }} ; LOAD <{url}data.ttl>",
        "LOAD after escaped local name": (f"PREFIX e: <{ID}> INSERT DATA {{ <{ID}a> <{ID}b> e:a\\(\\# }} ; "
                                          f"LOAD <{url}data.ttl>"),
        "SERVICE in WHERE": f"INSERT {{ GRAPH <{ID}x> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SERVICE SILENT in WHERE": f"INSERT {{ GRAPH <{ID}x> {{ ?s ?p ?o }} }} WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        "SERVICE variable": f"INSERT {{ GRAPH <{ID}x> {{ ?s ?p ?o }} }} WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        "SERVICE in subquery": (f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{url}> "
                                f"{{ ?s ?p ?o }} }} }} GRAPH ?g {{ ?s ?p ?o }} }}"),
        "SERVICE in DELETE WHERE's second op": (f"INSERT DATA {{ <{ID}a> <{ID}b> <{ID}c> }} ; INSERT {{ GRAPH <{ID}x> "
                                                f"{{ ?s ?p ?o }} }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"),
    }


@pytest.mark.parametrize("case", list(ssrf_updates("http://x/")))
def test_updates_that_would_fetch_are_refused_even_for_a_maintainer(writable_server, listener, case):
    before = health(writable_server)
    r = update(writable_server, ssrf_updates(listener.url)[case])
    assert_refused(r, 400, "LOAD" if "LOAD" in case.upper() else "SERVICE")
    listener.assert_untouched(f"update: {case}")
    assert health(writable_server) == before


def test_load_in_a_form_update_is_refused(writable_server, listener):
    before = health(writable_server)
    r = requests.post(writable_server.url + "/sparql", data={"update": f"LOAD <{listener.url}x.ttl>"},
                      headers={**MAINTAINER, "Accept": JSON})
    assert_refused(r, 400, "LOAD")
    listener.assert_untouched("form update LOAD")
    assert health(writable_server) == before


@pytest.mark.parametrize("bad", [
    "http://example.org/g> WHERE {} ; DROP ALL ; INSERT { <a:b> <a:b> <a:b> } USING <http://example.org/h",
    "not an iri", "http://example.org/a b",
])
def test_using_graph_uri_cannot_inject_into_the_update(writable_server, bad):
    """using-graph-uri is written into the update text: a value that is not an IRI must be refused,
    not spliced in (else it could add operations such as DROP ALL)."""
    before = health(writable_server)
    r = update(writable_server, f"INSERT {{ GRAPH <{ID}u> {{ ?s ?p ?o }} }} WHERE {{ ?s ?p ?o }}",
               **{"using-graph-uri": bad})
    assert_refused(r, 400, "using-graph-uri")
    assert health(writable_server) == before


# --- SSRF: bodies that name remote resources ---------------------------------------------------------

def jsonld_remote_context(url):
    return json.dumps({"@context": url + "context.jsonld", "@id": ID + "remote-ctx", "label": "x"})


def jsonld_nested_remote_context(url):
    return json.dumps({"@context": [{"ex": "http://example.org/"}, url + "ctx.jsonld"],
                       "@id": ID + "remote-ctx", "ex:p": {"@context": url + "inner.jsonld", "@id": "ex:o"}})


def xxe(url, target):
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "{target}"> '
            f'<!ENTITY % remote SYSTEM "{url}dtd"> %remote; ]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
            f'<rdf:Description rdf:about="{ID}xxe"><rdfs:label>&xxe;</rdfs:label></rdf:Description></rdf:RDF>')


def remote_bodies(url):
    return {
        "jsonld remote @context": ("application/ld+json", jsonld_remote_context(url)),
        "jsonld nested remote @context": ("application/ld+json", jsonld_nested_remote_context(url)),
        "jsonld @import": ("application/ld+json", json.dumps({"@context": {"@version": 1.1, "@import": url + "imp.jsonld"},
                                                              "@id": ID + "remote-ctx", "label": "x"})),
        "jsonld scoped remote context": ("application/ld+json", json.dumps(
            {"@context": {"@vocab": "http://example.org/", "p": {"@context": url + "scoped.jsonld"}},
             "@id": ID + "remote-ctx", "p": {"q": "x"}})),
        "turtle owl:imports": ("text/turtle", f"<{ID}imp> <http://www.w3.org/2002/07/owl#imports> <{url}onto.ttl> ;"
                                              f" <http://www.w3.org/2000/01/rdf-schema#seeAlso> <{url}more.ttl> ."),
        "trig owl:imports": ("application/trig", f"<{ID}g> {{ <{ID}imp> <http://www.w3.org/2002/07/owl#imports> "
                                                 f"<{url}onto.ttl> }}"),
        "rdfxml XXE to the listener": ("application/rdf+xml", xxe(url, url + "entity")),
        "rdfxml XXE to a file": ("application/rdf+xml", xxe(url, "file:///etc/passwd")),
    }


def assert_no_secret_stored(writable_server):
    dump = requests.get(writable_server.url + "/dumps/entente.nq").text
    assert "root:" not in dump and "/bin/" not in dump


@pytest.mark.parametrize("case", list(remote_bodies("http://x/")))
def test_gsp_bodies_never_make_the_server_fetch(writable_server, listener, case):
    media_type, body = remote_bodies(listener.url)[case]
    graph = ID + "gsp-remote"
    r = requests.put(writable_server.url + "/store", params={"graph": graph}, data=body.encode(),
                     headers={**MAINTAINER, "Content-Type": media_type, "Accept": JSON})
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["message"]
    listener.assert_untouched(f"GSP PUT {case}")
    assert_no_secret_stored(writable_server)


@pytest.mark.parametrize("case", list(remote_bodies("http://x/")))
@pytest.mark.parametrize("path,headers", [("/validate", {}), ("/contributions", CONTRIBUTOR)],
                         ids=["validate", "contributions"])
def test_contribution_bodies_never_make_the_server_fetch(writable_server, listener, case, path, headers):
    media_type, body = remote_bodies(listener.url)[case]
    r = requests.post(writable_server.url + path, data=body.encode(),
                      headers={**headers, "Content-Type": media_type, "Accept": JSON})
    assert r.status_code < 500, r.text
    assert "root:" not in r.text
    listener.assert_untouched(f"POST {path} {case}")


def test_picture_about_a_url_never_fetches(writable_server, listener):
    r = requests.get(writable_server.url + "/picture.svg", params={"about": listener.url})
    assert r.status_code == 400 and "about" in r.text
    listener.assert_untouched("picture about=")


# --- HTML and SVG injection --------------------------------------------------------------------------

PAYLOADS = {
    "script": "<script>alert('xss-1')</script>",
    "end script": "</script><script>alert('xss-2')</script>",
    "attribute": '" onmouseover="alert(\'xss-3\')" x="',
    "img": "<img src=x onerror=alert('xss-4')>",
    "svg": "<svg onload=alert('xss-5')>",
    "template": "{{ 7*7 }}{% raw %}",
}
EVIL = ID + "evil-resource"


class Audit(html.parser.HTMLParser):
    """Flags what an injection would leave in a page: event-handler attributes, javascript: links,
    inline scripts that are not JSON-LD, JSON-LD blocks that do not parse."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self.text, self.data_blocks, self._script = [], [], [], None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "xlink:href", "formaction") and value and \
                    value.strip().lower().replace("\t", "").replace("\n", "").startswith(("javascript:", "vbscript:", "data:text")):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            attrs, parts = self._script
            content = "".join(parts)
            if attrs.get("type") in ("application/ld+json", "application/json"):   # data, not code
                try:
                    self.data_blocks.append(json.loads(content))
                except ValueError:
                    self.problems.append(f"JSON block broken: {content[:120]!r}")
            elif content.strip():
                self.problems.append(f"inline script: {content[:120]!r}")
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
        else:
            self.text.append(data)


def audit(page: str) -> Audit:
    a = Audit()
    a.feed(page)
    a.close()
    assert a._script is None, "a <script> element never ends"
    assert not a.problems, a.problems
    return a


def literal(text):
    return json.dumps(text)   # a valid SPARQL string literal (JSON escapes are SPARQL escapes)


@pytest.fixture(scope="module")
def evil(writable_server):
    """Hostile literals and a javascript: IRI written into the store by the maintainer."""
    graph = "https://w3id.org/entente/graph/evil-graph"
    triples = [f"<{EVIL}> <{RDFS}label> {literal(PAYLOADS['script'])}@en",
               f"<{EVIL}> <{RDFS}comment> {literal(' '.join(PAYLOADS.values()))}@en",
               f"<{EVIL}> a <{ENT}SovereignState>",
               f"<{EVIL}> <{ENT}finances> <{ID}iran>",
               f"<{EVIL}> <{ENT}alliedWith> <javascript:alert('xss-6')>",
               f"<{EVIL}> <{RDFS}seeAlso> <javascript:alert('xss-7')>",
               f"<{EVIL}> <http://www.w3.org/2002/07/owl#sameAs> <javascript:alert('xss-8')>",
               f"<javascript:alert('xss-9')> <{ENT}finances> <{EVIL}>",
               f"<{ID}a&b'c> <{ENT}finances> <{EVIL}>",        # '&' and "'" are allowed in IRIs
               f"<{ID}a&b'c> a <{ENT}SovereignState>",
               f"<{graph}> <{ENT}evidence> <{ID}evil-span>",   # a claim graph: its relations are pictured
               f"<{graph}> <{ENT}modality> <{ENT}Hedged>",
               f"<{ID}iran> <{RDFS}comment> {literal(PAYLOADS['end script'])}",
               f"<{ID}iran> <{ENT}finances> {literal(PAYLOADS['attribute'])}",
               f"<{ENT}finances> <{RDFS}comment> {literal(PAYLOADS['img'])}@en",
               f"<{ID}bloomberg-iran-russia-2015> <http://purl.org/dc/terms/title> {literal(PAYLOADS['svg'])}@en"]
    r = update(writable_server, f"INSERT DATA {{ GRAPH <{graph}> {{ {' . '.join(triples)} }} }}")
    assert r.status_code == 204, r.text
    r = requests.put(writable_server.url + "/store", params={"graph": "javascript:alert('xss-10')"},   # an absolute IRI
                     data=f"<{EVIL}> <{ENT}finances> <{ID}iran> . <{ID}iran> <{RDFS}label> {literal(PAYLOADS['img'])} .",
                     headers={**MAINTAINER, "Content-Type": "text/turtle"})
    assert r.status_code in (201, 400), r.text
    r = update(writable_server, f"INSERT DATA {{ GRAPH <https://w3id.org/entente/graph/ontology> {{ <{ENT}finances> "
                     f"<{RDFS}label> {literal(PAYLOADS['end script'])}@de }} }}")
    assert r.status_code == 204, r.text
    return graph


def page(writable_server, path, **kw):
    r = requests.get(writable_server.url + path, headers={"Accept": "text/html"}, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/html")
    return r.text


@pytest.mark.parametrize("path", ["/id/evil-resource.html", "/id/iran.html", "/graph/evil-graph.html",
                                  "/id/bloomberg-iran-russia-2015.html", "/ontology.html", "/"])
def test_pages_show_hostile_data_as_text(writable_server, evil, path):
    text = "".join(audit(page(writable_server, path)).text)
    if path == "/id/evil-resource.html":
        assert PAYLOADS["script"] in text          # shown, as text
        assert PAYLOADS["img"] in text
    if path == "/id/iran.html":
        assert PAYLOADS["attribute"] in text


def test_jsonld_embedding_keeps_hostile_literals_intact(writable_server, evil):
    """`</script>` inside a literal neither ends the JSON-LD block nor is lost from it."""
    blocks = audit(page(writable_server, "/id/iran.html")).data_blocks
    assert PAYLOADS["end script"] in json.dumps(blocks, ensure_ascii=False)


def test_javascript_iris_are_never_links(writable_server, evil):
    for path in ("/id/evil-resource.html", "/graph/evil-graph.html"):
        body = page(writable_server, path)
        audit(body)
        assert "alert('xss-6')" in body or "alert(&#39;xss-6&#39;)" in body   # shown, not linked


@pytest.mark.parametrize("params", [{}, {"about": EVIL}, {"about": ID + "iran"}], ids=["whole", "evil", "iran"])
def test_pictures_escape_hostile_labels(writable_server, evil, params):
    r = requests.get(writable_server.url + "/picture.svg", params=params)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)           # well-formed XML: nothing broke out of a label
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "foreignObject", "img"), tag
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            assert not local.startswith("on"), (tag, name, value)
            if local == "href":
                assert not value.strip().lower().startswith("javascript:"), value
    if params.get("about") == EVIL:
        assert PAYLOADS["script"] in "".join(root.itertext())


@pytest.mark.parametrize("about", [ID + '" onmouseover="alert(1)', ID + "x\" onload=\"alert(2)", ID + "a<svg>"])
def test_picture_about_cannot_break_out_of_an_attribute(writable_server, about):
    """dot copies a node's URL into the SVG as it is: `about` must never carry a quote or a tag into it."""
    r = requests.get(writable_server.url + "/picture.svg", params={"about": about})
    assert r.status_code == 400, r.text[:300]
    assert "onmouseover=\"alert" not in r.text and "<svg>" not in r.text


@pytest.mark.parametrize("path", [
    "/id/<script>alert('e1')</script>",
    "/id/x%22%3E%3Cscript%3Ealert('e2')%3C/script%3E.html",
    "/graph/%3Cimg%20src=x%20onerror=alert('e3')%3E",
    "/sparql?query=%3Cscript%3Ealert('e4')%3C/script%3E",
    "/sparql?query=SELECT%20*%20WHERE%20%7B%7D&format=%3Cscript%3Ealert('e5')%3C/script%3E",
    "/sparql?query=SELECT%20*%20WHERE%20%7B%7D&union-default-graph=%3Cscript%3Ealert('e6')%3C/script%3E",
    "/picture.svg?about=%3Cscript%3Ealert('e7')%3C/script%3E",
    "/contributions/%3Cscript%3Ealert('e8')%3C%2Fscript%3E",
    "/ontology.%3Cscript%3E",
])
def test_error_pages_escape_echoed_input(writable_server, path):
    r = requests.get(writable_server.url + path, headers={"Accept": "text/html"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.headers["Content-Type"].startswith("text/html"):
        audit(r.text)
        assert "<script>alert" not in r.text and "<img src=x" not in r.text


@pytest.mark.parametrize("params", [
    {"edit": "</script><script>alert('q1')</script>"},
    {"edit": "SELECT * WHERE { ?s ?p \"<!--<script>\" }"},
    {"example": "<script>alert('q2')</script>"},
])
def test_query_page_escapes_its_parameters(writable_server, params):
    blocks = audit(page(writable_server, "/sparql", params=params)).data_blocks
    if "edit" in params:
        assert any(b.get("edit") == params["edit"] for b in blocks if isinstance(b, dict))


def test_host_header_cannot_inject_into_links(writable_server):
    r = requests.get(writable_server.url + "/", headers={"Accept": "text/html", "Host": 'x"><script>alert(1)</script>'})
    assert r.status_code < 500
    if r.status_code == 200:
        audit(r.text)


# --- tokens ---------------------------------------------------------------------------------------------

def test_tokens_are_compared_in_constant_time():
    """auth.py compares token hashes with hmac.compare_digest, never with ==."""
    source = (ROOT / "server" / "web" / "auth.py").read_text()
    assert "hmac.compare_digest" in source
    assert "token ==" not in source and "== token" not in source and "digest ==" not in source


@pytest.mark.parametrize("token", [MAINTAINER_TOKEN + "x", "x" + MAINTAINER_TOKEN, CONTRIBUTOR_TOKEN,
                                   MAINTAINER_TOKEN[:-1], "secret-<script>alert(1)</script>"])
@pytest.mark.parametrize("accept", [JSON, "text/html", "text/plain"])
def test_wrong_tokens_are_refused_and_never_echoed(writable_server, token, accept):
    before = health(writable_server)
    for r in (requests.post(writable_server.url + "/sparql", data=f"INSERT DATA {{ <{ID}t> <{ID}t> <{ID}t> }}",
                            headers={"Authorization": f"Bearer {token}", "Content-Type": UPDATE, "Accept": accept}),
              requests.put(writable_server.url + "/store", params={"graph": ID + "t"}, data=f"<{ID}t> <{ID}t> <{ID}t> .",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "text/turtle",
                                    "Accept": accept})):
        assert r.status_code == 403, (r.status_code, r.text)
        assert token not in r.text and "<script>alert(1)" not in r.text
        assert "token" in r.text.lower()
    assert health(writable_server) == before


def test_tokens_are_never_logged(writable_server):
    """After every request of this module (right, wrong and contributor tokens), the server's log holds
    none of them."""
    requests.post(writable_server.url + "/sparql", data="NOT AN UPDATE", headers={**MAINTAINER, "Content-Type": UPDATE})
    requests.post(writable_server.url + "/contributions", data="<a> <b> .", headers={**CONTRIBUTOR, "Content-Type": "text/turtle"})
    log = Path(writable_server.log).read_text(errors="replace")
    for token in (MAINTAINER_TOKEN, CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN[:12]):
        assert token not in log


def test_refused_writes_leave_the_data_unchanged(writable_server, listener):
    """Last: nothing refused in this module wrote anything, and the listener never saw a connection."""
    listener.assert_untouched("the whole module")
    r = sparql(writable_server, f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?s IN (<{ID}t>, <{ID}a>, <{ID}loaded>) "
                     f"|| ?g IN (<{ID}x>, <{ID}u>, <{ID}t>)) }}")
    assert r.status_code == 200 and r.json()["boolean"] is False


def test_the_listener_sees_a_connection_when_one_is_made():
    """Control: the proof above is only as good as the listener, so show that it notices a client."""
    lst = Listener()
    try:
        with pytest.raises(requests.RequestException):
            requests.get(lst.url, timeout=0.5)
        time.sleep(0.3)
        with pytest.raises(AssertionError):
            lst.assert_untouched("a direct request")
    finally:
        lst.close()


# --- contributions: hostile reasons and bodies, shown to browsers ---------------------------------------

GOOD_TRIG = (ROOT / "tests" / "data" / "contributions" / "good-katz-friendly.trig").read_bytes()


def test_a_hostile_reject_reason_is_shown_as_text(writable_server):
    r = requests.post(writable_server.url + "/contributions", data=GOOD_TRIG,
                      headers={**CONTRIBUTOR, "Content-Type": "application/trig", "Accept": JSON})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    reason = PAYLOADS["end script"] + PAYLOADS["attribute"]
    r = requests.post(f"{writable_server.url}/contributions/{cid}/reject", json={"reason": reason},
                      headers={**MAINTAINER, "Accept": JSON})
    assert r.status_code == 200, r.text
    for path in (f"/contributions/{cid}", "/contributions", "/contributions?state=rejected",
                 f"/contribution/{cid}.html"):
        r = requests.get(writable_server.url + path, headers={"Accept": "text/html"})
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        text = "".join(audit(r.text).text)
        if path != "/contributions":
            assert "alert('xss-2')" in text or "alert('xss-3')" in text, path


@pytest.mark.parametrize("body", [
    b'@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . <https://w3id.org/entente/id/x> rdfs:label "</script><script>alert(\'v1\')</script>" ; <http://x/<script>> 1 .',
    b'<script>alert("v2")</script>',
    b'<https://w3id.org/entente/id/x> <http://www.w3.org/2000/01/rdf-schema#label> "<img src=x onerror=alert(\'v3\')>" .',
])
@pytest.mark.parametrize("path,headers", [("/validate", {}), ("/contributions", CONTRIBUTOR)],
                         ids=["validate", "contributions"])
def test_reports_and_parse_errors_for_browsers_are_escaped(writable_server, body, path, headers):
    r = requests.post(writable_server.url + path, data=body,
                      headers={**headers, "Content-Type": "text/turtle", "Accept": "text/html"})
    assert r.status_code < 500, r.text
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    if r.headers["Content-Type"].startswith("text/html"):
        audit(r.text)


def test_gsp_parse_errors_for_browsers_are_escaped(writable_server):
    r = requests.put(writable_server.url + "/store", params={"graph": ID + "err"}, data=b"<script>alert('g1')</script> .",
                     headers={**MAINTAINER, "Content-Type": "text/turtle", "Accept": "text/html"})
    assert r.status_code == 400
    audit(r.text)
    assert "<script>alert" not in r.text
