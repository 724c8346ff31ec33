"""An acknowledged contribution survives a crash; readers never see half a write.

Many contributions are sent at once (and some accepted) while a reader keeps checking that every
contribution is either wholly there or not at all; the server's whole process group is killed with
SIGKILL in the middle; a new server on the same data directory must hold every acknowledged
contribution intact (record, data, hash; accepted ones with all their triples), nothing half
written, and the article's own graphs exactly as before.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN, LiveServer

GOOD = (Path(__file__).parent / "data" / "contributions" / "good-katz-friendly.trig").read_bytes()
DATA_QUADS = 14          # quads of GOOD once accepted (13 in graph contribution/<id>: claim, qualifiers, span; 1 in its claim graph)
SENT = 40                # contributions sent in all
PARALLEL = 8             # at once
KILL_AFTER = 12          # acknowledgements seen before SIGKILL
ENT = "https://w3id.org/entente/ontology#"
CONTRIBUTIONS = "https://w3id.org/entente/graph/contributions"
CONTRIBUTION = "https://w3id.org/entente/contribution/"


def sparql(url: str, query: str) -> list[dict]:
    r = requests.post(url + "/sparql", data={"query": query}, timeout=60,
                      headers={"Accept": "application/sparql-results+json"})
    r.raise_for_status()
    return r.json()["results"]["bindings"]


def article_graphs_hash(url: str) -> tuple[int, str]:
    """How many quads the article's own graphs hold, and a hash of them (everything but contributions)."""
    rows = sparql(url, f"""SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }}
        FILTER (?g != <{CONTRIBUTIONS}> && !STRSTARTS(STR(?g), "{CONTRIBUTION}")) }}""")
    lines = sorted("|".join(f"{r[v]['type']}:{r[v]['value']}:{r[v].get('datatype', '')}:{r[v].get('xml:lang', '')}"
                            for v in ("g", "s", "p", "o")) for r in rows if r["s"]["type"] != "bnode"
                   and r["o"]["type"] != "bnode")
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def consistency_rows(url: str) -> list[tuple[str, str, int]]:
    """(contribution, state, quads in its data graphs) for every contribution, in one query (one snapshot)."""
    rows = sparql(url, f"""SELECT ?c ?state (COUNT(?o) AS ?n) WHERE {{
        GRAPH <{CONTRIBUTIONS}> {{ ?c a <{ENT}Contribution> ; <{ENT}state> ?state }}
        OPTIONAL {{ GRAPH <{CONTRIBUTIONS}> {{ ?c <{ENT}dataGraph> ?g }} GRAPH ?g {{ ?s ?p ?o }} }}
    }} GROUP BY ?c ?state""")
    return [(r["c"]["value"], r["state"]["value"], int(r["n"]["value"])) for r in rows]


def mixtures(rows) -> list:
    """Rows that show half a write: data without acceptance, or acceptance without all the data."""
    return [(c, state, n) for c, state, n in rows
            if (state == ENT + "Accepted" and n != DATA_QUADS) or (state != ENT + "Accepted" and n != 0)]


@pytest.mark.slow
def test_acknowledged_contributions_survive_sigkill(built_dataset, tmp_path):
    data_dir = tmp_path / "store"
    # PARALLEL validations at once (the server's bound, ENTENTE_MAX_VALIDATIONS, would refuse most with 503 busy)
    env = {"ENTENTE_RATE_LIMIT": "100000", "ENTENTE_MAX_VALIDATIONS": str(PARALLEL)}
    # 4 workers so that readers are served while writers validate; the restart uses the default (2).
    server = LiveServer(data_dir, built_dataset, extra_args=("--workers", "4"), env=env).start()
    article_before = article_graphs_hash(server.url)
    assert article_before[0] > 1000

    acknowledged: dict[str, str] = {}        # id -> sha256 from the 201
    accepted: set[str] = set()               # ids whose acceptance was acknowledged (200)
    lock = threading.Lock()
    enough = threading.Event()
    seen_mixtures: list = []
    reads = [0]
    stop_reader = threading.Event()

    def contribute(i: int) -> None:
        body = GOOD + f"# contribution {i} of the crash test\n".encode()
        try:
            r = requests.post(server.url + "/contributions", data=body, timeout=120,
                              headers={"Content-Type": "application/trig", "Accept": "application/json",
                                       "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"})
        except requests.RequestException:
            return
        if r.status_code != 201:
            return
        answer = r.json()
        assert answer["sha256"] == hashlib.sha256(body).hexdigest()
        with lock:
            acknowledged[answer["id"]] = answer["sha256"]
            if len(acknowledged) >= KILL_AFTER:
                enough.set()
        if i % 2 == 0:
            try:
                a = requests.post(f"{server.url}/contributions/{answer['id']}/accept", json={"reason": "crash test"},
                                  headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"}, timeout=120)
            except requests.RequestException:
                return
            if a.status_code == 200:
                with lock:
                    accepted.add(answer["id"])

    def reader() -> None:
        while not stop_reader.is_set():
            try:
                rows = consistency_rows(server.url)
            except (requests.RequestException, ValueError):
                time.sleep(0.05)
                continue
            with lock:
                reads[0] += 1
                seen_mixtures.extend(mixtures(rows))

    read_threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for thread in read_threads:
        thread.start()
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(contribute, i) for i in range(SENT)]
        assert enough.wait(timeout=300), f"only {len(acknowledged)} contributions were acknowledged"
        server.stop(signal.SIGKILL)
        for f in futures:
            f.result()
    stop_reader.set()
    for thread in read_threads:
        thread.join(timeout=60)
    with lock:
        acked, acc = dict(acknowledged), set(accepted)
    print(f"\ncrash test: {SENT} sent ({PARALLEL} at once), {len(acked)} acknowledged before SIGKILL, "
          f"{len(acc)} acceptances acknowledged, {reads[0]} consistent reads during writes")
    assert acked and len(acked) < SENT, "the kill should land in the middle of the run"
    assert seen_mixtures == [], seen_mixtures

    restarted = LiveServer(data_dir, built_dataset, env=env).start()
    try:
        # every acknowledged contribution is intact: record, data as sent (hash), state
        for cid, sha in acked.items():
            r = requests.get(f"{restarted.url}/contributions/{cid}", headers={"Accept": "application/json"}, timeout=30)
            assert r.status_code == 200, (cid, r.text)
            record = r.json()
            assert record["sha256"] == sha
            assert hashlib.sha256(record["data"].encode()).hexdigest() == sha
            assert record["state"] in ("pending", "accepted")
            if cid in acc:
                assert record["state"] == "accepted"
        # nothing half-written: every record has intact data; data graphs all or nothing
        listing = requests.get(f"{restarted.url}/contributions?limit=500", timeout=30).json()
        for item in listing["items"]:
            record = requests.get(f"{restarted.url}/contributions/{item['id']}", timeout=30).json()
            assert hashlib.sha256(record["data"].encode()).hexdigest() == record["sha256"]
        rows = consistency_rows(restarted.url)
        assert mixtures(rows) == []
        files = {p.name.split(".")[0] for p in (data_dir / "contributions").glob("2*.*")}
        records = {c[len(CONTRIBUTION):] for c, _, _ in rows}
        assert records <= files       # every record has its data file
        assert {c[len(CONTRIBUTION):] for c, _, _ in rows} >= set(acked)
        assert {c[len(CONTRIBUTION):] for c, s, _ in rows if s == ENT + "Accepted"} >= acc
        # the article's graphs are exactly as before
        assert article_graphs_hash(restarted.url) == article_before
        # and the server still takes contributions
        r = requests.post(restarted.url + "/contributions", data=GOOD, timeout=120,
                          headers={"Content-Type": "application/trig", "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"})
        assert r.status_code == 201
        print(f"crash test: {len(rows)} records after restart, {len(listing['items'])} listed, all intact; "
              f"{len(files - records)} body file(s) without a record (sent, never acknowledged, never served)")
    finally:
        restarted.stop()


def test_contributions_survive_a_restart_with_a_rebuilt_dataset(built_dataset, tmp_path):
    """Loading a new build replaces the article's graphs only: records and accepted data stay."""
    data_dir = tmp_path / "store"
    server = LiveServer(data_dir, built_dataset).start()
    try:
        pending = requests.post(server.url + "/contributions", data=GOOD, timeout=120,
                                headers={"Content-Type": "application/trig",
                                         "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}).json()["id"]
        accepted = requests.post(server.url + "/contributions", data=GOOD, timeout=120,
                                 headers={"Content-Type": "application/trig",
                                          "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}).json()["id"]
        requests.post(f"{server.url}/contributions/{accepted}/accept", headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"},
                      timeout=120).raise_for_status()
        before = consistency_rows(server.url)
    finally:
        server.stop()
    rebuilt = tmp_path / "rebuilt.trig"
    rebuilt.write_bytes(built_dataset.read_bytes() + b"\n<https://w3id.org/entente/graph/article> { "
                        b"<https://w3id.org/entente/id/bloomberg-iran-russia-2015> "
                        b"<http://www.w3.org/2000/01/rdf-schema#comment> \"rebuilt\"@en . }\n")
    server = LiveServer(data_dir, rebuilt).start()
    try:
        assert sparql(server.url, 'SELECT * WHERE { GRAPH <https://w3id.org/entente/graph/article> '
                                  '{ ?s ?p "rebuilt"@en } }')          # the new build is loaded
        assert sorted(consistency_rows(server.url)) == sorted(before)
        states = {cid: requests.get(f"{server.url}/contributions/{cid}", timeout=30).json()["state"]
                  for cid in (pending, accepted)}
        assert states == {pending: "pending", accepted: "accepted"}
    finally:
        server.stop()
