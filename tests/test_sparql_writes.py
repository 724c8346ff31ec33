"""Writes over real HTTP: SPARQL Update and the Graph Store Protocol, tokens, versions, durability,
restarts and readers during writes."""

from __future__ import annotations

import signal
import threading

import pytest
import rdflib
import requests
from conftest import CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN, LiveServer
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

EX = "http://example.org/"
DATASET = f"""@prefix ex: <{EX}> .
ex:g1 {{ ex:iran ex:finances ex:hezbollah . ex:iran ex:label "Iran"@en . }}
ex:g2 {{ ex:russia ex:allyOf ex:iran . }}
"""
MAINTAINER = {"Authorization": f"Bearer {MAINTAINER_TOKEN}"}
JSON = "application/sparql-results+json"


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "dataset.trig"
    path.write_text(DATASET)
    return path


@pytest.fixture(scope="module")
def scratch_server(tmp_path_factory) -> LiveServer:
    """One writable server for the tests below; each test writes to graphs of its own."""
    root = tmp_path_factory.mktemp("sparql-writes")
    (root / "dataset.trig").write_text(DATASET)
    server = LiveServer(root / "store", root / "dataset.trig").start()
    yield server
    server.stop()


@pytest.fixture
def own(make_server, dataset) -> LiveServer:
    """A server of the test's own, for restarts and kills."""
    return make_server(dataset=dataset)


def health(scratch_server) -> dict:
    return requests.get(scratch_server.url + "/health").json()


def ask(scratch_server, pattern: str) -> bool:
    r = requests.get(scratch_server.url + "/sparql", params={"query": f"ASK {{ {pattern} }}"}, headers={"Accept": JSON})
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


def update(scratch_server, text, headers=MAINTAINER, **params):
    return requests.post(scratch_server.url + "/sparql", data=text.encode(), params=params,
                         headers={"Content-Type": "application/sparql-update", **headers})


INSERT = f"INSERT DATA {{ GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }} }}"


@pytest.mark.parametrize("headers,status", [
    ({}, 401), ({"Authorization": "Bearer wrong-token"}, 403),
    ({"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}, 403), ({"Authorization": MAINTAINER_TOKEN}, 401)])
def test_writes_without_a_maintainer_token_change_nothing(scratch_server, headers, status):
    before = health(scratch_server)
    assert update(scratch_server, INSERT, headers).status_code == status
    form = requests.post(scratch_server.url + "/sparql", data={"update": INSERT}, headers=headers)
    assert form.status_code == status
    for method in (requests.put, requests.post):
        r = method(scratch_server.url + "/store", params={"graph": EX + "g1"}, data=b"<http://x/a> <http://x/b> <http://x/c> .",
                   headers={"Content-Type": "application/n-triples", **headers})
        assert r.status_code == status
    assert requests.delete(scratch_server.url + "/store", params={"graph": EX + "g1"}, headers=headers).status_code == status
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert health(scratch_server) == before
    assert ask(scratch_server, f"<{EX}iran> <{EX}finances> <{EX}hezbollah>")


def test_update_with_the_maintainer_token_bumps_the_version(scratch_server):
    before = health(scratch_server)
    r = update(scratch_server, INSERT)
    assert r.status_code == 204, r.text
    after = health(scratch_server)
    assert after["version"] != before["version"] and after["triples"] == before["triples"] + 1
    assert ask(scratch_server, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    r = requests.post(scratch_server.url + "/sparql", data={"update": f"DROP GRAPH <{EX}g3>"}, headers=MAINTAINER)
    assert r.status_code == 204 and health(scratch_server)["triples"] == before["triples"]


def test_update_errors(scratch_server):
    before = health(scratch_server)
    r = update(scratch_server, "INSERT DATA {\n <a> }", {**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and r.json()["where"]["line"] == 2
    r = update(scratch_server, "LOAD <http://example.org/remote.ttl>", {**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and "LOAD" in r.json()["message"]
    r = requests.post(scratch_server.url + "/sparql", data=[("update", INSERT), ("update", INSERT)], headers=MAINTAINER)
    assert r.status_code == 400
    assert health(scratch_server) == before


def test_using_graph_uri(scratch_server):
    r = update(scratch_server, f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Funder> }} }} WHERE {{ ?s <{EX}finances> ?o }}",
               **{"using-graph-uri": EX + "g2"})
    assert r.status_code == 204
    assert not ask(scratch_server, f"GRAPH <{EX}out> {{ ?s ?p ?o }}")            # g2 has no ex:finances
    r = update(scratch_server, f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Funder> }} }} WHERE {{ ?s <{EX}finances> ?o }}",
               **{"using-graph-uri": EX + "g1"})
    assert r.status_code == 204
    assert ask(scratch_server, f"GRAPH <{EX}out> {{ <{EX}iran> a <{EX}Funder> }}")
    r = update(scratch_server, f"WITH <{EX}g1> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", **{"using-graph-uri": EX + "g2"})
    assert r.status_code == 400


def test_rdflib_update_store_as_a_client(scratch_server):
    store = SPARQLUpdateStore(scratch_server.url + "/sparql", scratch_server.url + "/sparql", headers=MAINTAINER)
    graph = rdflib.Graph(store, identifier=rdflib.URIRef(EX + "g9"))
    graph.add((rdflib.URIRef(EX + "x"), rdflib.URIRef(EX + "p"), rdflib.Literal("via rdflib")))
    assert ask(scratch_server, f"GRAPH <{EX}g9> {{ <{EX}x> <{EX}p> 'via rdflib' }}")


# --- Graph Store Protocol ----------------------------------------------------------------------------

def gsp(scratch_server, method, graph=None, default=False, data=None, content_type="text/turtle", headers=MAINTAINER,
        accept=None):
    params = {"default": ""} if default else ({"graph": graph} if graph else {})
    h = dict(headers)
    if data is not None:
        h["Content-Type"] = content_type
    if accept:
        h["Accept"] = accept
    return requests.request(method, scratch_server.url + "/store", params=params, data=data, headers=h)


def test_gsp_named_graph_lifecycle(scratch_server):
    g = EX + "people"
    assert gsp(scratch_server, "GET", g).status_code == 404
    assert gsp(scratch_server, "HEAD", g).status_code == 404
    assert gsp(scratch_server, "PUT", g, data=f"<{EX}jane> <{EX}name> 'Jane' .").status_code == 201
    assert gsp(scratch_server, "PUT", g, data=f"<{EX}jane> <{EX}name> 'Jane Doe' .").status_code == 204
    assert gsp(scratch_server, "POST", g, data=f"<{EX}jane> <{EX}age> 40 .").status_code == 204
    r = gsp(scratch_server, "GET", g, accept="application/n-triples")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=r.text, format="nt")
    assert len(graph) == 2 and (rdflib.URIRef(EX + "jane"), rdflib.URIRef(EX + "name"), rdflib.Literal("Jane Doe")) in graph
    head = gsp(scratch_server, "HEAD", g)
    assert head.status_code == 200 and head.content == b""
    assert gsp(scratch_server, "DELETE", g).status_code == 204
    assert gsp(scratch_server, "GET", g).status_code == 404
    assert gsp(scratch_server, "DELETE", g).status_code == 404


def test_gsp_default_graph(scratch_server):
    assert gsp(scratch_server, "PUT", default=True, data=f"<{EX}d> <{EX}p> 'in default' .").status_code == 204
    r = gsp(scratch_server, "GET", default=True, accept="text/turtle")
    assert r.status_code == 200 and "in default" in r.text
    assert ask(scratch_server, f"<{EX}d> <{EX}p> 'in default'")
    assert gsp(scratch_server, "DELETE", default=True).status_code == 204
    assert "in default" not in gsp(scratch_server, "GET", default=True).text


def test_gsp_post_to_the_store_creates_a_graph(scratch_server):
    r = gsp(scratch_server, "POST", data=f"<{EX}n> <{EX}p> 'created' .")
    assert r.status_code == 201
    location = r.headers["Location"]
    assert "created" in gsp(scratch_server, "GET", location).text


def test_gsp_multipart_post(scratch_server):
    files = {"a.ttl": ("a.ttl", f"<{EX}m> <{EX}p> 'one' .", "text/turtle"),
             "b.nt": ("b.nt", f"<{EX}m> <{EX}p> \"two\" .", "application/n-triples")}
    r = requests.post(scratch_server.url + "/store", params={"graph": EX + "multi"}, files=files, headers=MAINTAINER)
    assert r.status_code == 201
    assert len(rdflib.Graph().parse(data=gsp(scratch_server, "GET", EX + "multi").text, format="turtle")) == 2


def test_gsp_errors_change_nothing(scratch_server):
    before = health(scratch_server)
    r = gsp(scratch_server, "PUT", EX + "g1", data="<http://x/a> <http://x/b> .\n", headers={**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and r.json()["where"]["line"] == 1
    assert gsp(scratch_server, "PUT", EX + "g1", data="{}", content_type="application/json").status_code == 415
    assert gsp(scratch_server, "PUT", EX + "g1", data="x", content_type="image/png").status_code == 415
    r = requests.get(scratch_server.url + "/store", params=[("graph", EX + "g1"), ("default", "")])
    assert r.status_code == 400
    assert gsp(scratch_server, "GET", "not an iri").status_code == 400
    assert gsp(scratch_server, "GET", EX + "g1", accept="image/png").status_code == 406
    assert health(scratch_server) == before


def test_gsp_get_of_the_whole_store(scratch_server):
    r = requests.get(scratch_server.url + "/store", headers={"Accept": "application/n-quads"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/n-quads")
    dataset = rdflib.Dataset().parse(data=r.text, format="nquads")
    g2 = dataset.graph(rdflib.URIRef(EX + "g2"))
    assert set(g2) == {(rdflib.URIRef(EX + "russia"), rdflib.URIRef(EX + "allyOf"), rdflib.URIRef(EX + "iran"))}


# --- durability, restarts, concurrency ------------------------------------------------------------

def test_restart_does_not_duplicate_and_keeps_written_graphs(own, dataset):
    scratch_server = own
    assert update(scratch_server, INSERT).status_code == 204
    before = health(scratch_server)
    scratch_server.stop()
    scratch_server.start()
    after = health(scratch_server)
    assert after["triples"] == before["triples"] and after["version"] == before["version"]
    assert ask(scratch_server, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    # A new build of the dataset replaces the dataset's graphs and keeps the written one.
    dataset.write_text(DATASET.replace("ex:g2 { ex:russia ex:allyOf ex:iran . }", ""))
    scratch_server.stop()
    scratch_server.start()
    assert health(scratch_server)["triples"] == before["triples"] - 1
    assert ask(scratch_server, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    assert not ask(scratch_server, f"<{EX}russia> ?p ?o")


def test_an_acknowledged_write_survives_a_kill(own):
    scratch_server = own
    assert update(scratch_server, INSERT).status_code == 204
    scratch_server.stop(signal.SIGKILL)
    scratch_server.start()
    assert ask(scratch_server, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")


def test_readers_during_writes_see_the_old_or_the_new_graph_never_a_mix(scratch_server):
    """A writer replaces graph ex:w with 20 triples that all carry the round number; readers in parallel
    must always see 20 triples with one round number (or, before the first write, none)."""
    errors, seen = [], set()
    stop = threading.Event()
    query = f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?v) AS ?d) (MIN(?v) AS ?r) WHERE {{ GRAPH <{EX}w> {{ ?s <{EX}v> ?v }} }}"

    def read():
        while not stop.is_set():
            r = requests.get(scratch_server.url + "/sparql", params={"query": query}, headers={"Accept": JSON})
            row = r.json()["results"]["bindings"][0]
            n, d = int(row["n"]["value"]), int(row["d"]["value"])
            if (n, d) not in ((0, 0), (20, 1)):
                errors.append((n, d))
            if n:
                seen.add(int(row["r"]["value"]))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for round_number in range(1, 6):
            body = "".join(f'<{EX}s{i}> <{EX}v> "{round_number}"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                           for i in range(20))
            assert gsp(scratch_server, "PUT", EX + "w", data=body, content_type="application/n-triples").status_code in (201, 204)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == []
    assert seen and seen <= set(range(1, 6))


def test_gsp_direct_graph_identification(scratch_server):
    url = scratch_server.url + "/store/people/jane.ttl"          # the graph's name is this URL itself
    r = requests.put(url, data=f"<{EX}jane> <{EX}name> 'Jane' .", headers={**MAINTAINER, "Content-Type": "text/turtle"})
    assert r.status_code == 201
    assert "Jane" in requests.get(url, headers={"Accept": "text/turtle"}).text
    assert ask(scratch_server, f"GRAPH <{url}> {{ <{EX}jane> <{EX}name> 'Jane' }}")
    assert requests.delete(url, headers=MAINTAINER).status_code == 204
    assert requests.get(url).status_code == 404


def test_concurrent_writes_through_both_workers_are_serialized_and_all_kept(scratch_server):
    before = health(scratch_server)["triples"]
    statuses = []

    def write(n):
        r = update(scratch_server, f"INSERT DATA {{ GRAPH <{EX}concurrent> {{ <{EX}c{n}> <{EX}p> {n} }} }}")
        statuses.append(r.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [204] * 8
    assert health(scratch_server)["triples"] == before + 8


def test_a_relative_iri_in_an_update_resolves_against_the_endpoint(app_client):
    """W3C protocol test update_base_uri: the service-defined base is the endpoint's URL, for the checks
    that run before the engine as for the engine itself (a relative IRI is not a syntax error)."""
    client = app_client(maintainer_token="m")
    update = ("INSERT DATA { GRAPH <http://example.org/base-test/> "
              "{ <http://example.org/s> <http://example.org/p> <test> } }")
    r = client.post("/sparql", data=update, headers={"Content-Type": "application/sparql-update",
                                                     "Authorization": "Bearer m", "Accept": "application/json"})
    assert r.status_code in (200, 204), r.get_data(as_text=True)
    ask = client.get("/sparql", query_string={"query": "ASK { GRAPH ?g { ?s ?p <http://localhost/test> } }"},
                     headers={"Accept": "application/sparql-results+json"})
    assert ask.get_json()["boolean"] is True
