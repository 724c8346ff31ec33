"""The cache of /sparql answers: kept per (store version, query, dataset, formats), bounded in bytes,
emptied by every write — seen by every worker, whichever one wrote — and never used for answers that
can change without a write."""

from __future__ import annotations

import pytest
import requests
from conftest import MAINTAINER_TOKEN

from server.store.answers import AnswerCache, cacheable

JSON = "application/sparql-results+json"
EX = "http://example.org/"


def test_a_cached_answer_is_returned_until_the_version_changes():
    cache = AnswerCache(1 << 20)
    key = ("SELECT * {}", (), ("json", "json", "turtle"))
    assert cache.get("v1", key) is None
    cache.put("v1", key, ("results", b"answer"))
    assert cache.get("v1", key) == ("results", b"answer")
    assert cache.get("v2", key) is None                 # a write happened: everything is dropped
    assert cache.get("v1", key) is None                 # ... and does not come back


def test_the_cache_is_bounded_in_bytes_and_drops_the_least_recently_used():
    cache = AnswerCache(8100)                            # room for 8 answers of 800 bytes (+ their keys)
    for i in range(3):
        cache.put("v", (f"q{i}", (), ()), ("results", b"x" * 800))
    cache.get("v", ("q0", (), ()))                      # q0 used again: q1 is now the oldest
    for i in range(3, 9):
        cache.put("v", (f"q{i}", (), ()), ("results", b"x" * 800))
    assert cache.get("v", ("q0", (), ())) is not None
    assert cache.get("v", ("q1", (), ())) is None
    assert cache._bytes <= 8100
    cache.put("v", ("big", (), ()), ("results", b"x" * 2000))   # over an eighth of the cache: not kept
    assert cache.get("v", ("big", (), ())) is None


def test_a_cache_of_size_zero_keeps_nothing():
    cache = AnswerCache(0)
    cache.put("v", ("q", (), ()), ("results", b"a"))
    assert cache.get("v", ("q", (), ())) is None


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }",
    "SELECT (NOW() AS ?t) {}", "SELECT (rand () AS ?r) {}", "SELECT (UUID() AS ?u) {}",
    "SELECT (STRUUID() AS ?u) {}", "SELECT (BNODE() AS ?b) {}"])
def test_answers_that_change_without_a_write_are_not_cached(query):
    assert not cacheable(query)


def test_ordinary_queries_are_cached():
    assert cacheable("SELECT ?s WHERE { ?s <http://example.org/random> ?o }")


def test_a_write_through_any_worker_empties_every_worker_cache(make_server, tmp_path):
    """Two workers, each with its own cache: answers are cached in both, a write (sent to whichever
    worker) changes the version, and every later answer, from either worker, has the new data."""
    dataset = tmp_path / "d.trig"
    dataset.write_text(f"<{EX}g> {{ <{EX}a> <{EX}p> 'old' }}\n")
    live = make_server(dataset=dataset, extra_args=["--workers", "2"])
    query = f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }} ORDER BY ?o"

    def values():
        r = requests.get(live.url + "/sparql", params={"query": query}, headers={"Accept": JSON,
                                                                                 "Connection": "close"})
        assert r.status_code == 200, r.text
        return [b["o"]["value"] for b in r.json()["results"]["bindings"]]

    assert all(values() == ["old"] for _ in range(8))   # both workers have it cached by now
    r = requests.post(live.url + "/sparql", data=f"INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}a> <{EX}p> 'new' }} }}",
                      headers={"Content-Type": "application/sparql-update",
                               "Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert r.status_code == 204, r.text
    assert all(values() == ["new", "old"] for _ in range(8))
    r = requests.put(live.url + "/store", params={"graph": f"{EX}g"}, data=f"<{EX}a> <{EX}p> 'put' .",
                     headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert r.status_code == 204, r.text
    assert all(values() == ["put"] for _ in range(8))


def test_the_same_query_in_another_format_is_not_served_from_the_other_format(server):
    query = "SELECT ?s WHERE { ?s a <https://w3id.org/entente/ontology#Claim> } LIMIT 3"
    json_answer = requests.get(server.url + "/sparql", params={"query": query}, headers={"Accept": JSON})
    csv_answer = requests.get(server.url + "/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    again = requests.get(server.url + "/sparql", params={"query": query}, headers={"Accept": JSON})
    assert json_answer.headers["Content-Type"].startswith(JSON)
    assert csv_answer.headers["Content-Type"].startswith("text/csv") and csv_answer.text.startswith("s\r\n")
    assert again.content == json_answer.content


def test_threads_asking_the_same_query_at_once_wait_for_the_one_computing_it():
    import threading
    import time

    cache = AnswerCache(1 << 20)
    key = ("SELECT * {}", (), ("json", "json", "turtle"))
    runs, started = [], threading.Event()

    def compute():
        runs.append(1)
        started.set()
        time.sleep(0.3)
        return ("results", b"answer")

    got = []
    first = threading.Thread(target=lambda: got.append(cache.answer("v1", key, compute, wait=10)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: got.append(cache.answer("v1", key, compute, wait=10))) for _ in range(5)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert got == [("results", b"answer")] * 6 and len(runs) == 1


def test_a_failed_computation_does_not_fail_the_threads_waiting_for_it():
    import threading

    cache = AnswerCache(1 << 20)
    key = ("q", (), ())
    release = threading.Event()
    calls = []

    def failing():
        calls.append("failing")
        release.wait(5)
        raise RuntimeError("the query process died")

    errors, got = [], []

    def leader():
        try:
            cache.answer("v", key, failing, wait=10)
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=leader)
    t.start()
    while not calls:
        pass
    follower = threading.Thread(target=lambda: got.append(cache.answer("v", key, lambda: ("results", b"ok"), wait=10)))
    follower.start()
    release.set()
    t.join()
    follower.join()
    assert len(errors) == 1 and got == [("results", b"ok")]
