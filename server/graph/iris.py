"""Namespaces, the IRIs Entente mints, and the mapping between the data's base IRI and the server's URL.

The data always uses the stable base `https://w3id.org/entente/`; a server on localhost or behind
another domain rewrites IRIs at its edge (as Pubby maps a dataset base onto a web base).
"""

from __future__ import annotations

BASE = "https://w3id.org/entente/"

ONTOLOGY = BASE + "ontology"            # the ontology IRI (a document)
ONTOLOGY_VERSION = BASE + "ontology/1.0.0"
ENT = BASE + "ontology#"                # classes and properties: ent:Claim, ent:finances, …
ID = BASE + "id/"                       # things: id:iran, id:vladimir-putin, id:bloomberg-iran-russia-2015
CLAIM = BASE + "claim/"                 # a claim is a named graph: its IRI names the graph and the claim node
SPAN = BASE + "span/"                   # evidence spans in the article: span:120-134 (code points, end exclusive)
SENTENCE = BASE + "sentence/"           # sentences of the article: sentence:7
GRAPH = BASE + "graph/"                 # the other named graphs
CONTRIBUTION = BASE + "contribution/"   # a contribution and its graph
DATASET = BASE + "dataset"              # the void:Dataset

ARTICLE = ID + "bloomberg-iran-russia-2015"
PUBLISHER = ID + "bloomberg-news"          # the publisher's newsroom: the agent of the article's own voice
SEED_FILE = "seeds/000_b47b345340b76534.txt"

# The named graphs that are not claims.
GRAPH_ARTICLE = GRAPH + "article"                 # the article: metadata, full text, sentences
GRAPH_ENTITIES = GRAPH + "entities"               # NOT used for facts: every fact lives in a claim graph
GRAPH_CLAIMS = GRAPH + "claims"                   # claim metadata: evidence spans, asserter, modality
GRAPH_ONTOLOGY = GRAPH + "ontology"
GRAPH_LINKSET = GRAPH + "linkset/wikidata"        # owl:sameAs links to Wikidata, with verification evidence
GRAPH_INFERRED = GRAPH + "inferred"               # prefix: inferred graphs are GRAPH_INFERRED + "/<partition>"
GRAPH_CONTRIBUTIONS = GRAPH + "contributions"     # contribution records (PROV, state)
GRAPH_SOURCE = GRAPH + "source"                   # the article's address and publication date, with their verification
GRAPH_TIME = GRAPH + "time"                       # the calendar intervals the text's time expressions name
GRAPH_NAMES = GRAPH + "names"                     # canonical names (skos:prefLabel, rdfs:label) with their sources
GRAPH_DATES = GRAPH + "dates"                     # dates of events from reference works (not in the article), with their sources
GRAPH_RIGHTS = GRAPH + "rights"                   # per graph: the licence of Entente's data, whose words are whose

WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"

PREFIXES = {
    "ent": ENT,
    "id": ID,
    "claim": CLAIM,
    "span": SPAN,
    "sentence": SENTENCE,
    "graph": GRAPH,
    "wd": WIKIDATA_ENTITY,
    "wdt": "http://www.wikidata.org/prop/direct/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "schema": "https://schema.org/",
    "time": "http://www.w3.org/2006/time#",
    "nif": "http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#",
    "sh": "http://www.w3.org/ns/shacl#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}


def to_public(iri: str, public_url: str, base: str = BASE) -> str:
    """The server URL where `iri` can be fetched (unchanged if it is not one of ours)."""
    if public_url and iri.startswith(base):
        return public_url.rstrip("/") + "/" + iri[len(base):]
    return iri


def from_public(url: str, public_url: str, base: str = BASE) -> str:
    """The data IRI for a URL of this server (unchanged if it is not one of ours)."""
    prefix = public_url.rstrip("/") + "/"
    if public_url and url.startswith(prefix):
        return base + url[len(prefix):]
    return url
