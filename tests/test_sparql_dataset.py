"""/sparql and /store on the real built dataset (the shared read-only `server` fixture)."""

from __future__ import annotations

import rdflib
import requests
from SPARQLWrapper import JSON, JSONLD, SPARQLWrapper

PROLOGUE = """PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX id: <https://w3id.org/entente/id/>
PREFIX graph: <https://w3id.org/entente/graph/>
PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
"""
RESULTS = "application/sparql-results+json"


def select(server, query, **params) -> list[dict]:
    r = requests.get(server.url + "/sparql", params={"query": PROLOGUE + query, **params}, headers={"Accept": RESULTS})
    assert r.status_code == 200, r.text
    return r.json()["results"]["bindings"]


def test_health_counts_the_loaded_dataset(server):
    health = requests.get(server.url + "/health").json()
    total = select(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert health["status"] == "ok" and health["triples"] == int(total[0]["n"]["value"]) > 1000


def test_who_finances_hezbollah_is_one_plain_triple_pattern(server):
    """s34 names "Iran's ruling clerics", who govern Iran: a property path reaches them from Iran."""
    rows = select(server, "SELECT ?who WHERE { ?who ent:finances id:hezbollah }")
    assert {r["who"]["value"] for r in rows} == {"https://w3id.org/entente/id/iran-ruling-clerics"}
    rows = select(server, "SELECT ?what WHERE { ?ruler ent:governs id:iran ; ent:finances ?what }")
    assert "https://w3id.org/entente/id/hezbollah" in {r["what"]["value"] for r in rows}


def test_who_says_so_and_where(server):
    rows = select(server, """SELECT ?claim ?who ?begin ?quote WHERE {
        GRAPH ?claim { ?funder ent:finances id:hezbollah }
        ?claim ent:assertedBy ?who ; ent:evidence ?span .
        ?span nif:beginIndex ?begin ; nif:anchorOf ?quote }""")
    assert rows
    assert all(r["claim"]["value"].startswith("https://w3id.org/entente/claim/") for r in rows)
    assert all("finance" in r["quote"]["value"].lower() for r in rows)


def test_the_store_default_graph_is_empty_and_the_union_is_not(server):
    assert select(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                  **{"union-default-graph": "false"})[0]["n"]["value"] == "0"
    assert int(select(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]["value"]) > 1000


def test_service_description_lists_the_real_named_graphs(server):
    r = requests.get(server.url + "/sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=r.text, format="turtle")
    names = {str(n) for n in graph.objects(None, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#name"))}
    graphs = select(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert names == {g["g"]["value"] for g in graphs}
    for name in ("article", "claims", "ontology", "linkset/wikidata"):
        assert "https://w3id.org/entente/graph/" + name in names


def test_graph_store_get_of_the_article_graph(server):
    r = requests.get(server.url + "/store", params={"graph": "https://w3id.org/entente/graph/article"},
                     headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    graph = rdflib.Graph().parse(data=r.text, format="turtle")
    texts = list(graph.objects(None, rdflib.URIRef(
        "http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#isString")))
    assert len(texts) == 1 and len(str(texts[0])) == 5451


def test_sparqlwrapper_on_the_real_data(server):
    sw = SPARQLWrapper(server.url + "/sparql")
    sw.setQuery(PROLOGUE + "CONSTRUCT { id:iran ?p ?o } WHERE { id:iran ?p ?o }")
    sw.setReturnFormat(JSONLD)
    graph = sw.query().convert()
    assert len(graph) > 5
    sw.setQuery(PROLOGUE + "ASK { id:iran-ruling-clerics ent:finances id:hezbollah }")
    sw.setReturnFormat(JSON)
    assert sw.query().convert()["boolean"] is True
