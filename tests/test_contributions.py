"""Contributions over real HTTP: dry-run validation, sending, review, listing, and every way of being refused.

One writable server with the real built dataset serves this module (contributions are independent:
each test sends its own). Every refusal is checked to leave nothing behind: the store's version and
size (from /health) and the contribution files on disk stay as they were. What reaches the store (a dry
run, sending, review, listing, the CLI and the documented examples) runs on the embedded store and on
Virtuoso (BOTH, conftest.py); refusals happen before the store and run on the embedded one.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import rdflib
import requests

from conftest import CONTRIBUTOR_TOKEN, MAINTAINER_TOKEN, ROOT, LiveServer

BOTH = pytest.mark.backends("embedded", "virtuoso")     # run on the embedded store and on Virtuoso (conftest.py)

DATA = Path(__file__).parent / "data" / "contributions"
GOOD_TRIG = (DATA / "good-katz-friendly.trig").read_bytes()
GOOD_NQ = (DATA / "good-loan.nq").read_bytes()
TRIG, TURTLE, NQ = "application/trig", "text/turtle", "application/n-quads"
CONTRIB = {"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}
MAINTAIN = {"Authorization": f"Bearer {MAINTAINER_TOKEN}"}
BASE = "https://w3id.org/entente/"
MAX_BODY = 64 * 1024
PREFIXES = """@prefix ent: <https://w3id.org/entente/ontology#> .
@prefix id: <https://w3id.org/entente/id/> .
@prefix claim: <https://w3id.org/entente/claim/> .
@prefix graph: <https://w3id.org/entente/graph/> .
@prefix span: <https://w3id.org/entente/span/> .
@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


@pytest.fixture(scope="module")
def contributions_server(built_dataset, tmp_path_factory, backend):
    server = LiveServer(tmp_path_factory.mktemp("contrib") / "store", built_dataset, backend=backend,
                        env={"ENTENTE_MAX_BODY_BYTES": str(MAX_BODY), "ENTENTE_RATE_LIMIT": "10000"}).start()
    yield server
    server.stop()


def claim(facts: str, *, modality="ent:DirectQuote", asserter="id:mark-katz", begin=2392, end=2422,
          quote="Russia is friendly with Israel", name="c1", extra="") -> bytes:
    """A TriG contribution with one claim graph citing the article (defaults: a correct one)."""
    return (PREFIXES + f"""
<#{name}> {{ {facts} }}
<#{name}> a ent:Claim ; ent:modality {modality} ; ent:assertedBy {asserter} ;
  ent:reportedIn id:bloomberg-iran-russia-2015 ; ent:evidence <#span-{name}> .
<#span-{name}> a ent:EvidenceSpan ; nif:referenceContext id:bloomberg-iran-russia-2015 ;
  nif:beginIndex "{begin}"^^xsd:nonNegativeInteger ; nif:endIndex "{end}"^^xsd:nonNegativeInteger ;
  nif:anchorOf "{quote}" .
{extra}""").encode()


def state_of(contributions_server) -> tuple:
    """What a refusal must not change: store version and size, and the contribution files on disk."""
    health = requests.get(contributions_server.url + "/health", timeout=10).json()
    inbox = contributions_server.data_dir / "contributions"
    files = sorted(p.name for p in inbox.iterdir() if re.match(r"^\.?\d{8}T", p.name)) if inbox.exists() else []
    return health["version"], health["triples"], files


def ask(contributions_server, query: str) -> bool:
    r = requests.post(contributions_server.url + "/sparql", data={"query": query},
                      headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


def send(contributions_server, body: bytes, content_type=TRIG, headers=CONTRIB, **kw) -> requests.Response:
    return requests.post(contributions_server.url + "/contributions", data=body, timeout=60,
                         headers={"Content-Type": content_type, "Accept": "application/json", **headers}, **kw)


def refused(contributions_server, status: int, body: bytes, content_type=TRIG, headers=CONTRIB) -> dict:
    """Send, expect `status`, and check that nothing was stored."""
    before = state_of(contributions_server)
    r = send(contributions_server, body, content_type, headers)
    assert r.status_code == status, r.text
    assert state_of(contributions_server) == before
    return r.json()


# --- /validate ------------------------------------------------------------------------------------

@BOTH
def test_validate_good_contribution_conforms_and_stores_nothing(contributions_server):
    before = state_of(contributions_server)
    r = requests.post(contributions_server.url + "/validate", data=GOOD_TRIG, headers={"Content-Type": TRIG}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    report = r.json()
    assert report["conforms"] is True and report["results"] == [] and report["checked"] > 0
    assert state_of(contributions_server) == before


def test_validate_bad_contribution_reports_violations_with_200(contributions_server):
    bad = claim("id:russia ent:friendlyWith id:israel .", quote="Russia is friendly with Iran")
    before = state_of(contributions_server)
    r = requests.post(contributions_server.url + "/validate", data=bad, headers={"Content-Type": TRIG}, timeout=60)
    assert r.status_code == 200
    report = r.json()
    assert report["conforms"] is False
    result = next(x for x in report["results"] if "quote does not match" in x["message"])
    assert result["focusNode"] == BASE + "contribution/new#span-c1"
    assert result["resultPath"] is None or "anchorOf" in result["resultPath"]
    assert result["value"] == "Russia is friendly with Iran"
    assert result["severity"].endswith("#Violation") and "Russia is friendly with Israel" in result["message"]
    assert state_of(contributions_server) == before


def test_validate_answers_rdf_report_by_accept(contributions_server):
    bad = claim("id:russia ent:friendlyWith id:israel .", modality="ent:Rumour")
    r = requests.post(contributions_server.url + "/validate", data=bad, timeout=60,
                      headers={"Content-Type": TRIG, "Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    report = next(g.subjects(rdflib.RDF.type, SH.ValidationReport))
    assert g.value(report, SH.conforms) == rdflib.Literal(False)
    paths = {str(g.value(res, SH.resultPath)) for res in g.objects(report, SH.result)}
    assert "https://w3id.org/entente/ontology#modality" in paths


def test_validate_accepts_every_rdf_format(contributions_server):
    ds = rdflib.Dataset()
    ds.parse(data=GOOD_TRIG, format="trig", publicID=BASE + "contribution/new")
    for media_type, fmt in [(NQ, "nquads"), ("application/ld+json", "json-ld"), (TRIG, "trig")]:
        body = ds.serialize(format=fmt, encoding="utf-8")
        r = requests.post(contributions_server.url + "/validate", data=body, headers={"Content-Type": media_type}, timeout=60)
        assert r.status_code == 200 and r.json()["conforms"] is True, (media_type, r.text)
    # Triple formats carry no graphs, so the claim rule (facts contributions_server in claim graphs) must refuse them.
    default_only = rdflib.Graph()
    for s, p, o, _ in ds.quads():
        default_only.add((s, p, o))
    for media_type, fmt in [(TURTLE, "turtle"), ("application/n-triples", "nt"), ("application/rdf+xml", "xml")]:
        body = default_only.serialize(format=fmt, encoding="utf-8")
        r = requests.post(contributions_server.url + "/validate", data=body, headers={"Content-Type": media_type}, timeout=60)
        assert r.status_code == 200 and r.json()["conforms"] is False, (media_type, r.text)
        assert any("outside a claim graph" in x["message"] for x in r.json()["results"])


# --- the workflow ---------------------------------------------------------------------------------

@BOTH
def test_good_contribution_is_pending_then_accepted_into_its_own_graph(contributions_server):
    r = send(contributions_server, GOOD_TRIG)
    assert r.status_code == 201, r.text
    answer = r.json()
    cid = answer["id"]
    iri = BASE + "contribution/" + cid
    assert r.headers["Location"] == f"{contributions_server.url}/contribution/{cid}"
    assert answer["state"] == "pending" and answer["graphs"] == [iri, iri + "#katz-russia-israel"]

    # the record is public at once; the data is not served while pending
    assert ask(contributions_server, f"ASK {{ GRAPH <{BASE}graph/contributions> {{ <{iri}> <{BASE}ontology#state> "
                     f"<{BASE}ontology#Pending> }} }}")
    assert not ask(contributions_server, f"ASK {{ GRAPH <{iri}#katz-russia-israel> {{ ?s ?p ?o }} }}")
    record = requests.get(f"{contributions_server.url}/contributions/{cid}", timeout=10).json()
    assert record["state"] == "pending" and record["data"] == GOOD_TRIG.decode()
    assert record["sha256"] == answer["sha256"] and record["contributor"] == "contributor"
    assert record["format"] == TRIG and len(record["shapesVersion"]) == 64 and record["triples"] == 14

    r = requests.post(f"{contributions_server.url}/contributions/{cid}/accept", json={"reason": "quote checked"},
                      headers=MAINTAIN, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["reason"] == "quote checked"
    assert ask(contributions_server, f"ASK {{ GRAPH <{iri}#katz-russia-israel> {{ <{BASE}id/russia> <{BASE}ontology#friendlyWith> "
                     f"<{BASE}id/israel> }} <{iri}#katz-russia-israel> <{BASE}ontology#assertedBy> <{BASE}id/mark-katz> }}")
    # the contribution's IRI dereferences like any other resource (record from graph:contributions)
    r = requests.get(f"{contributions_server.url}/contribution/{cid}", headers={"Accept": "text/turtle"}, timeout=30)
    assert r.status_code == 200, r.text
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    assert (rdflib.URIRef(iri), rdflib.URIRef(BASE + "ontology#state"), rdflib.URIRef(BASE + "ontology#Accepted")) in g
    # resource pages show the fact with its evidence, marked as contributed and linked to the contribution
    page = requests.get(f"{contributions_server.url}/id/russia.html", timeout=30)
    assert page.status_code == 200 and "contributed" in page.text and f"/contribution/{cid}" in page.text
    assert requests.get(f"{contributions_server.url}/contribution/{cid}", headers={"Accept": "text/html"}, timeout=30).status_code == 200
    # reviewing twice is a conflict
    again = requests.post(f"{contributions_server.url}/contributions/{cid}/reject", json={"reason": "x"}, headers=MAINTAIN, timeout=30)
    assert again.status_code == 409


@BOTH
def test_rejected_contribution_stays_retrievable_with_its_reason_and_is_never_served(contributions_server):
    cid = send(contributions_server, GOOD_NQ, NQ).json()["id"]
    iri = BASE + "contribution/" + cid
    r = requests.post(f"{contributions_server.url}/contributions/{cid}/reject", data={"reason": "duplicates claim:russian-loan-to-iran"},
                      headers=MAINTAIN, timeout=30)
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    record = requests.get(f"{contributions_server.url}/contributions/{cid}", timeout=10).json()
    assert record["reason"] == "duplicates claim:russian-loan-to-iran" and record["reviewer"] == "maintainer"
    assert record["data"] == GOOD_NQ.decode()
    assert not ask(contributions_server, f"ASK {{ GRAPH <{iri}#loan> {{ ?s ?p ?o }} }}")
    rdf = requests.get(f"{contributions_server.url}/contributions/{cid}", headers={"Accept": TRIG}, timeout=10)
    ds = rdflib.Dataset().parse(data=rdf.text, format="trig")
    assert (rdflib.URIRef(iri), rdflib.URIRef(BASE + "ontology#reviewReason"),
            rdflib.Literal("duplicates claim:russian-loan-to-iran")) in ds.graph(rdflib.URIRef(BASE + "graph/contributions"))
    assert len(ds.graph(rdflib.URIRef(iri + "#loan"))) == 2
    assert requests.post(f"{contributions_server.url}/contributions/{cid}/accept", headers=MAINTAIN, timeout=30).status_code == 409
    # reasons are escaped in the HTML list
    other = send(contributions_server, GOOD_NQ, NQ).json()["id"]
    requests.post(f"{contributions_server.url}/contributions/{other}/reject", json={"reason": "<b>bold</b> claim"}, headers=MAINTAIN,
                  timeout=30).raise_for_status()
    html = requests.get(f"{contributions_server.url}/contributions?state=rejected&limit=500", headers={"Accept": "text/html"}, timeout=10)
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in html.text and "<b>bold</b>" not in html.text


@BOTH
def test_concurrent_reviews_of_one_contribution_one_wins(contributions_server):
    cid = send(contributions_server, GOOD_TRIG).json()["id"]
    results = {}

    def review(action):
        results[action] = requests.post(f"{contributions_server.url}/contributions/{cid}/{action}", json={"reason": f"{action} race"},
                                        headers=MAINTAIN, timeout=60).status_code

    threads = [threading.Thread(target=review, args=(a,)) for a in ("accept", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409], results
    record = requests.get(f"{contributions_server.url}/contributions/{cid}", timeout=10).json()
    winner = "accepted" if results["accept"] == 200 else "rejected"
    assert record["state"] == winner and record["reason"] == f"{winner[:6]} race"
    served = ask(contributions_server, f"ASK {{ GRAPH <{BASE}contribution/{cid}#katz-russia-israel> {{ ?s ?p ?o }} }}")
    assert served == (winner == "accepted")


@BOTH
def test_review_needs_a_maintainer_and_a_reason_to_reject(contributions_server):
    cid = send(contributions_server, GOOD_TRIG).json()["id"]
    before = state_of(contributions_server)
    assert requests.post(f"{contributions_server.url}/contributions/{cid}/accept", timeout=10).status_code == 401
    assert requests.post(f"{contributions_server.url}/contributions/{cid}/accept", headers=CONTRIB, timeout=10).status_code == 403
    assert requests.post(f"{contributions_server.url}/contributions/{cid}/reject", headers=MAINTAIN, timeout=10).status_code == 400
    assert requests.post(f"{contributions_server.url}/contributions/20000101T000000Z-00000000/accept", headers=MAINTAIN,
                         timeout=10).status_code == 404
    assert requests.get(f"{contributions_server.url}/contributions/../../etc/passwd", timeout=10).status_code == 404
    assert state_of(contributions_server) == before


@BOTH
def test_list_filters_by_state_and_pages(contributions_server):
    ids = [send(contributions_server, GOOD_TRIG).json()["id"] for _ in range(3)]
    page = requests.get(f"{contributions_server.url}/contributions?state=pending&limit=2", timeout=10).json()
    assert page["total"] >= 3 and len(page["items"]) == 2 and page["next"].endswith("offset=2&state=pending")
    assert all(item["state"] == "pending" for item in page["items"])
    everything = requests.get(f"{contributions_server.url}/contributions?state=pending&limit=500", timeout=10).json()
    assert set(ids) <= {item["id"] for item in everything["items"]}
    assert requests.get(f"{contributions_server.url}/contributions?state=maybe", timeout=10).status_code == 400
    assert requests.get(f"{contributions_server.url}/contributions?limit=0", timeout=10).status_code == 400
    html = requests.get(f"{contributions_server.url}/contributions", headers={"Accept": "text/html"}, timeout=10)
    assert html.headers["Content-Type"].startswith("text/html") and ids[0] in html.text


@BOTH
def test_contributed_literals_are_escaped_wherever_shown(contributions_server):
    evil = '<script>alert(1)</script>'
    body = claim(f'id:israel skos:altLabel "{evil}"@en .', modality="ent:ArticleVoice",
                 asserter="id:bloomberg-news", begin=2416, end=2422, quote="Israel")
    r = send(contributions_server, body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    page = requests.get(f"{contributions_server.url}/contributions/{cid}", headers={"Accept": "text/html"}, timeout=10).text
    assert evil not in page and "&lt;script&gt;" in page
    assert requests.post(f"{contributions_server.url}/contributions/{cid}/accept", headers=MAINTAIN, timeout=60).status_code == 200
    resource = requests.get(f"{contributions_server.url}/id/israel.html", timeout=30)
    assert resource.status_code == 200 and evil not in resource.text


# --- refusals: nothing stored -----------------------------------------------------------------------

def test_missing_token_is_401_and_bad_token_403(contributions_server):
    r = requests.post(contributions_server.url + "/contributions", data=GOOD_TRIG, headers={"Content-Type": TRIG}, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    refused(contributions_server, 403, GOOD_TRIG, headers={"Authorization": "Bearer not-a-token"})


@pytest.mark.parametrize("content_type", ["text/csv", "application/json", "", "application/x-unknown"])
def test_unsupported_media_type_is_415(contributions_server, content_type):
    answer = refused(contributions_server, 415, GOOD_TRIG, content_type=content_type)
    assert "text/turtle" in answer["message"]


@pytest.mark.parametrize("content_type, body, line, column", [
    (TRIG, b"@prefix ex: <http://e/> .\n<#g> {\n  ex:a ex:b ex:c \n}}\n", 4, 2),
    (TURTLE, b"@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b \"unterminated .\n", 3, None),
    (NQ, b"<http://e/a> <http://e/b> <http://e/c> .\n<http://e/a> <http://e/b> c .\n", 2, None),
    ("application/rdf+xml", b"<?xml version='1.0'?>\n<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
                            b"<rdf:Description rdf:about='http://e/a'>\n</rdf:RDF>\n", 4, 3),
    ("application/ld+json", b'{"@id": "http://e/a",\n "http://e/b": {"@id": "http://e/c"},\n}', 3, 1),
])
def test_malformed_rdf_is_400_with_line_and_column(contributions_server, content_type, body, line, column):
    for path in ("/contributions", "/validate"):
        before = state_of(contributions_server)
        r = requests.post(contributions_server.url + path, data=body, timeout=30,
                          headers={"Content-Type": content_type, "Accept": "application/json", **CONTRIB})
        assert r.status_code == 400, r.text
        answer = r.json()
        assert answer["where"]["line"] == line and answer["where"]["column"] >= 1
        if column:
            assert answer["where"]["column"] == column
        assert "does not parse" in answer["message"] or "not JSON" in answer["message"]
        assert state_of(contributions_server) == before


def test_body_over_the_limit_is_413(contributions_server):
    big = claim("id:russia ent:friendlyWith id:israel .", extra="# " + "x" * MAX_BODY + "\n")
    answer = refused(contributions_server, 413, big)
    assert answer["where"]["limit"] == MAX_BODY
    # chunked (no Content-Length): refused while reading
    before = state_of(contributions_server)
    r = requests.post(contributions_server.url + "/contributions", data=iter([big[i:i + 8192] for i in range(0, len(big), 8192)]),
                      headers={"Content-Type": TRIG, "Accept": "application/json", **CONTRIB}, timeout=30)
    assert r.status_code == 413
    assert state_of(contributions_server) == before


def test_413_comes_before_the_body_is_read(contributions_server):
    """A client announcing a huge body gets 413 at once: the server does not wait for the bytes."""
    before = state_of(contributions_server)
    with socket.create_connection(("127.0.0.1", contributions_server.port), timeout=20) as sock:
        sock.sendall(b"POST /contributions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/trig\r\n"
                     b"Accept: application/json\r\nAuthorization: Bearer " + CONTRIBUTOR_TOKEN.encode() +
                     b"\r\nContent-Length: 10000000000\r\n\r\n@prefix ex: <http://e/> .\n")
        reply = sock.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply
    assert state_of(contributions_server) == before


def _one_fact_and(extra: str) -> bytes:
    """A valid one-fact claim plus `extra`, the part that breaks a rule."""
    return claim("id:russia ent:friendlyWith id:israel .", extra=extra)


@pytest.mark.parametrize("body, reason", [
    (_one_fact_and("graph:claims { id:russia ent:allyOf id:iran . }"),
     "article's own graph <https://w3id.org/entente/graph/claims>"),
    (_one_fact_and("claim:entity-iran { id:iran ent:allyOf id:russia . }"),
     "article's own graph <https://w3id.org/entente/claim/entity-iran>"),
    (_one_fact_and("ent:friendlyWith rdfs:label \"enemy of\"@en ."),
     "redefines the ontology term <https://w3id.org/entente/ontology#friendlyWith>"),
    (_one_fact_and("ent:NewThing a <http://www.w3.org/2002/07/owl#Class> ."),
     "redefines the ontology term"),
    (_one_fact_and("claim:entity-iran ent:modality ent:Hedged ."),
     "describes the article's own claim"),
    (_one_fact_and("span:262-266 nif:anchorOf \"Iraq\" ."),
     "describes the article's own span"),
    (_one_fact_and("<https://w3id.org/entente/contribution/20200101T000000Z-abcdef01#c1> { id:iran ent:allyOf id:russia . }"),
     "reuses another contribution's graph"),
    (_one_fact_and("<http://example.org/mine> { id:iran ent:allyOf id:russia . }"),
     "lies outside the contribution"),
    (_one_fact_and("<https://w3id.org/entente/sentence/3> rdfs:comment \"x\" ."),
     "describes the article's own sentence"),
    (_one_fact_and("graph:article rdfs:comment \"x\" ."),
     "describes the article's own graph"),
    (_one_fact_and("<https://w3id.org/entente/contribution/20200101T000000Z-abcdef01#c1> ent:modality ent:Hedged ."),
     "belongs to another contribution"),
    (_one_fact_and("_:g { id:iran ent:allyOf id:russia . }"),
     "blank-node graph name"),
    (PREFIXES.encode() + b"# nothing\n", "holds no triples"),
])
def test_breaking_entente_rules_is_422_with_the_reason(contributions_server, body, reason):
    answer = refused(contributions_server, 422, body)
    assert reason in answer["message"], answer
    dry_run = requests.post(contributions_server.url + "/validate", data=body, headers={"Content-Type": TRIG}, timeout=60)
    assert dry_run.status_code == 422 and reason in dry_run.json()["message"]


def test_invalid_iri_that_rdflib_lets_through_is_400(contributions_server):
    answer = refused(contributions_server, 400, claim("id:russia ent:friendlyWith <http://example.org/a{b}> ."))
    assert "not valid RDF" in answer["message"] and "a{b}" in answer["message"]


def test_body_that_is_not_utf8_is_400(contributions_server):
    answer = refused(contributions_server, 400, claim("id:russia ent:friendlyWith id:israel .").replace(b"Israel", b"Isra\xe9l"))
    assert "not UTF-8" in answer["message"] and answer["where"]["byte"] > 0


@pytest.mark.parametrize("body, path_or_shape", [
    (claim("id:russia ent:friendlyWith id:israel .", quote="Russia is friendly with Iran"), "quote does not match"),
    (claim("id:russia ent:friendlyWith id:israel .", begin=2393, end=2423), "quote does not match"),
    (claim("id:russia ent:friendlyWith id:israel .", modality="ent:Rumour"), "ontology#modality"),
    (claim("id:russia ent:friendlyWith id:israel .", modality="ent:ArticleVoice"), "ArticleVoice"),
    (claim("id:russia ent:friendlyWith id:israel .", extra="id:russia ent:allyOf id:iran ."), "ClaimGraphRule"),
    (claim("", extra=""), "ClaimGraphRule"),
    (PREFIXES.encode() + b"<#c> { id:russia ent:friendlyWith id:israel . }\n<#c> a ent:Claim ; ent:modality ent:DirectQuote ;"
                         b" ent:assertedBy id:mark-katz ; ent:reportedIn id:bloomberg-iran-russia-2015 .\n",
     "ontology#evidence"),
    (PREFIXES.encode() + b"<#c> { id:russia ent:friendlyWith id:israel . }\n<#c> a ent:Claim ; ent:modality ent:DirectQuote ;"
                         b" ent:reportedIn id:bloomberg-iran-russia-2015 ; ent:evidence <#s> .\n<#s> a ent:EvidenceSpan ;"
                         b" nif:referenceContext id:bloomberg-iran-russia-2015 ; nif:beginIndex \"2392\"^^xsd:nonNegativeInteger ;"
                         b" nif:endIndex \"2422\"^^xsd:nonNegativeInteger ; nif:anchorOf \"Russia is friendly with Israel\" .\n",
     "ontology#assertedBy"),
])
def test_shape_violations_are_422_with_the_report(contributions_server, body, path_or_shape):
    answer = refused(contributions_server, 422, body)
    results = answer["details"]["results"]
    assert answer["details"]["conforms"] is False and results
    assert any(path_or_shape in " ".join(x[k] or "" for k in ("resultPath", "sourceShape", "message"))
               for x in results), results


def test_subclasses_count_through_the_ontology(contributions_server):
    """ent:NewsAgency ⊑ ent:NewsOrganization ⊑ ent:Organization ⊑ ent:Agent: a node typed only as a news
    agency meets the shapes of ent:Agent (object properties take IRIs), found through the ontology."""
    ok = claim('id:fars-news-agency a ent:NewsAgency ; rdfs:label "Fars"@en ; ent:basedIn id:tehran .')
    r = requests.post(contributions_server.url + "/validate", data=ok, headers={"Content-Type": TRIG}, timeout=60)
    assert r.status_code == 200 and r.json()["conforms"] is True, r.text
    bad = claim('id:fars-news-agency a ent:NewsAgency ; rdfs:label "Fars"@en ; ent:basedIn "Tehran" .')
    answer = refused(contributions_server, 422, bad)
    result = next(x for x in answer["details"]["results"] if x["focusNode"] == BASE + "id/fars-news-agency")
    assert "not an IRI" in result["message"] and result["value"] == "Tehran"


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.end_headers()
        self.wfile.write(b'{"@context": {"@vocab": "https://w3id.org/entente/ontology#"}}')

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_contribution_never_makes_the_server_fetch_a_url(contributions_server, recorder):
    remote_context = json.dumps({"@context": recorder + "/context.jsonld", "@id": "https://e/a", "friendlyWith": "x"})
    nested = json.dumps({"@context": [{"ex": "http://e/"}, {"@import": recorder + "/imported.jsonld"}],
                         "@id": "http://e/a", "ex:b": "c"})
    entity = (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY ext SYSTEM "{recorder}/entity"> ]>\n'
              '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://e/">'
              '<rdf:Description rdf:about="http://e/a"><ex:b>&ext;</ex:b></rdf:Description></rdf:RDF>')
    for path in ("/validate", "/contributions"):
        for body, content_type, what in [(remote_context, "application/ld+json", "@context"),
                                         (nested, "application/ld+json", "@import"),
                                         (entity, "application/rdf+xml", "external DTD or entity")]:
            before = state_of(contributions_server)
            r = requests.post(contributions_server.url + path, data=body.encode(), timeout=30,
                              headers={"Content-Type": content_type, "Accept": "application/json", **CONTRIB})
            assert r.status_code == 400 and what in r.json()["message"], r.text
            assert state_of(contributions_server) == before
    assert _Recorder.hits == []


def test_too_many_requests_from_one_token_is_429(built_dataset, tmp_path):
    server = LiveServer(tmp_path / "store", built_dataset, env={"ENTENTE_RATE_LIMIT": "2"}).start()
    try:
        codes = [send(server, GOOD_TRIG).status_code for _ in range(2)]
        assert codes == [201, 201]
        before = state_of(server)
        r = send(server, GOOD_TRIG)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
        assert state_of(server) == before
        # the maintainer's token has its own allowance
        assert send(server, GOOD_TRIG, headers=MAINTAIN).status_code == 201
        # dry runs (no token) are limited by the client's address
        dry = [requests.post(server.url + "/validate", data=GOOD_TRIG, headers={"Content-Type": TRIG},
                             timeout=60).status_code for _ in range(3)]
        assert dry == [200, 200, 429]
    finally:
        server.stop()


BAD_FILES = {
    "bad-wrong-quote.trig": (422, "quote does not match"),
    "bad-no-evidence.trig": (422, "ent:evidence"),
    "bad-fact-outside-claim.ttl": (422, "outside a claim graph"),
    "bad-into-article-graph.trig": (422, "article's own graph"),
    "bad-redefines-ontology.trig": (422, "redefines the ontology term"),
    "bad-syntax.ttl": (400, "does not parse"),
    "bad-remote-context.jsonld": (400, "never fetches a remote @context"),
}


def test_every_bad_example_file_is_refused_with_its_reason(contributions_server):
    assert sorted(p.name for p in DATA.glob("bad-*")) == sorted(BAD_FILES)
    for name, (status, reason) in BAD_FILES.items():
        path = DATA / name
        content_type = {".trig": TRIG, ".ttl": TURTLE, ".jsonld": "application/ld+json"}[path.suffix]
        answer = refused(contributions_server, status, path.read_bytes(), content_type)
        assert reason in json.dumps(answer), (name, answer)
        if name == "bad-syntax.ttl":
            assert answer["where"]["line"] == 10


# --- the command line ---------------------------------------------------------------------------------

def run_cli(*args, token=CONTRIBUTOR_TOKEN):
    env = {**os.environ, "ENTENTE_CONTRIBUTOR_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@BOTH
def test_cli_contribute_end_to_end(contributions_server, tmp_path):
    result = run_cli("contribute", str(DATA / "good-katz-friendly.trig"), "--server", contributions_server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    cid = re.search(r"contribution (\S+) is pending review", result.stdout).group(1)
    assert requests.get(f"{contributions_server.url}/contributions/{cid}", timeout=10).json()["state"] == "pending"

    bad = tmp_path / "bad.trig"
    bad.write_bytes(claim("id:russia ent:friendlyWith id:israel .", quote="Russia is friendly with Iran"))
    result = run_cli("contribute", str(bad), "--server", contributions_server.url)
    assert result.returncode == 1
    assert "Refused (422" in result.stdout and "quote does not match" in result.stdout and "span-c1" in result.stdout

    nq = tmp_path / "loan.txt"
    nq.write_bytes(GOOD_NQ)
    assert run_cli("contribute", str(nq), "--server", contributions_server.url, "--format", "nquads").returncode == 0
    assert run_cli("contribute", str(bad), "--server", contributions_server.url, token="wrong").returncode == 1
    assert run_cli("contribute", str(bad), "--server", contributions_server.url, token="").returncode == 2


def test_cli_validate_checks_offline(tmp_path):
    good = run_cli("validate", str(DATA / "good-katz-friendly.trig"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "bad.trig"
    bad.write_bytes(claim("id:russia ent:friendlyWith id:israel .", quote="Russia is friendly with Iran"))
    result = run_cli("validate", str(bad))
    assert result.returncode == 1 and "quote does not match" in result.stdout


def curl_block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index("```sh\nSERVER=")
    return text[start + len("```sh\n"):text.index("```", start + 5)]


@BOTH
def test_curl_examples_of_the_docs_and_readme_work(contributions_server):
    block = curl_block(ROOT / "docs" / "contributions.md")
    assert curl_block(ROOT / "README.md") == block
    script = "set -eu -o pipefail\n" + block.replace("SERVER=http://127.0.0.1:8000", f"SERVER={contributions_server.url}") + \
        '\necho "ID=$ID"\n'
    env = {**os.environ, "ENTENTE_CONTRIBUTOR_TOKEN": CONTRIBUTOR_TOKEN, "ENTENTE_MAINTAINER_TOKEN": MAINTAINER_TOKEN}
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    cid = re.search(r"^ID=(\S+)$", result.stdout, re.M).group(1)
    assert '"conforms": true' in result.stdout and '"state": "accepted"' in result.stdout
    assert f"<https://w3id.org/entente/contribution/{cid}#katz-russia-israel>" in result.stdout
    assert requests.get(f"{contributions_server.url}/contributions/{cid}", timeout=10).json()["state"] == "accepted"


def test_the_example_in_the_docs_is_the_example_file():
    text = (ROOT / "docs" / "contributions.md").read_text(encoding="utf-8")
    start = text.index("```trig\n", text.index("The complete example")) + len("```trig\n")
    shown, real = rdflib.Dataset(), rdflib.Dataset()
    shown.parse(data=text[start:text.index("```", start)], format="trig", publicID=BASE + "contribution/x")
    real.parse(data=GOOD_TRIG, format="trig", publicID=BASE + "contribution/x")
    assert sorted(shown.quads()) == sorted(real.quads())
