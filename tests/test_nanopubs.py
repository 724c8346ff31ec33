"""Nanopublications: /claim/<id>.trig with the nanopub profile, /export/nanopubs.trig, `entente export nanopubs`.

Every nanopublication is checked by nanopub-sign, the Python binding of the nanopub community's Rust
toolkit (structure, trusty hash, signature); the contents are read with rdflib and compared with the
claim's own document and the article text.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import nanopub_sign
import pyoxigraph as ox
import pytest
import rdflib
import requests
from rdflib.compare import isomorphic

ROOT = Path(__file__).resolve().parent.parent
NP = rdflib.Namespace("http://www.nanopub.org/nschema#")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
ENT = rdflib.Namespace("https://w3id.org/entente/ontology#")
NIF = rdflib.Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
ID = rdflib.Namespace("https://w3id.org/entente/id/")
CLAIM = "https://w3id.org/entente/claim/"
PROFILE = "http://www.nanopub.org/nschema"
ORCID = "https://orcid.org/0000-0002-1825-0097"     # the ORCID documentation's example identifier


def check(trig: str) -> None:
    """nanopub-sign's own check (raises on a malformed nanopub, a wrong trusty hash or a bad signature)."""
    nanopub_sign.Nanopub(trig).check()


def parts(trig: str) -> dict[str, rdflib.Graph]:
    """head / assertion / provenance / pubinfo graphs of one nanopublication, found through its head."""
    ds = rdflib.Dataset()
    ds.parse(data=trig, format="trig")
    heads = [(s, g) for s, _, _, g in ds.quads((None, rdflib.RDF.type, NP.Nanopublication, None))]
    assert len(heads) == 1, heads
    this, head = heads[0]
    head_graph = ds.graph(head)
    out = {"this": this, "head": head_graph}
    for key, prop in (("assertion", NP.hasAssertion), ("provenance", NP.hasProvenance),
                      ("pubinfo", NP.hasPublicationInfo)):
        out[key] = ds.graph(head_graph.value(this, prop))
        out[key + "_iri"] = head_graph.value(this, prop)
    return out


def split(trig: str) -> list[str]:
    """The nanopublications of a multi-nanopub TriG file, each as its own TriG document."""
    by_np: dict[str, list] = defaultdict(list)
    for q in ox.parse(trig.encode("utf-8"), format=ox.RdfFormat.TRIG):
        g = q.graph_name.value
        base = g.rsplit("#", 1)[0] if "#" in g else g.rsplit("/", 1)[0]
        by_np[base].append(q)
    return [ox.serialize(qs, format=ox.RdfFormat.TRIG).decode() for qs in by_np.values()]


@pytest.fixture(scope="module")
def article_text(built_dataset) -> str:
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    return list(store.query("SELECT ?t WHERE { GRAPH ?g { ?a <http://persistence.uni-leipzig.org/nlp2rdf/"
                            "ontologies/nif-core#isString> ?t } }"))[0]["t"].value


@pytest.fixture(scope="module")
def claims_with_triples(built_dataset) -> int:
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    q = (f"SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{CLAIM}')) "
         f"FILTER EXISTS {{ GRAPH ?r {{ ?g a <{ENT}Claim> }} }} }}")
    return int(list(store.query(q))[0]["n"].value)


def test_a_claim_as_a_nanopublication_by_profile(server, article_text):
    url = server.url + "/claim/clerics-finance-hezbollah.trig"
    r = requests.get(url, headers={"Accept-Profile": f"<{PROFILE}>"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/trig")
    assert r.headers["Content-Profile"] == f"<{PROFILE}>" and "Accept-Profile" in r.headers["Vary"]
    check(r.text)
    np = parts(r.text)
    # The assertion is the claim graph, triple for triple.
    plain = requests.get(url, timeout=30)
    assert "Content-Profile" not in plain.headers and "Accept-Profile" in plain.headers["Vary"]
    assert 'profile="http://www.nanopub.org/nschema"' in plain.headers["Link"]
    claim_ds = rdflib.Dataset()
    claim_ds.parse(data=plain.text, format="trig")
    claim_graph = rdflib.Graph()
    for t in claim_ds.graph(rdflib.URIRef(CLAIM + "clerics-finance-hezbollah")):
        claim_graph.add(t)
    assert len(claim_graph) > 5 and isomorphic(claim_graph, np["assertion"])
    # Provenance: who, how, the evidence with its quote and offsets, the article.
    prov, a = np["provenance"], np["assertion_iri"]
    assert (a, PROV.wasAttributedTo, ID["us-congressional-reports"]) in prov
    assert (a, ENT.modality, ENT.ReportedClaim) in prov
    assert (a, PROV.wasDerivedFrom, rdflib.URIRef(CLAIM + "clerics-finance-hezbollah")) in prov
    spans = list(prov.objects(a, ENT.evidence))
    assert spans
    for span in spans:
        b, e = int(prov.value(span, NIF.beginIndex)), int(prov.value(span, NIF.endIndex))
        assert str(prov.value(span, NIF.anchorOf)) == article_text[b:e]
    assert str(prov.value(ID["bloomberg-iran-russia-2015"], rdflib.URIRef("https://schema.org/url"))).startswith(
        "https://www.bloomberg.com/")
    # Publication info: creator, date, licence, release.
    pub, this = np["pubinfo"], np["this"]
    assert pub.value(this, DCTERMS.creator) and pub.value(this, DCTERMS.created)
    assert str(pub.value(this, DCTERMS.license)) == "https://creativecommons.org/licenses/by/4.0/"
    assert pub.value(this, rdflib.OWL.versionInfo)
    assert requests.get(url + "?profile=nanopub", timeout=30).text == r.text
    assert requests.get(server.url + "/claim/nothing-here.trig", headers={"Accept-Profile": f"<{PROFILE}>"},
                        timeout=30).status_code == 404


def test_every_claim_is_a_nanopublication_that_passes_the_check(server, claims_with_triples):
    r = requests.get(server.url + "/export/nanopubs.trig", timeout=120)
    assert r.status_code == 200 and r.headers["Content-Profile"] == f"<{PROFILE}>"
    nanopubs = split(r.text)
    assert len(nanopubs) == claims_with_triples > 100
    for text in nanopubs:
        check(text)
        np = parts(text)
        assert len(np["assertion"]) > 0 and (np["assertion_iri"], PROV.wasAttributedTo, None) in np["provenance"]


def test_signed_nanopublications_have_trusty_uris_and_tampering_is_caught(built_dataset, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(nanopub_sign.KeyPair().private)           # a throwaway key made for this test
    out = tmp_path / "np.trig"
    cmd = [sys.executable, "-m", "server.cli", "export", "nanopubs", "--dataset", str(built_dataset),
           "--key-file", str(key), "--orcid", ORCID, "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert key.read_text() not in result.stdout + result.stderr
    signed = split(out.read_text())
    assert len(signed) > 100
    for text in signed:
        info = nanopub_sign.Nanopub(text).check().info()
        assert info["uri"]["value"].startswith("https://w3id.org/np/RA") and info["signature"]
    first = parts(signed[0])
    # Change one assertion triple's object: the trusty hash no longer matches.
    s, p, o = next(iter(first["assertion"]))
    graph = first["assertion_iri"]
    ds = rdflib.Dataset()
    ds.parse(data=signed[0], format="trig")
    ds.graph(graph).remove((s, p, o))
    ds.graph(graph).add((s, p, rdflib.URIRef("https://w3id.org/entente/id/somewhere-else")))
    with pytest.raises(Exception, match="hash"):
        check(ds.serialize(format="trig"))
    # Deterministic: the same key and dataset sign to the same bytes.
    again = subprocess.run(cmd[:-2] + ["--claim", "clerics-finance-hezbollah"], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert again.returncode == 0 and again.stdout.strip() in out.read_text()


def test_a_bad_signing_setup_is_refused_with_a_message(built_dataset, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    base = [sys.executable, "-m", "server.cli", "export", "nanopubs", "--dataset", str(built_dataset),
            "--key-file", str(key)]
    no_orcid = subprocess.run(base, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert no_orcid.returncode != 0 and "ORCID" in no_orcid.stderr
    bad_key = subprocess.run(base + ["--orcid", ORCID], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad_key.returncode != 0 and "not usable" in bad_key.stderr and "not a key" not in bad_key.stderr


def test_home_page_and_void_list_the_nanopublications(server):
    assert f'href="{server.url}/export/nanopubs.trig"' in requests.get(server.url + "/", timeout=30).text
    void = requests.get(server.url + "/void.nt", timeout=30).text
    assert f"<{server.url}/export/nanopubs.trig> <http://purl.org/dc/terms/conformsTo> <{PROFILE}>" in void
