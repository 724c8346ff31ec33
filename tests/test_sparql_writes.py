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
def live(tmp_path_factory) -> LiveServer:
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


def health(live) -> dict:
    return requests.get(live.url + "/health").json()


def ask(live, pattern: str) -> bool:
    r = requests.get(live.url + "/sparql", params={"query": f"ASK {{ {pattern} }}"}, headers={"Accept": JSON})
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


def update(live, text, headers=MAINTAINER, **params):
    return requests.post(live.url + "/sparql", data=text.encode(), params=params,
                         headers={"Content-Type": "application/sparql-update", **headers})


INSERT = f"INSERT DATA {{ GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }} }}"


@pytest.mark.parametrize("headers,status", [
    ({}, 401), ({"Authorization": "Bearer wrong-token"}, 403),
    ({"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}, 403), ({"Authorization": MAINTAINER_TOKEN}, 401)])
def test_writes_without_a_maintainer_token_change_nothing(live, headers, status):
    before = health(live)
    assert update(live, INSERT, headers).status_code == status
    form = requests.post(live.url + "/sparql", data={"update": INSERT}, headers=headers)
    assert form.status_code == status
    for method in (requests.put, requests.post):
        r = method(live.url + "/store", params={"graph": EX + "g1"}, data=b"<http://x/a> <http://x/b> <http://x/c> .",
                   headers={"Content-Type": "application/n-triples", **headers})
        assert r.status_code == status
    assert requests.delete(live.url + "/store", params={"graph": EX + "g1"}, headers=headers).status_code == status
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert health(live) == before
    assert ask(live, f"<{EX}iran> <{EX}finances> <{EX}hezbollah>")


def test_update_with_the_maintainer_token_bumps_the_version(live):
    before = health(live)
    r = update(live, INSERT)
    assert r.status_code == 204, r.text
    after = health(live)
    assert after["version"] != before["version"] and after["triples"] == before["triples"] + 1
    assert ask(live, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    r = requests.post(live.url + "/sparql", data={"update": f"DROP GRAPH <{EX}g3>"}, headers=MAINTAINER)
    assert r.status_code == 204 and health(live)["triples"] == before["triples"]


def test_update_errors(live):
    before = health(live)
    r = update(live, "INSERT DATA {\n <a> }", {**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and r.json()["where"]["line"] == 2
    r = update(live, "LOAD <http://example.org/remote.ttl>", {**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and "LOAD" in r.json()["message"]
    r = requests.post(live.url + "/sparql", data=[("update", INSERT), ("update", INSERT)], headers=MAINTAINER)
    assert r.status_code == 400
    assert health(live) == before


def test_using_graph_uri(live):
    r = update(live, f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Funder> }} }} WHERE {{ ?s <{EX}finances> ?o }}",
               **{"using-graph-uri": EX + "g2"})
    assert r.status_code == 204
    assert not ask(live, f"GRAPH <{EX}out> {{ ?s ?p ?o }}")            # g2 has no ex:finances
    r = update(live, f"INSERT {{ GRAPH <{EX}out> {{ ?s a <{EX}Funder> }} }} WHERE {{ ?s <{EX}finances> ?o }}",
               **{"using-graph-uri": EX + "g1"})
    assert r.status_code == 204
    assert ask(live, f"GRAPH <{EX}out> {{ <{EX}iran> a <{EX}Funder> }}")
    r = update(live, f"WITH <{EX}g1> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", **{"using-graph-uri": EX + "g2"})
    assert r.status_code == 400


def test_rdflib_update_store_as_a_client(live):
    store = SPARQLUpdateStore(live.url + "/sparql", live.url + "/sparql", headers=MAINTAINER)
    graph = rdflib.Graph(store, identifier=rdflib.URIRef(EX + "g9"))
    graph.add((rdflib.URIRef(EX + "x"), rdflib.URIRef(EX + "p"), rdflib.Literal("via rdflib")))
    assert ask(live, f"GRAPH <{EX}g9> {{ <{EX}x> <{EX}p> 'via rdflib' }}")


# --- Graph Store Protocol ----------------------------------------------------------------------------

def gsp(live, method, graph=None, default=False, data=None, content_type="text/turtle", headers=MAINTAINER,
        accept=None):
    params = {"default": ""} if default else ({"graph": graph} if graph else {})
    h = dict(headers)
    if data is not None:
        h["Content-Type"] = content_type
    if accept:
        h["Accept"] = accept
    return requests.request(method, live.url + "/store", params=params, data=data, headers=h)


def test_gsp_named_graph_lifecycle(live):
    g = EX + "people"
    assert gsp(live, "GET", g).status_code == 404
    assert gsp(live, "HEAD", g).status_code == 404
    assert gsp(live, "PUT", g, data=f"<{EX}jane> <{EX}name> 'Jane' .").status_code == 201
    assert gsp(live, "PUT", g, data=f"<{EX}jane> <{EX}name> 'Jane Doe' .").status_code == 204
    assert gsp(live, "POST", g, data=f"<{EX}jane> <{EX}age> 40 .").status_code == 204
    r = gsp(live, "GET", g, accept="application/n-triples")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=r.text, format="nt")
    assert len(graph) == 2 and (rdflib.URIRef(EX + "jane"), rdflib.URIRef(EX + "name"), rdflib.Literal("Jane Doe")) in graph
    head = gsp(live, "HEAD", g)
    assert head.status_code == 200 and head.content == b""
    assert gsp(live, "DELETE", g).status_code == 204
    assert gsp(live, "GET", g).status_code == 404
    assert gsp(live, "DELETE", g).status_code == 404


def test_gsp_default_graph(live):
    assert gsp(live, "PUT", default=True, data=f"<{EX}d> <{EX}p> 'in default' .").status_code == 204
    r = gsp(live, "GET", default=True, accept="text/turtle")
    assert r.status_code == 200 and "in default" in r.text
    assert ask(live, f"<{EX}d> <{EX}p> 'in default'")
    assert gsp(live, "DELETE", default=True).status_code == 204
    assert "in default" not in gsp(live, "GET", default=True).text


def test_gsp_post_to_the_store_creates_a_graph(live):
    r = gsp(live, "POST", data=f"<{EX}n> <{EX}p> 'created' .")
    assert r.status_code == 201
    location = r.headers["Location"]
    assert "created" in gsp(live, "GET", location).text


def test_gsp_multipart_post(live):
    files = {"a.ttl": ("a.ttl", f"<{EX}m> <{EX}p> 'one' .", "text/turtle"),
             "b.nt": ("b.nt", f"<{EX}m> <{EX}p> \"two\" .", "application/n-triples")}
    r = requests.post(live.url + "/store", params={"graph": EX + "multi"}, files=files, headers=MAINTAINER)
    assert r.status_code == 201
    assert len(rdflib.Graph().parse(data=gsp(live, "GET", EX + "multi").text, format="turtle")) == 2


def test_gsp_errors_change_nothing(live):
    before = health(live)
    r = gsp(live, "PUT", EX + "g1", data="<http://x/a> <http://x/b> .\n", headers={**MAINTAINER, "Accept": "application/json"})
    assert r.status_code == 400 and r.json()["where"]["line"] == 1
    assert gsp(live, "PUT", EX + "g1", data="{}", content_type="application/json").status_code == 415
    assert gsp(live, "PUT", EX + "g1", data="x", content_type="image/png").status_code == 415
    r = requests.get(live.url + "/store", params=[("graph", EX + "g1"), ("default", "")])
    assert r.status_code == 400
    assert gsp(live, "GET", "not an iri").status_code == 400
    assert gsp(live, "GET", EX + "g1", accept="image/png").status_code == 406
    assert health(live) == before


def test_gsp_get_of_the_whole_store(live):
    r = requests.get(live.url + "/store", headers={"Accept": "application/n-quads"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/n-quads")
    dataset = rdflib.Dataset().parse(data=r.text, format="nquads")
    g2 = dataset.graph(rdflib.URIRef(EX + "g2"))
    assert set(g2) == {(rdflib.URIRef(EX + "russia"), rdflib.URIRef(EX + "allyOf"), rdflib.URIRef(EX + "iran"))}


# --- durability, restarts, concurrency ------------------------------------------------------------

def test_restart_does_not_duplicate_and_keeps_written_graphs(own, dataset):
    live = own
    assert update(live, INSERT).status_code == 204
    before = health(live)
    live.stop()
    live.start()
    after = health(live)
    assert after["triples"] == before["triples"] and after["version"] == before["version"]
    assert ask(live, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    # A new build of the dataset replaces the dataset's graphs and keeps the written one.
    dataset.write_text(DATASET.replace("ex:g2 { ex:russia ex:allyOf ex:iran . }", ""))
    live.stop()
    live.start()
    assert health(live)["triples"] == before["triples"] - 1
    assert ask(live, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")
    assert not ask(live, f"<{EX}russia> ?p ?o")


def test_an_acknowledged_write_survives_a_kill(own):
    live = own
    assert update(live, INSERT).status_code == 204
    live.stop(signal.SIGKILL)
    live.start()
    assert ask(live, f"GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> 'new' }}")


def test_readers_during_writes_see_the_old_or_the_new_graph_never_a_mix(live):
    """A writer replaces graph ex:w with 20 triples that all carry the round number; readers in parallel
    must always see 20 triples with one round number (or, before the first write, none)."""
    errors, seen = [], set()
    stop = threading.Event()
    query = f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?v) AS ?d) (MIN(?v) AS ?r) WHERE {{ GRAPH <{EX}w> {{ ?s <{EX}v> ?v }} }}"

    def read():
        while not stop.is_set():
            r = requests.get(live.url + "/sparql", params={"query": query}, headers={"Accept": JSON})
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
            assert gsp(live, "PUT", EX + "w", data=body, content_type="application/n-triples").status_code in (201, 204)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == []
    assert seen and seen <= set(range(1, 6))


def test_gsp_direct_graph_identification(live):
    url = live.url + "/store/people/jane.ttl"          # the graph's name is this URL itself
    r = requests.put(url, data=f"<{EX}jane> <{EX}name> 'Jane' .", headers={**MAINTAINER, "Content-Type": "text/turtle"})
    assert r.status_code == 201
    assert "Jane" in requests.get(url, headers={"Accept": "text/turtle"}).text
    assert ask(live, f"GRAPH <{url}> {{ <{EX}jane> <{EX}name> 'Jane' }}")
    assert requests.delete(url, headers=MAINTAINER).status_code == 204
    assert requests.get(url).status_code == 404


def test_concurrent_writes_through_both_workers_are_serialized_and_all_kept(live):
    before = health(live)["triples"]
    statuses = []

    def write(n):
        r = update(live, f"INSERT DATA {{ GRAPH <{EX}concurrent> {{ <{EX}c{n}> <{EX}p> {n} }} }}")
        statuses.append(r.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [204] * 8
    assert health(live)["triples"] == before + 8
