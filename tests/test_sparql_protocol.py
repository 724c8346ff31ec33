"""/sparql over real HTTP: SPARQL 1.1 Protocol, formats through real clients (SPARQLWrapper, rdflib's
SPARQLStore), negotiation, errors, datasets, the Service Description, federation and /health."""

from __future__ import annotations

import socket
import threading

import pytest
import rdflib
import requests
from conftest import LiveServer, free_port
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

from server.store.sparql_text import apply_using, graph_constants, has_dataset_clause

EX = "http://example.org/"
DATASET = f"""@prefix ex: <{EX}> .
ex:g1 {{ ex:iran ex:finances ex:hezbollah . ex:iran ex:label "Iran"@en . ex:iran ex:population 80 . }}
ex:g2 {{ ex:russia ex:allyOf ex:iran . ex:russia ex:label "Russia" . _:b ex:note "a blank node" . }}
"""
SELECT = f"SELECT ?o WHERE {{ <{EX}iran> <{EX}finances> ?o }}"
CONSTRUCT = f"CONSTRUCT {{ ?s <{EX}allyOf> ?o }} WHERE {{ ?s <{EX}allyOf> ?o }}"
RESULTS_JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def protocol_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("sparql-protocol")
    dataset = root / "dataset.trig"
    dataset.write_text(DATASET)
    server = LiveServer(root / "store", dataset).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def endpoint(protocol_server) -> str:
    return protocol_server.url + "/sparql"


def wrapper(endpoint, query, fmt, method="GET", request_method=URLENCODED) -> SPARQLWrapper:
    sw = SPARQLWrapper(endpoint)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    sw.setRequestMethod(request_method)
    return sw


# --- real clients, every format ------------------------------------------------------------------

@pytest.mark.parametrize("method,request_method", [("GET", URLENCODED), (POST, URLENCODED), (POST, POSTDIRECTLY)])
def test_sparqlwrapper_select_json(endpoint, method, request_method):
    result = wrapper(endpoint, SELECT, JSON, method, request_method).query()
    assert result.response.headers["Content-Type"].startswith(RESULTS_JSON)
    bindings = result.convert()["results"]["bindings"]
    assert bindings == [{"o": {"type": "uri", "value": EX + "hezbollah"}}]


def test_sparqlwrapper_select_xml(endpoint):
    document = wrapper(endpoint, SELECT, XML).query().convert()
    uris = [node.firstChild.data for node in document.getElementsByTagName("uri")]
    assert uris == [EX + "hezbollah"]


@pytest.mark.parametrize("fmt,separator", [(CSV, ","), (TSV, "\t")])
def test_sparqlwrapper_select_csv_tsv(endpoint, fmt, separator):
    text = wrapper(endpoint, f"SELECT ?s ?l WHERE {{ ?s <{EX}label> ?l }} ORDER BY ?l", fmt).query().convert()
    lines = text.decode().strip().splitlines()
    assert len(lines) == 3
    assert lines[0].replace("?", "") == f"s{separator}l"
    assert "Iran" in lines[1] and "Russia" in lines[2]


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_ask(endpoint, fmt):
    yes = wrapper(endpoint, f"ASK {{ <{EX}russia> <{EX}allyOf> <{EX}iran> }}", fmt).query().convert()
    no = wrapper(endpoint, f"ASK {{ <{EX}iran> <{EX}allyOf> <{EX}russia> }}", fmt).query().convert()
    if fmt == JSON:
        assert yes["boolean"] is True and no["boolean"] is False
    else:
        assert yes.getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert no.getElementsByTagName("boolean")[0].firstChild.data == "false"


@pytest.mark.parametrize("fmt,parser", [(TURTLE, "turtle"), (RDFXML, None), (JSONLD, "json-ld"), (N3, "turtle")])
def test_sparqlwrapper_construct(endpoint, fmt, parser):
    converted = wrapper(endpoint, CONSTRUCT, fmt).query().convert()
    graph = converted if isinstance(converted, rdflib.Graph) else rdflib.Graph().parse(data=converted, format=parser)
    assert set(graph) == {(rdflib.URIRef(EX + "russia"), rdflib.URIRef(EX + "allyOf"), rdflib.URIRef(EX + "iran"))}


def test_sparqlwrapper_describe(endpoint):
    graph = rdflib.Graph().parse(data=wrapper(endpoint, f"DESCRIBE <{EX}russia>", TURTLE).query().convert(),
                                 format="turtle")
    assert (rdflib.URIRef(EX + "russia"), rdflib.URIRef(EX + "label"), rdflib.Literal("Russia")) in graph


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_rdflib_sparqlstore_select_and_ask(endpoint, fmt):
    graph = rdflib.Graph(SPARQLStore(endpoint, returnFormat=fmt))
    rows = list(graph.query(f"SELECT ?s ?o WHERE {{ ?s <{EX}finances> ?o }}"))
    assert [(str(r[0]), str(r[1])) for r in rows] == [(EX + "iran", EX + "hezbollah")]
    if fmt in ("json", "xml"):
        assert graph.query(f"ASK {{ <{EX}iran> <{EX}finances> <{EX}hezbollah> }}").askAnswer is True


def test_rdflib_sparqlstore_construct_and_triples(endpoint):
    graph = rdflib.Graph(SPARQLStore(endpoint, returnFormat="xml"))
    constructed = graph.query(CONSTRUCT).graph
    assert len(constructed) == 1
    assert (rdflib.URIRef(EX + "iran"), rdflib.URIRef(EX + "finances"), rdflib.URIRef(EX + "hezbollah")) in graph


@pytest.mark.parametrize("media_type,parser", [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
    ("application/ld+json", "json-ld"), ("application/trig", "trig"), ("application/n-quads", "nquads")])
def test_construct_in_every_rdf_format(endpoint, media_type, parser):
    r = requests.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": media_type})
    assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == media_type
    data = rdflib.Dataset() if parser in ("trig", "nquads") else rdflib.Graph()
    data.parse(data=r.content, format=parser)
    assert (rdflib.URIRef(EX + "russia"), rdflib.URIRef(EX + "allyOf"), rdflib.URIRef(EX + "iran")) in \
        (data.default_graph if parser in ("trig", "nquads") else data)


# --- negotiation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("accept,expected", [
    (None, RESULTS_JSON), ("*/*", RESULTS_JSON),
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0.2, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
    ("text/*", "text/csv"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", RESULTS_JSON),
])
def test_select_negotiation(endpoint, accept, expected):
    headers = {"Accept": accept} if accept else {}
    r = requests.get(endpoint, params={"query": SELECT}, headers=headers)
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == expected
    assert "Accept" in r.headers["Vary"]


def test_construct_default_is_turtle(endpoint):
    r = requests.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": "*/*"})
    assert r.headers["Content-Type"] == "text/turtle; charset=utf-8"


def test_format_parameter_overrides_accept(endpoint):
    r = requests.get(endpoint, params={"query": SELECT, "format": "csv"}, headers={"Accept": RESULTS_JSON})
    assert r.headers["Content-Type"].startswith("text/csv") and r.text.splitlines()[0] == "o"
    r = requests.get(endpoint, params={"query": CONSTRUCT, "format": "application/n-triples"})
    assert r.headers["Content-Type"].startswith("application/n-triples")


def test_unsatisfiable_accept_is_406(endpoint):
    r = requests.get(endpoint, params={"query": SELECT}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and RESULTS_JSON in r.text
    r = requests.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert r.status_code == 406
    r = requests.get(endpoint, params={"query": CONSTRUCT, "format": "csv"})
    assert r.status_code == 406 and "format" in r.text


# --- errors ------------------------------------------------------------------------------------------

def test_malformed_query_is_400_with_message_and_position(endpoint):
    r = requests.get(endpoint, params={"query": "SELECT *\nWHERE { ?s ?p }"}, headers={"Accept": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert "syntax error" in body["message"] and body["where"]["line"] == 2
    assert isinstance(body["where"]["column"], int)


def test_absurd_nesting_is_400_and_the_server_still_answers(endpoint):
    deep = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    r = requests.post(endpoint, data=deep.encode(), headers={"Content-Type": "application/sparql-query",
                                                              "Accept": "application/json"})
    assert r.status_code == 400 and "1000" in r.json()["message"] and r.json()["where"] == {"line": 1, "column": 1016}
    ok = "SELECT * WHERE " + "{" * 200 + "}" * 200
    assert requests.post(endpoint, data=ok.encode(), headers={"Content-Type": "application/sparql-query"}).status_code == 200


def test_update_sent_as_query_is_400(endpoint):
    r = requests.get(endpoint, params={"query": f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}"})
    assert r.status_code == 400


def test_update_with_get_is_400(endpoint):
    r = requests.get(endpoint, params={"update": "CLEAR ALL"})
    assert r.status_code == 400 and "POST" in r.text


def test_two_queries_are_400(endpoint):
    r = requests.get(endpoint, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert r.status_code == 400


def test_wrong_method_is_405_with_allow(endpoint):
    r = requests.put(endpoint, data="ASK {}", headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_wrong_content_type_is_415(endpoint, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = requests.post(endpoint, data=b"ASK {}", headers=headers)
    assert r.status_code == 415


def test_non_utf8_charset_is_415(endpoint):
    r = requests.post(endpoint, data="ASK {}".encode("utf-16"),
                      headers={"Content-Type": "application/sparql-query; charset=UTF-16"})
    assert r.status_code == 415


def test_error_bodies_follow_accept(endpoint):
    r = requests.get(endpoint, params={"query": "ASK {"}, headers={"Accept": "text/html"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/html") and "<h1>" in r.text
    r = requests.get(endpoint, params={"query": "ASK {"}, headers={"Accept": RESULTS_JSON})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/plain")


# --- datasets ------------------------------------------------------------------------------------------

def count(endpoint, query="SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **params) -> int:
    r = requests.get(endpoint, params={"query": query, **params}, headers={"Accept": RESULTS_JSON})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_default_graph_is_the_union_unless_asked_otherwise(endpoint):
    assert count(endpoint) == 6
    assert count(endpoint, **{"union-default-graph": "false"}) == 0
    with pytest.raises(AssertionError):
        count(endpoint, **{"union-default-graph": "maybe"})


def test_default_and_named_graph_uri(endpoint):
    assert count(endpoint, **{"default-graph-uri": EX + "g1"}) == 3
    r = requests.get(endpoint, params=[("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
                                       ("default-graph-uri", EX + "g1"), ("default-graph-uri", EX + "g2")],
                     headers={"Accept": RESULTS_JSON})
    assert r.json()["results"]["bindings"][0]["n"]["value"] == "6"
    named = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count(endpoint, named, **{"named-graph-uri": EX + "g2"}) == 3
    assert count(endpoint, named) == 6


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_a_graph_uri_that_is_not_an_iri_is_400(endpoint, param):
    r = requests.get(endpoint, params={"query": "ASK {}", param: "not an iri"}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "not an absolute IRI" in r.json()["message"]


def test_from_selects_graphs_and_fetches_nothing(endpoint):
    """FROM <url> names a graph of the store; the server never fetches it (a listener sees no connection)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(1.5)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.ttl"
    connections = []

    def accept():
        try:
            connections.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        assert count(endpoint, f"SELECT (COUNT(*) AS ?n) FROM <{url}> WHERE {{ ?s ?p ?o }}") == 0
        assert count(endpoint, f"SELECT (COUNT(*) AS ?n) FROM <{EX}g2> WHERE {{ ?s ?p ?o }}") == 3
        r = requests.get(endpoint, params={"query": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"})
        assert r.status_code == 400 and "allowlist" in r.text
        thread.join()
    finally:
        listener.close()
    assert connections == []


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://evil.example/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT ?endpoint { ?s ?p ?o } }",
    "PREFIX x: <http://evil.example/> SELECT * WHERE { ?a ?b ?c OPTIONAL { SERVICE x:sparql { ?s ?p ?o } } }",
])
def test_service_outside_the_allowlist_is_refused(endpoint, query):
    r = requests.get(endpoint, params={"query": query}, headers={"Accept": "application/json"})
    assert r.status_code == 400
    assert "SERVICE" in r.json()["message"] and "https://query.wikidata.org/sparql" in r.json()["message"]


def test_service_on_the_allowlist_is_called(protocol_server, make_server):
    """A second server that allows SERVICE calls to the first one gets the first one's data."""
    federating = make_server(env={"ENTENTE_SERVICE_ALLOWLIST": protocol_server.url + "/sparql"})
    r = requests.get(federating.url + "/sparql", headers={"Accept": RESULTS_JSON}, params={
        "query": f"SELECT ?o WHERE {{ SERVICE <{protocol_server.url}/sparql> {{ <{EX}iran> <{EX}finances> ?o }} }}"})
    assert r.status_code == 200, r.text
    assert [b["o"]["value"] for b in r.json()["results"]["bindings"]] == [EX + "hezbollah"]


def test_an_allowed_service_that_fails_is_502_and_silent_ignores_it(make_server):
    dead = f"http://127.0.0.1:{free_port()}/sparql"               # nothing listens there
    federating = make_server(env={"ENTENTE_SERVICE_ALLOWLIST": dead})
    query = f"SELECT * WHERE {{ SERVICE <{dead}> {{ ?s ?p ?o }} }}"
    r = requests.get(federating.url + "/sparql", params={"query": query}, headers={"Accept": "application/json"})
    assert r.status_code == 502 and "SERVICE" in r.json()["message"]
    r = requests.get(federating.url + "/sparql", params={"query": query.replace("SERVICE", "SERVICE SILENT")},
                     headers={"Accept": RESULTS_JSON})
    assert r.status_code == 200 and r.json()["results"]["bindings"] == [{}]


# --- Service Description, page, health -------------------------------------------------------------

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")


@pytest.mark.parametrize("accept,parser", [("text/turtle", "turtle"), ("application/rdf+xml", "xml"),
                                            ("application/ld+json", "json-ld"), ("application/n-triples", "nt")])
def test_service_description(endpoint, accept, parser):
    r = requests.get(endpoint, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == accept
    graph = rdflib.Graph().parse(data=r.content, format=parser)
    service = rdflib.URIRef(endpoint)
    assert (service, SD.endpoint, service) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    names = {str(n) for n in graph.objects(None, SD.name)}
    assert names == {EX + "g1", EX + "g2"}
    dataset = graph.value(service, SD.defaultDataset)
    default_graph = graph.value(dataset, SD.defaultGraph)
    assert graph.value(default_graph, rdflib.URIRef("http://rdfs.org/ns/void#triples")).toPython() == 6
    result_formats = {str(f) for f in graph.objects(service, SD.resultFormat)}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_CSV" in result_formats
    assert "http://www.w3.org/ns/formats/N-Quads" in result_formats


def test_browsers_get_the_query_page(endpoint):
    r = requests.get(endpoint, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")


def test_health(protocol_server):
    body = requests.get(protocol_server.url + "/health").json()
    assert body["status"] == "ok" and body["triples"] == 6 and body["version"]


# --- the text lexer behind FROM detection and using-graph-uri ----------------------------------------

def test_dataset_clause_detection_ignores_strings_iris_and_groups():
    assert has_dataset_clause("SELECT * FROM <http://x/g> WHERE { ?s ?p ?o }")
    assert has_dataset_clause("PREFIX ex: <http://x/> SELECT * FROM NAMED ex:g { GRAPH ?g { ?s ?p ?o } }")
    assert not has_dataset_clause('SELECT * WHERE { ?s ?p "FROM <x>" }')
    assert not has_dataset_clause("SELECT * WHERE { ?s <http://x/from#FROM> ?o } # FROM <y>")
    assert not has_dataset_clause("PREFIX from: <http://x/> SELECT * WHERE { ?s from:p ?o }")


def test_graph_constants_finds_every_graph_named_by_iri_at_any_depth():
    query = ('PREFIX graph: <http://x/graph/> SELECT * WHERE { GRAPH ?g { <http://x/graph/y> ?p "GRAPH <z>" } '
             "OPTIONAL { graph # a comment GRAPH <c>\n graph:c\\.d { } } { GRAPH<http://x/e> {} } } # GRAPH <f>")
    assert [query[start:end] for _, start, end in graph_constants(query)] == ["graph:c\\.d", "<http://x/e>"]
    assert [query[k:k + 5].upper() for k, _, _ in graph_constants(query)] == ["GRAPH", "GRAPH"]
    assert graph_constants("SELECT ?graph WHERE { ?graph <http://x/p> ?o }") == []
    assert graph_constants('SELECT * WHERE { GRAPH "x" { } }') is None


def test_apply_using_puts_clauses_before_each_top_level_where():
    update = ('INSERT { ?s a <http://x/C> } WHERE { ?s ?p "WHERE { }" } ;\n'
              "DELETE WHERE { ?a ?b ?c } ;\nDELETE { ?s ?p ?o } WHERE { ?s ?p ?o }")
    out = apply_using(update, ["http://x/g"], ["http://x/n"])
    assert out.count("USING <http://x/g> USING NAMED <http://x/n> WHERE") == 2
    assert "DELETE WHERE { ?a ?b ?c }" in out and '"WHERE { }"' in out


def test_apply_using_refuses_updates_with_their_own_dataset():
    from server.errors import BadRequest

    for update in ("WITH <http://x/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
                   "INSERT { ?s ?p ?o } USING <http://x/g> WHERE { ?s ?p ?o }"):
        with pytest.raises(BadRequest):
            apply_using(update, ["http://x/h"], [])
