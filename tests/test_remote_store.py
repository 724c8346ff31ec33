"""The remote store's own guarantees on a real Virtuoso (the shared suite runs the HTTP behaviour on it
through conftest's `backends` marker): time limit, result limit, refused operations, Virtuoso's system
graphs never touched, blank nodes, the idempotent bulk load."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from conftest import release_virtuoso, start_virtuoso
from server import formats
from server.errors import BadRequest, ResultTooLarge, ServiceUnavailable
from server.settings import Settings
from server.store import open_store
from server.store.remote import RemoteStore

SAMPLE = Path(__file__).parent / "data" / "linked-data-sample.trig"
JSON = formats.by_name("json")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    instance = start_virtuoso(tmp_path_factory.mktemp("remote") / "virtuoso")
    yield instance
    release_virtuoso(instance)


def remote(virtuoso, **settings) -> RemoteStore:
    env = virtuoso.settings_env()
    store = open_store(Settings(store_url=env["ENTENTE_STORE_URL"], store_gsp_url=env["ENTENTE_STORE_GSP_URL"],
                                store_user=env["ENTENTE_STORE_USER"], store_password=env["ENTENTE_STORE_PASSWORD"],
                                store_auth="digest", **settings))
    assert isinstance(store, RemoteStore)
    return store


@pytest.fixture(scope="module")
def store(virtuoso):
    s = remote(virtuoso)
    assert s.load_dataset(SAMPLE) is True
    return s


def engine_graphs(virtuoso) -> set[str]:
    """Every graph Virtuoso holds, asked past Entente (its open endpoint)."""
    r = requests.get(virtuoso.url + "/sparql", params={"query": "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
                     headers={"Accept": "application/sparql-results+json"}, timeout=30)
    return {row["g"]["value"] for row in r.json()["results"]["bindings"]}


def test_the_load_is_idempotent_and_counts_match_the_file(store, virtuoso):
    quads = list(ox.parse(path=str(SAMPLE), format=ox.RdfFormat.TRIG))
    assert store.count() == len(quads)
    assert set(store.graph_names()) == {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
    version = store.version
    assert store.load_dataset(SAMPLE) is False and store.version == version
    assert "http://www.openlinksw.com/schemas/virtrdf#" in engine_graphs(virtuoso)
    assert "http://www.openlinksw.com/schemas/virtrdf#" not in store.graph_names()


def test_an_answer_over_the_limit_is_refused_not_cut(virtuoso, store):
    small = remote(virtuoso, max_results=5)
    with pytest.raises(ResultTooLarge):
        small.query_serialized("SELECT * WHERE { ?s ?p ?o }", JSON)
    kind, body = small.query_serialized("SELECT * WHERE { ?s ?p ?o } LIMIT 5", JSON)
    assert kind == "results" and body.count(b'"s":') == 5


def test_a_query_over_the_time_limit_is_stopped(virtuoso, store):
    slow = remote(virtuoso, query_timeout=1.0)
    with pytest.raises(ServiceUnavailable):
        slow.query_serialized("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }", JSON)


@pytest.mark.parametrize("text", [
    'DEFINE input:grab-all "yes" SELECT * WHERE { ?s ?p ?o }',          # Virtuoso pragma: fetches URLs
    "SELECT (bif:getenv('PATH') AS ?x) WHERE {}",                        # Virtuoso SQL function
    "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",  # off the SERVICE allowlist
])
def test_engine_extensions_and_foreign_services_are_refused(store, text):
    with pytest.raises(BadRequest):
        store.query_serialized(text, JSON)


QUERIES = [
    "SELECT ?s ?p ?o WHERE { GRAPH <https://w3id.org/entente/graph/ontology> { ?s ?p ?o } }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?s ?o WHERE { ?s <urn:test:in-default> ?o }",
    "SELECT ?p ?o ?g WHERE { { GRAPH ?g { <https://w3id.org/entente/id/iran> ?p ?o } } UNION "
    "{ GRAPH <https://w3id.org/entente/graph/claims> { ?s ?p ?o } BIND(<urn:x> AS ?g) } }",
    "PREFIX graph: <https://w3id.org/entente/graph/> SELECT ?c WHERE { OPTIONAL { GRAPH graph:claims { ?c ?p ?o } } }",
    "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g = <urn:x-entente:store>) }",     # never Entente's: none
]


def test_the_dataset_excluding_what_is_not_ours_answers_as_naming_every_graph(store):
    """On Virtuoso the server's own queries name their dataset by excluding the few graphs that are not
    Entente's (naming each graph costs the engine 100-600 ms a query); `GRAPH <g>` finds nothing under an
    exclusion in Virtuoso 7.2, so it is sent as a VALUES-bound variable: the answers stay the same, with
    the default graph as the union and alone, empty and not."""
    def key(row):
        return sorted((k, str(v)) for k, v in row.items() if not k.startswith("entente_graph_"))

    in_default = ox.Quad(ox.NamedNode("urn:test:s"), ox.NamedNode("urn:test:in-default"), ox.Literal("d"),
                         ox.DefaultGraph())
    saved = store.quads("")
    try:
        for default_triple in (False, True):
            store.write([in_default] if default_triple else [], graphs_to_drop=[] if default_triple else [""])
            names = store.graph_names()
            for query in QUERIES:
                for union in (True, False):
                    named = store.select(query, default_graphs=[""] + (names if union else []), named_graphs=names)
                    excluded = store.select(query, union_default_graph=union)
                    assert sorted(map(key, excluded)) == sorted(map(key, named)), (query, union, default_triple)
                    assert named or "store" in query or ("default" in query and not default_triple)
                    if union or not default_triple:
                        assert "DEFINE" in store._dataset(query, own=True, union_default_graph=union)[1][0]
    finally:
        store.write(saved, graphs_to_drop=[""])


def test_load_is_refused_and_drop_all_spares_the_engines_own_graphs(virtuoso):
    scratch = remote(virtuoso)
    with pytest.raises(BadRequest):
        scratch.update("LOAD <http://127.0.0.1:1/data.ttl>")
    scratch.update('INSERT DATA { GRAPH <urn:test:g> { <urn:test:a> <urn:test:b> "c" } }')
    system = {g for g in engine_graphs(virtuoso) if "openlinksw" in g or "ldp#" in g}
    assert system and "urn:test:g" in scratch.graph_names()
    scratch.update("DROP ALL")
    assert scratch.graph_names() == [] and scratch.count() == 0
    assert system <= engine_graphs(virtuoso)                   # Virtuoso still has its own graphs
    kind, body = scratch.query_serialized("ASK { GRAPH <urn:test:g> { ?s ?p ?o } }", JSON)
    assert kind == "boolean" and b"false" in body


def test_blank_nodes_keep_their_identity_through_the_engine(virtuoso):
    scratch = remote(virtuoso)
    b = ox.BlankNode()
    g = ox.NamedNode("urn:test:bnodes")
    scratch.write([ox.Quad(ox.NamedNode("urn:test:s"), ox.NamedNode("urn:test:p"), b, g),
                   ox.Quad(b, ox.NamedNode("urn:test:q"), ox.Literal("v", language="en"), g)])
    quads = scratch.quads("urn:test:bnodes")
    objects = [q.object for q in quads if q.predicate.value == "urn:test:p"]
    subjects = [q.subject for q in quads if q.predicate.value == "urn:test:q"]
    assert len(objects) == 1 and isinstance(objects[0], ox.BlankNode) and objects == subjects
    rows = scratch.select("SELECT ?x ?v WHERE { GRAPH <urn:test:bnodes> { <urn:test:s> <urn:test:p> ?x . ?x ?q ?v } }")
    assert len(rows) == 1 and isinstance(rows[0]["x"], ox.BlankNode) and rows[0]["v"].value == "v"
    scratch.drop_graph("urn:test:bnodes")



# --- the bulk load: small graphs many to one update, large ones by GSP PUT ---------------------------
LOAD = "urn:test:load/"


def dataset_file(path: Path, graphs: dict[str, list[tuple[str, str]]]) -> Path:
    """An N-Quads file of {graph name ("" the default graph): [(predicate, object literal)]} on one subject."""
    quads = [ox.Quad(ox.NamedNode(LOAD + "s"), ox.NamedNode(LOAD + p), ox.Literal(o),
                     ox.NamedNode(LOAD + g) if g else ox.DefaultGraph()) for g, facts in graphs.items() for p, o in facts]
    ox.serialize(quads, str(path), format=ox.RdfFormat.N_QUADS)
    return path


def loading_store(virtuoso) -> RemoteStore:
    """A second Entente on the same engine (its own meta and default graph), loading 4 triples an update."""
    s = remote(virtuoso, store_meta_graph=LOAD + "meta", store_default_graph=LOAD + "default")
    s.load_batch_triples = 4
    return s


def assert_holds(store: RemoteStore, graphs: dict) -> None:
    for g, facts in graphs.items():
        got = {(q.predicate.value[len(LOAD):], q.object.value) for q in store.quads(LOAD + g if g else "")}
        assert got == set(facts), g


def version(n: int) -> dict:
    """The dataset's n-th version: a large graph (by GSP PUT), many small ones (batched) and the default graph."""
    graphs = {"big": [("p", f"v{n}-{i}") for i in range(10)], "": [("d", f"v{n}")]}
    graphs |= {f"claim{i}": [("p", f"v{n}")] + ([("q", "x")] if i % 3 else []) for i in range(n * 5, n * 5 + 20)}
    return graphs


def test_a_reload_replaces_each_graph_and_drops_those_the_new_file_lacks(virtuoso, tmp_path):
    store = loading_store(virtuoso)
    first, second = version(0), version(1)          # claim5..19 in both, with other values; claim0..4 gone
    assert store.load_dataset(dataset_file(tmp_path / "v0.nq", first)) is True
    assert_holds(store, first)
    store.replace_graph(LOAD + "contribution", [ox.Triple(ox.NamedNode(LOAD + "s"), ox.NamedNode(LOAD + "c"),
                                                          ox.Literal("kept"))])
    assert store.load_dataset(dataset_file(tmp_path / "v1.nq", second)) is True
    assert_holds(store, second)
    held = engine_graphs(virtuoso)
    assert not {LOAD + f"claim{i}" for i in range(5)} & held
    assert LOAD + "contribution" in held and LOAD + "contribution" in store.graph_names()
    assert store.count() == sum(map(len, second.values())) + 1          # the default graph's triple included
    assert store.load_dataset(tmp_path / "v1.nq") is False


def test_an_interrupted_load_is_redone_and_its_graphs_dropped_by_the_next(virtuoso, tmp_path, monkeypatch):
    store = loading_store(virtuoso)
    old, new = version(1), version(2)               # claim10..29 in the new one; claim25..29 only there
    store.load_dataset(dataset_file(tmp_path / "v1.nq", old))
    calls = []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 10:             # after claim25 and claim26, before claim27 and on
            raise ServiceUnavailable("interrupted")
        return replace(*args)

    replace = store._replace_graphs
    monkeypatch.setattr(store, "_replace_graphs", interrupted)
    with pytest.raises(ServiceUnavailable):
        store.load_dataset(dataset_file(tmp_path / "v2.nq", new))
    assert store._meta_values(cached=False)["dataset-complete"] == ["false"]
    written = {LOAD + g for g in set(new) - set(old)} & engine_graphs(virtuoso)
    assert written                                   # the interrupted load wrote some of its own graphs

    again = loading_store(virtuoso)                  # e.g. the next `entente serve`, with the old file
    assert again.load_dataset(tmp_path / "v1.nq") is True
    assert_holds(again, old)
    assert not written & engine_graphs(virtuoso)
    assert again.load_dataset(tmp_path / "v2.nq") is True and again.load_dataset(tmp_path / "v2.nq") is False
    assert_holds(again, new)
    assert not {LOAD + f"claim{i}" for i in range(5, 10)} & engine_graphs(virtuoso)


def test_an_update_the_engine_refuses_as_too_large_is_sent_in_halves(virtuoso, tmp_path, monkeypatch):
    """Virtuoso refuses an update whose generated SQL passes 10,000 lines (here 1,000 graphs of two triples in
    one INSERT DATA): the load halves it until the engine takes it."""
    store = loading_store(virtuoso)
    store.load_batch_triples = 100_000
    graphs = {f"many{i}": [("p", f"a{i}"), ("q", f"b{i}")] for i in range(1000)}
    sent = []
    replace = store._replace_graphs
    monkeypatch.setattr(store, "_replace_graphs", lambda batch, existing: sent.append(len(batch)) or replace(batch, existing))
    assert store.load_dataset(dataset_file(tmp_path / "many.nq", graphs)) is True
    assert sent[0] == 1000 and len(sent) > 1                  # refused whole, then sent in parts
    r = requests.get(virtuoso.url + "/sparql", headers={"Accept": "application/sparql-results+json"}, timeout=30, params={
        "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{LOAD}many')) }}"})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == 2000
    assert_holds(store, {g: graphs[g] for g in ("many0", "many499", "many999")})
