"""/annotations: every evidence span as a W3C Web Annotation, served as a Web Annotation Protocol container.

Checked with an independent JSON-LD processor (pyld, with a document loader that serves only the W3C
contexts vendored in the package and refuses anything else, so nothing is fetched), against the
vocabularies themselves (oa.ttl, ldp.ttl from w3c/ns, activitystreams2.owl from w3c/activitystreams,
tests/data/w3c), and by re-finding every selector's text in the article held by the built dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from pyld import jsonld
from rdflib.compare import isomorphic

from server.exports import annotations

W3C = Path(__file__).parent / "data" / "w3c"
OA = "http://www.w3.org/ns/oa#"
AS = "http://www.w3.org/ns/activitystreams#"
LDP = "http://www.w3.org/ns/ldp#"
ARTICLE = "https://w3id.org/entente/id/bloomberg-iran-russia-2015"
JSONLD = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'


def offline_loader(url, options=None):
    """pyld document loader: the packaged W3C contexts, nothing else (a test must never reach the network)."""
    if url not in annotations.CONTEXT_FILES:
        raise jsonld.JsonLdError(f"offline: refusing to load {url}", "loading document failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": annotations.context_document(url)}


def to_graph(document: dict) -> rdflib.Graph:
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": offline_loader})
    g = rdflib.Graph()
    g.parse(data=nquads, format="nt")      # pyld writes the default graph only: N-Triples lines
    return g


def vocabulary_terms() -> set[str]:
    terms = set()
    for path, fmt in ((W3C / "oa.ttl", "turtle"), (W3C / "ldp.ttl", "turtle"), (W3C / "activitystreams2.owl", "turtle")):
        g = rdflib.Graph()
        g.parse(path, format=fmt)
        # ActivityStreams 2.0 names its terms with https://; the annotation context uses http:// (same terms).
        terms |= {str(s).replace("https://www.w3.org/ns/activitystreams#", AS) for s in g.subjects()
                  if isinstance(s, rdflib.URIRef)}
    return terms


@pytest.fixture(scope="module")
def article_text(built_dataset) -> str:
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    rows = list(store.query(f"SELECT ?t WHERE {{ GRAPH ?g {{ <{ARTICLE}> "
                            f"<http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#isString> ?t }} }}"))
    assert len(rows) == 1
    return rows[0]["t"].value


@pytest.fixture(scope="module")
def evidence_pairs(built_dataset) -> int:
    """How many (claim, evidence span) pairs the built dataset holds, counted by SPARQL, not by our code."""
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    q = ("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?c ?s WHERE { GRAPH ?g { ?c "
         "<https://w3id.org/entente/ontology#evidence> ?s } FILTER(STRSTARTS(STR(?c), 'https://w3id.org/entente/claim/')) } }")
    return int(list(store.query(q))[0]["n"].value)


@pytest.fixture(scope="module")
def all_annotations(server) -> list[dict]:
    """Every annotation, by following the container's pages from `first` through `next`."""
    container = requests.get(server.url + "/annotations/", timeout=30).json()
    items, page, seen = [], container["first"], 0
    while page is not None:
        assert page["startIndex"] == len(items)
        items += page["items"]
        seen += 1
        page = requests.get(page["next"], timeout=30).json() if "next" in page else None
        assert seen < 100
    assert len(items) == container["total"]
    return items


def test_container_speaks_the_protocol(server, evidence_pairs):
    r = requests.get(server.url + "/annotations/", headers={"Accept": JSONLD}, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == JSONLD
    assert '<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"' in r.headers["Link"]
    assert 'rel="http://www.w3.org/ns/ldp#constrainedBy"' in r.headers["Link"]
    assert "Prefer" in r.headers["Vary"] and "Accept" in r.headers["Vary"]
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    body = r.json()
    assert body["@context"] == ["http://www.w3.org/ns/anno.jsonld", "http://www.w3.org/ns/ldp.jsonld"]
    assert set(body["type"]) == {"BasicContainer", "AnnotationCollection"}
    assert body["total"] == evidence_pairs > 150
    g = to_graph(body)
    container = rdflib.URIRef(server.url + "/annotations/")
    assert (container, rdflib.RDF.type, rdflib.URIRef(LDP + "BasicContainer")) in g
    assert (container, rdflib.RDF.type, rdflib.URIRef(AS + "OrderedCollection")) in g
    assert int(g.value(container, rdflib.URIRef(AS + "totalItems"))) == evidence_pairs


def test_every_annotation_expands_to_the_vocabulary_and_loses_nothing(all_annotations):
    terms = vocabulary_terms()
    assert {OA + "Annotation", OA + "hasTarget", OA + "TextQuoteSelector", AS + "items"} <= terms
    context = annotations.context_document("http://www.w3.org/ns/anno.jsonld")
    for anno in all_annotations:
        doc = {"@context": "http://www.w3.org/ns/anno.jsonld", **anno}
        g = to_graph(doc)
        used = {str(p) for p in g.predicates()} | {str(o) for o in g.objects(None, rdflib.RDF.type)}
        for term in used:
            if term.startswith((OA, AS, LDP)):
                assert term in terms, f"{term} is not in the W3C vocabulary ({anno['id']})"
        a = rdflib.URIRef(anno["id"])
        assert (a, rdflib.RDF.type, rdflib.URIRef(OA + "Annotation")) in g
        assert (a, rdflib.URIRef(OA + "motivatedBy"), rdflib.URIRef(OA + "describing")) in g
        # Nothing was dropped for want of a term: compacting the expansion gives the document back.
        compacted = jsonld.compact(jsonld.expand(doc, {"documentLoader": offline_loader}), context,
                                   {"documentLoader": offline_loader})
        compacted.pop("@context")
        assert _normal(compacted) == _normal(anno), anno["id"]


def _normal(value):
    """JSON with one-element lists and list order normalised (compaction may write either form)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k != "@context"}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        return items[0] if len(items) == 1 else sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def test_every_selector_refinds_its_text(all_annotations, article_text):
    assert all_annotations
    for anno in all_annotations:
        target = anno["target"]
        assert target["source"]  # the article's address when a graph states it, else its IRI
        quote = next(s for s in target["selector"] if s["type"] == "TextQuoteSelector")
        position = next(s for s in target["selector"] if s["type"] == "TextPositionSelector")
        start, end = position["start"], position["end"]
        assert article_text[start:end] == quote["exact"], anno["id"]                  # code points, end exclusive
        prefix, suffix = quote.get("prefix", ""), quote.get("suffix", "")
        whole = prefix + quote["exact"] + suffix
        assert article_text.count(whole) == 1, anno["id"]                               # the quote is unique…
        assert article_text.index(whole) + len(prefix) == start, anno["id"]            # …and is this span
        assert anno["id"].endswith(f"/{start}-{end}")


def test_bodies_name_the_claim_and_say_it_in_words(all_annotations, server):
    claims = set()
    for anno in all_annotations:
        linking = [b for b in anno["body"] if b.get("purpose") == "linking"]
        textual = [b for b in anno["body"] if b.get("type") == "TextualBody"]
        assert len(linking) == 1 and linking[0]["id"].startswith("https://w3id.org/entente/claim/")
        assert len(textual) == 1 and textual[0]["language"] == "en" and "): " in textual[0]["value"]
        claims.add(linking[0]["id"])
    hezbollah = [a for a in all_annotations if a["body"][0]["id"].endswith("/clerics-finance-hezbollah")]
    assert hezbollah and "U.S. Congressional reports" in hezbollah[0]["body"][1]["value"]
    assert len(claims) > 100


def test_one_annotation_by_its_iri_and_in_turtle(server, all_annotations):
    anno = all_annotations[0]
    r = requests.get(anno["id"], timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == JSONLD
    assert '<http://www.w3.org/ns/ldp#Resource>; rel="type"' in r.headers["Link"]
    assert {k: v for k, v in r.json().items() if k != "@context"} == anno
    ttl = requests.get(anno["id"], headers={"Accept": "text/turtle"}, timeout=30)
    assert ttl.status_code == 200 and ttl.headers["Content-Type"].startswith("text/turtle")
    ours = rdflib.Graph().parse(data=ttl.text, format="turtle")
    assert isomorphic(ours, to_graph(r.json()))       # the server's Turtle = pyld's reading of the JSON-LD


def test_paging_and_prefer_iris(server, all_annotations):
    r = requests.get(server.url + "/annotations/", timeout=30,
                     headers={"Prefer": 'return=representation; include="http://www.w3.org/ns/oa#PreferContainedIRIs"'})
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "return=representation"
    first = r.json()["first"]
    assert first["items"] == [a["id"] for a in all_annotations[:len(first["items"])]]
    minimal = requests.get(server.url + "/annotations/", timeout=30, headers={
        "Prefer": 'return=representation; include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'}).json()
    assert isinstance(minimal["first"], str) and minimal["first"].endswith("?page=0")
    last = requests.get(minimal["last"], timeout=30).json()
    assert "next" not in last and last["items"][-1] == all_annotations[-1]


def test_read_only_and_errors(server):
    for method in ("POST", "PUT", "DELETE"):
        r = requests.request(method, server.url + "/annotations/", data="{}", timeout=30,
                             headers={"Content-Type": "application/ld+json"})
        assert r.status_code == 405 and "POST" not in r.headers["Allow"]
    assert requests.get(server.url + "/annotations/?page=-1", timeout=30).status_code == 404
    assert requests.get(server.url + "/annotations/?page=x", timeout=30).status_code == 400
    assert requests.get(server.url + "/annotations/claim/nothing/1-2", timeout=30).status_code == 404
    assert requests.get(server.url + "/annotations/", headers={"Accept": "image/png"}, timeout=30).status_code == 406


def test_contexts_are_served_from_the_package(server):
    r = requests.get(server.url + "/ns/anno.jsonld", timeout=30)
    assert r.status_code == 200 and r.json()["@context"]["TextQuoteSelector"] == "oa:TextQuoteSelector"
    assert requests.get(server.url + "/ns/ldp.jsonld", timeout=30).json()["@context"]["ldp"] == LDP


def test_home_page_and_void_link_the_container(server):
    assert f'href="{server.url}/annotations/"' in requests.get(server.url + "/", timeout=30).text
    void = requests.get(server.url + "/void.nt", timeout=30).text
    assert f"<{server.url}/annotations/> <http://purl.org/dc/terms/conformsTo> " \
           "<http://www.w3.org/TR/annotation-protocol/>" in void


def test_the_cli_writes_the_same_annotations_as_the_server(server, built_dataset, all_annotations, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "annotations.jsonld"
    result = subprocess.run([sys.executable, "-m", "server.cli", "export", "annotations", "--dataset",
                             str(built_dataset), "--public-url", server.url, "--out", str(out)],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["total"] == len(all_annotations) and doc["first"]["items"] == all_annotations
    assert (rdflib.URIRef(server.url + "/annotations/"), rdflib.RDF.type,
            rdflib.URIRef(AS + "OrderedCollection")) in to_graph(doc)
