"""store.py on its own: idempotent loads, snapshots and versions, one-transaction writes, timeouts, limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyoxigraph as ox
import pytest

from server import formats
from server.errors import BadRequest, ServiceUnavailable
from server.settings import Settings
from server.store import ResultTooLarge, Store, check_federation, check_update

EX = "http://example.org/"
DATASET = f"""@prefix ex: <{EX}> .
ex:g1 {{ ex:a ex:p "1" . ex:a ex:q ex:b . }}
ex:g2 {{ ex:b ex:p "2"@en . ex:c ex:p ex:a . }}
"""


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "dataset.trig"
    path.write_text(DATASET)
    return path


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Settings(data_dir=tmp_path / "data", query_timeout=2, max_results=3))


def quad(s, p, o, g):
    return ox.Quad(ox.NamedNode(EX + s), ox.NamedNode(EX + p), ox.Literal(o), ox.NamedNode(EX + g))


def test_a_new_store_is_empty_with_a_version(store):
    assert store.count() == 0
    assert store.graph_names() == []
    assert store.version and store.last_modified > 0


def test_load_is_idempotent(store, dataset):
    assert store.load_dataset(dataset) is True
    version = store.version
    assert store.count() == 4
    assert store.load_dataset(dataset) is False          # same sha256: nothing happens
    assert store.version == version and store.count() == 4
    again = Store(store.settings)                         # a restart: a new Store on the same directory
    assert again.load_dataset(dataset) is False
    assert again.count() == 4


def test_changed_dataset_replaces_its_graphs_and_keeps_the_others(store, dataset):
    store.load_dataset(dataset)
    contribution = "https://w3id.org/entente/contribution/c1"
    record = "https://w3id.org/entente/graph/contributions"
    store.write([ox.Quad(ox.NamedNode(EX + "x"), ox.NamedNode(EX + "p"), ox.Literal("c"), ox.NamedNode(contribution)),
                 ox.Quad(ox.NamedNode(contribution), ox.NamedNode(EX + "state"), ox.Literal("accepted"),
                         ox.NamedNode(record))])
    dataset.write_text(f"""@prefix ex: <{EX}> .\nex:g1 {{ ex:a ex:p "1" . ex:a ex:p "one" . }}\n""")
    assert store.load_dataset(dataset) is True
    assert store.graph_names() == sorted([EX + "g1", contribution, record])   # g2 left the dataset
    assert len(store.quads(EX + "g1")) == 2
    assert len(store.quads(contribution)) == 1 and len(store.quads(record)) == 1
    recorded = json.loads((store.root / "dataset.json").read_text())
    assert recorded["complete"] and recorded["graphs"] == [EX + "g1"]


def test_every_write_bumps_the_version_and_is_seen_by_a_fresh_reader(store):
    v0 = store.version
    store.write([quad("a", "p", "1", "g")])
    v1 = store.version
    assert v1 != v0
    store.update(f"INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}b> <{EX}p> 'x' }} }}")
    assert store.version != v1
    reopened = Store(store.settings)
    assert reopened.count() == 2 and reopened.version == store.version


def test_old_snapshots_and_rocksdb_info_logs_are_collected(store):
    for i in range(12):
        store.write([quad("a", "p", str(i), "g")])
    assert len(list((store.root / "snapshots").iterdir())) <= 3     # current + ones still held by readers
    assert len(list((store.root / "primary").glob("LOG.old.*"))) <= 5
    assert store.count() == 12


def test_a_reader_keeps_its_snapshot_until_it_asks_again(store):
    other = Store(store.settings)
    assert other.count() == 0
    store.write([quad("a", "p", "1", "g")])
    assert other.count() == 1                   # switches to the new snapshot at its next read


def test_write_drops_and_adds_in_one_transaction(store):
    store.write([quad("a", "p", "1", "g1"), quad("b", "p", "2", "g2")])
    store.write([quad("c", "p", "3", "g1")], graphs_to_drop=[EX + "g1"])
    assert [q.subject.value for q in store.quads(EX + "g1")] == [EX + "c"]
    assert len(store.quads(EX + "g2")) == 1


def test_a_failing_update_changes_nothing(store):
    store.write([quad("a", "p", "1", "g1")])
    version = store.version
    with pytest.raises(BadRequest, match="does not exist"):
        # The second operation fails (no such graph): the first must not have happened either.
        store.update(f"DROP GRAPH <{EX}g1> ; DROP GRAPH <{EX}missing>")
    assert store.has_graph(EX + "g1") and store.count() == 1
    assert store.version == version


def test_update_syntax_error_has_line_and_column(store):
    with pytest.raises(BadRequest) as info:
        store.update("INSERT DATA {\n  <a> <b> }")
    assert info.value.where["line"] == 2 and isinstance(info.value.where["column"], int)
    assert "syntax error" in info.value.message


def test_query_syntax_error_has_line_and_column(store):
    with pytest.raises(BadRequest) as info:
        store.query_serialized("SELECT *\nWHERE { ?s ?p }", formats.by_name("json"))
    assert info.value.where["line"] == 2


def test_query_serialized_in_every_format(store, dataset):
    store.load_dataset(dataset)
    for fmt in formats.RESULTS:
        kind, body = store.query_serialized(f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}", fmt)
        assert kind == "results" and b"1" in body
    for fmt in formats.RDF:
        kind, body = store.query_serialized(f"CONSTRUCT WHERE {{ <{EX}a> <{EX}q> ?o }}", fmt)
        assert kind == "graph"
        assert len(list(ox.parse(body, format=fmt.oxigraph))) == 1
    kind, body = store.query_serialized("ASK { ?s ?p ?o }", lambda k: formats.by_name("json"))
    assert kind == "boolean" and json.loads(body)["boolean"] is True


def test_union_default_graph_and_explicit_datasets(store, dataset):
    store.load_dataset(dataset)
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    count = lambda **ds: int(store.select(q, **ds)[0]["n"].value)  # noqa: E731
    assert count() == 4                                          # settings default: the union
    assert count(union_default_graph=False) == 0                 # the store's own default graph
    assert count(default_graphs=[EX + "g1"]) == 2
    from_g2 = f"SELECT (COUNT(*) AS ?n) FROM <{EX}g2> WHERE {{ ?s ?p ?o }}"
    assert int(store.select(from_g2)[0]["n"].value) == 2             # FROM picks graphs, union or not
    assert int(store.select(from_g2, default_graphs=[EX + "g1", EX + "g2"])[0]["n"].value) == 4  # protocol wins
    from_named = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{EX}g2> WHERE {{ ?s ?p ?o }}"
    assert int(store.select(from_named)[0]["n"].value) == 0         # FROM NAMED alone: empty default graph


def test_result_limit_refuses_never_truncates(store, dataset):
    store.load_dataset(dataset)                                  # 4 triples, limit 3
    with pytest.raises(ResultTooLarge) as info:
        store.query_serialized("SELECT * WHERE { ?s ?p ?o }", formats.by_name("csv"))
    assert info.value.status == 413 and "LIMIT" in info.value.message and "3" in info.value.message
    with pytest.raises(ResultTooLarge):
        store.query_serialized("CONSTRUCT WHERE { ?s ?p ?o }", formats.by_name("turtle"))
    with pytest.raises(ResultTooLarge):
        store.select("SELECT * WHERE { ?s ?p ?o }")
    kind, body = store.query_serialized("SELECT * WHERE { ?s ?p ?o } LIMIT 3", formats.by_name("csv"))
    assert body.count(b"\r\n") == 4                             # header + 3 rows, all of them


def test_query_timeout_stops_the_query_and_the_store_still_answers(tmp_path, dataset):
    store = Store(Settings(data_dir=tmp_path / "slow", query_timeout=0.5))
    store.load_dataset(dataset)
    expensive = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . "
                 "?p1 ?q ?r . ?s ?t ?u . ?v ?w ?x . ?y ?z ?aa . ?bb ?cc ?dd . ?ee ?ff ?gg . ?hh ?ii ?jj }")
    with pytest.raises(ServiceUnavailable) as info:
        store.query_serialized(expensive, formats.by_name("json"))
    assert "time limit" in info.value.message
    kind, body = store.query_serialized("ASK { ?s ?p ?o }", formats.by_name("json"))
    assert json.loads(body)["boolean"] is True


def test_unknown_function_is_an_expression_error_not_a_failure(store):
    kind, body = store.query_serialized("SELECT ?x WHERE { BIND(<http://example.org/f>(1) AS ?x) }",
                                        formats.by_name("json"))
    assert json.loads(body)["results"]["bindings"] == [{}]


def test_service_allowlist():
    allow = ("https://query.wikidata.org/sparql",)
    assert check_federation("SELECT * { ?s ?p ?o }", allow) == []
    assert check_federation("SELECT * { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }", allow) == \
        ["https://query.wikidata.org/sparql"]
    for q in ("SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
              "PREFIX e: <http://evil.example/> SELECT * { OPTIONAL { SERVICE SILENT e:sparql { ?s ?p ?o } } }",
              "SELECT * { SERVICE ?where { ?s ?p ?o } }"):
        with pytest.raises(BadRequest) as info:
            check_federation(q, allow)
        assert "SERVICE" in info.value.message and "refused" in info.value.message
    # The word alone (in a literal) is not a SERVICE clause.
    assert check_federation('SELECT * { ?s ?p "SERVICE <http://x/>" }', allow) == []


def test_update_with_load_or_foreign_service_is_refused(store):
    with pytest.raises(BadRequest, match="LOAD"):
        check_update("LOAD <http://example.org/data.ttl>", ())
    with pytest.raises(BadRequest, match="SERVICE"):
        store.update("INSERT { ?s ?p ?o } WHERE { SERVICE <http://evil.example/sparql> { ?s ?p ?o } }")
    assert store.count() == 0
    with pytest.raises(BadRequest, match="LOAD"):
        store.update("PREFIX ex: <http://example.org/>\nINSERT DATA { ex:a ex:b 'LOAD <x>' } ;\nLOAD <http://example.org/x>")
    check_update("INSERT DATA { <http://example.org/a> <http://example.org/b> 'LOAD <http://x/>' }", ())


def test_update_timeout_stops_the_update_and_writes_nothing(tmp_path, dataset):
    store = Store(Settings(data_dir=tmp_path / "slow", query_timeout=0.5))
    store.load_dataset(dataset)
    version, count = store.version, store.count()
    patterns = " ".join(f"GRAPH ?g{i} {{ ?s{i} ?p{i} ?o{i} }}" for i in range(16))    # 4^16 rows to count
    slow = ("INSERT { GRAPH <http://example.org/out> { <http://example.org/a> <http://example.org/x> ?n } } "
            f"WHERE {{ SELECT (COUNT(*) AS ?n) WHERE {{ {patterns} }} }}")
    with pytest.raises(ServiceUnavailable, match="nothing was written"):
        store.update(slow)
    assert store.version == version and store.count() == count
    store.update("INSERT DATA { GRAPH <http://example.org/out> { <http://example.org/a> <http://example.org/x> 1 } }")
    assert store.count() == count + 1



def test_long_idle_query_processes_are_stopped_down_to_one(store, dataset, monkeypatch):
    """Threads querying at once each get a query process; once idle for _IDLE_SECONDS all but the most
    recently used are stopped (the worker's event loop asks about once a second), and those stay.
    The threads live on, as a gunicorn worker's do (a query process dies with the thread that forked it)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from server.store import embedded

    store.load_dataset(dataset)
    gate = threading.Barrier(3)
    query = f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}"

    def ask(wait=True):
        if wait:
            gate.wait()
        return store.query_serialized(query, formats.by_name("json"))

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: ask(), range(3)))
        idle = list(store._idle)
        assert len(idle) >= 2                                    # they ran at once: one process each
        assert store.stop_idle_query_processes() == 0            # just used: kept
        monkeypatch.setattr(embedded, "_IDLE_SECONDS", 0.0)
        stopped = store.stop_idle_query_processes()
        assert stopped == len(idle) - 1 and store._idle == idle[-1:]
        for helper in idle[:-1]:                                 # really gone, not only forgotten
            with pytest.raises(ChildProcessError):
                os.waitpid(helper.pid, os.WNOHANG)
        kind, body = pool.submit(ask, False).result()
        assert kind == "results" and b"1" in body                # the one kept still answers
