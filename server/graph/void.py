"""The VoID description of the dataset, with statistics computed from the store, and the dumps.

Statistics count what the store holds now (cached per store.version):
- `void:triples` counts every triple of every graph — the quads, as /health and the home page
  do; a triple held by two graphs (a label in a claim graph and in an inferred graph) counts
  twice, so the subsets' figures add up to the whole. `void:entities` is the distinct subject IRIs
  under the base IRI (`void:uriSpace`), `void:classes` the distinct objects of rdf:type,
  `void:properties` the distinct predicates, `void:distinctSubjects` / `void:distinctObjects`;
- every named graph is a `void:subset` (`sd:name` gives the graph) with the same figures;
- class partitions count distinct instances, property partitions triples (quads) per property;
- the owl:sameAs links into Wikidata are the `void:Linkset` graph:linkset/wikidata (the IRI the
  linkset graph uses for itself): `void:triples` = distinct links — not the graph's size, which
  includes the links' verification records and is its subset's `void:triples`.

Dumps (`dumps.DUMPS`): TriG and N-Quads are `void:dataDump`s of the dataset; the triple-only dumps
(Turtle, N-Triples, RDF/XML, JSON-LD) are `void:dataDump`s of its subset `dataset#asserted` (what the
article asserts flatly, with the descriptions); the RDF 1.2 Turtle dump is a `void:dataDump` of the
dataset too (claims as reified triple terms). Each dump says what it holds (`dcterms:description`),
its size (`dcat:byteSize`), SHA-256 (`ent:sha256`, hex) and triple count (`void:triples`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

import pyoxigraph as ox

from . import describe, dumps, iris
from .describe import select_all

VOID = iris.PREFIXES["void"]
DCTERMS = iris.PREFIXES["dcterms"]
RDF_TYPE = iris.PREFIXES["rdf"] + "type"
XSD = iris.PREFIXES["xsd"]
SD = iris.PREFIXES["sd"]
FOAF = iris.PREFIXES["foaf"]
DCAT = "http://www.w3.org/ns/dcat#"
OWL_SAME_AS = iris.PREFIXES["owl"] + "sameAs"
LINKSET = iris.GRAPH_LINKSET               # the graph of links is the void:Linkset (as the data says)
WIKIDATA = iris.GRAPH_LINKSET + "#wikidata"  # its objectsTarget, described in the linkset graph too
EXAMPLES = (iris.ARTICLE, iris.ID + "iran", iris.ID + "russia", iris.ID + "vladimir-putin", iris.ONTOLOGY)

_OWN = {"union_default_graph": False}
_lock = threading.Lock()
_stats: dict[str, "Statistics"] = {}


@dataclass
class Figures:
    triples: int = 0
    entities: int = 0
    classes: int = 0
    properties: int = 0
    distinct_subjects: int = 0
    distinct_objects: int = 0


@dataclass
class Statistics:
    total: Figures
    graphs: dict[str, Figures]
    class_partitions: dict[str, int]     # class IRI → distinct instances
    property_partitions: dict[str, int]  # property IRI → triples (every graph)
    vocabularies: list[str]
    links: Figures                       # the distinct owl:sameAs links into Wikidata


# --- statistics -----------------------------------------------------------------------------------

def statistics(store, base: str = iris.BASE) -> Statistics:
    with _lock:
        if store.version in _stats:
            return _stats[store.version]
    result = _compute(store, base)
    with _lock:
        _stats.clear()
        _stats[store.version] = result
    return result


def _int(row: dict, var: str) -> int:
    return int(row[var].value) if var in row else 0


def _compute(store, base: str) -> Statistics:
    # A subject is an IRI or a blank node, and STR() of a blank node is an error (the row is dropped), so
    # no isIRI() test is needed: with one, Virtuoso 7 (remote store) takes ~18 s here instead of ~1 s.
    entity = f'FILTER(STRSTARTS(STR(?s), "{base}"))'
    every = "{ { GRAPH ?g { ?s ?p ?o } } UNION { ?s ?p ?o } }"     # every triple of every graph
    row = store.select(f"SELECT (COUNT(*) AS ?t) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?p) AS ?dp) "
                       f"(COUNT(DISTINCT ?o) AS ?do) WHERE {every}", **_OWN)[0]
    total = Figures(triples=_int(row, "t"), properties=_int(row, "dp"), distinct_subjects=_int(row, "ds"),
                    distinct_objects=_int(row, "do"))
    total.classes = _int(store.select(
        f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ {{ GRAPH ?g {{ ?s <{RDF_TYPE}> ?c }} }} UNION {{ ?s <{RDF_TYPE}> ?c }} }}",
        **_OWN)[0], "n")
    total.entities = _int(store.select(
        f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {{ GRAPH ?g {{ ?s ?p ?o }} }} UNION {{ ?s ?p ?o }} {entity} }}",
        **_OWN)[0], "n")

    graphs: dict[str, Figures] = {}
    for r in select_all(store, "SELECT ?g (COUNT(*) AS ?t) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?p) AS ?dp) "
                        "(COUNT(DISTINCT ?o) AS ?do) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", "?g", **_OWN):
        graphs[r["g"].value] = Figures(triples=_int(r, "t"), properties=_int(r, "dp"),
                                       distinct_subjects=_int(r, "ds"), distinct_objects=_int(r, "do"))
    for r in select_all(store, f"SELECT ?g (COUNT(DISTINCT ?c) AS ?n) WHERE {{ GRAPH ?g {{ ?s <{RDF_TYPE}> ?c }} }} "
                        f"GROUP BY ?g", "?g", **_OWN):
        graphs[r["g"].value].classes = _int(r, "n")
    for r in select_all(store, f"SELECT ?g (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {entity} }} "
                        f"GROUP BY ?g", "?g", **_OWN):
        graphs[r["g"].value].entities = _int(r, "n")

    classes = {r["c"].value: _int(r, "n") for r in select_all(
        store, f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {{ GRAPH ?g {{ ?s <{RDF_TYPE}> ?c }} }} "
        f"UNION {{ ?s <{RDF_TYPE}> ?c }} FILTER(isIRI(?c)) }} GROUP BY ?c", "?c", **_OWN)}
    properties = {r["p"].value: _int(r, "n") for r in select_all(
        store, f"SELECT ?p (COUNT(*) AS ?n) WHERE {every} GROUP BY ?p", "?p", **_OWN)}
    vocabularies = sorted({ns for ns in iris.PREFIXES.values() for term in list(properties) + list(classes)
                           if term.startswith(ns) and ns not in (iris.ID, iris.CLAIM, iris.SPAN, iris.SENTENCE,
                                                                 iris.GRAPH, iris.WIKIDATA_ENTITY)})
    row = store.select(
        f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?o) AS ?do) WHERE {{ "
        f"SELECT DISTINCT ?s ?o WHERE {{ GRAPH ?g {{ ?s <{OWL_SAME_AS}> ?o }} "
        f'FILTER(STRSTARTS(STR(?o), "{iris.WIKIDATA_ENTITY}")) }} }}', **_OWN)[0]
    links = Figures(triples=_int(row, "n"), distinct_subjects=_int(row, "ds"), distinct_objects=_int(row, "do"))
    return Statistics(total, graphs, classes, properties, vocabularies, links)


# --- the description ------------------------------------------------------------------------------

RIGHTS = ("The licence (CC BY 4.0 by default) covers Entente's own data: the claims, their records, the ontology, "
          "the links and the inferences. The article's words are Bloomberg's: its text and sentences (graph:article) "
          "and the quotes of the evidence spans are not covered by it. Each graph's dcterms:license and "
          "dcterms:rights (from graph:rights) say which is which.")


def graph_rights(store) -> dict[str, list]:
    """graph → [(dcterms:license | dcterms:rights, value)] as graph:rights states them."""
    out: dict[str, list] = {}
    for r in select_all(store, f"SELECT ?g ?p ?o WHERE {{ GRAPH <{iris.GRAPH_RIGHTS}> {{ ?g ?p ?o "
                        f"FILTER(?p IN (<{DCTERMS}license>, <{DCTERMS}rights>)) }} }}", "?g ?p ?o", **_OWN):
        out.setdefault(r["g"].value, []).append((r["p"].value, r["o"]))
    return out


def subset_iri(graph: str) -> str:
    """The IRI of the void:subset for a named graph: a hash IRI of the dataset, resolved via /void."""
    local = quote(graph[len(iris.BASE):], safe="/:-._~") if graph.startswith(iris.BASE) else \
        "graph-" + hashlib.sha256(graph.encode()).hexdigest()[:16]
    return f"{iris.DATASET}#{local}"     # contribution/7#claim-1 → dataset#contribution/7%23claim-1


def partition_iri(kind: str, term: str) -> str:
    return f"{iris.DATASET}#{kind}-{hashlib.sha256(term.encode()).hexdigest()[:16]}"


def description(store, settings, public_root: str, dump_files=dumps.DUMPS, exports=()) -> list[ox.Quad]:
    """The VoID description (default graph): statistics, graphs, linkset, licence, endpoint, dumps, and the
    `exports` (server/exports/catalog.py) as DCAT data services and distributions."""
    stats = statistics(store, iris.BASE)
    out: list[ox.Quad] = []

    def add(s: str, p: str, o) -> None:
        obj = o if isinstance(o, (ox.NamedNode, ox.Literal)) else ox.NamedNode(o)
        out.append(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), obj, ox.DefaultGraph()))

    def count(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))

    def figures(s: str, f: Figures) -> None:
        for prop, value in (("triples", f.triples), ("entities", f.entities), ("classes", f.classes),
                            ("properties", f.properties), ("distinctSubjects", f.distinct_subjects),
                            ("distinctObjects", f.distinct_objects)):
            add(s, VOID + prop, count(value))

    d = iris.DATASET
    add(d, RDF_TYPE, VOID + "Dataset")
    add(d, DCTERMS + "title", ox.Literal("Entente: Iran and Russia, from one Bloomberg article", language="en"))
    add(d, DCTERMS + "description", ox.Literal(
        "An OWL ontology and knowledge graph of one Bloomberg article (2015) about Iran and Russia: every fact in "
        "its own named graph with its evidence (quote, offsets, asserter, modality), Wikidata links, and "
        "inferences.", language="en"))
    add(d, DCTERMS + "license", settings.license)
    add(d, DCTERMS + "rights", ox.Literal(RIGHTS, language="en"))
    add(d, DCTERMS + "source", iris.ARTICLE)
    add(d, DCTERMS + "modified", ox.Literal(
        datetime.fromtimestamp(store.last_modified, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        datatype=ox.NamedNode(XSD + "dateTime")))
    add(d, FOAF + "homepage", public_root + "/")
    add(d, VOID + "uriSpace", ox.Literal(iris.BASE))
    add(d, VOID + "sparqlEndpoint", public_root + "/sparql")
    add(d, VOID + "rootResource", iris.ARTICLE)
    for example in EXAMPLES:
        if describe.exists(store, example):
            add(d, VOID + "exampleResource", example)
    for vocabulary in stats.vocabularies:
        add(d, VOID + "vocabulary", vocabulary)
    figures(d, stats.total)

    asserted = iris.DATASET + "#asserted"
    add(d, VOID + "subset", asserted)
    add(asserted, RDF_TYPE, VOID + "Dataset")
    add(asserted, DCTERMS + "title", ox.Literal("What the article asserts flatly, with the descriptions", language="en"))
    add(asserted, DCTERMS + "description", ox.Literal(dumps.ASSERTED, language="en"))
    add(asserted, DCTERMS + "license", settings.license)
    for dump_file in dump_files:
        url = f"{public_root}/dumps/{dump_file.name}"
        made = dumps.make(store, dump_file)
        add(asserted if dump_file.holds == "asserted" else d, VOID + "dataDump", url)
        add(url, DCTERMS + "format", ox.Literal(dump_file.media_type))
        add(url, DCAT + "mediaType", ox.Literal(dump_file.media_type))
        add(url, DCAT + "byteSize", count(made.size))
        add(url, iris.ENT + "sha256", ox.Literal(made.sha256))
        add(url, VOID + "triples", count(made.triples))
        add(url, DCTERMS + "description", ox.Literal(dump_file.description, language="en"))
        if dump_file.conforms_to:
            add(url, DCTERMS + "conformsTo", dump_file.conforms_to)
        if dump_file.holds == "asserted":
            add(asserted, VOID + "triples", count(made.triples))
        if dump_file.format.w3c_iri:
            add(d, VOID + "feature", dump_file.format.w3c_iri)

    rights = graph_rights(store)
    for graph, f in sorted(stats.graphs.items()):
        s = subset_iri(graph)
        add(d, VOID + "subset", s)
        add(s, RDF_TYPE, VOID + "Dataset")
        add(s, SD + "name", graph)
        figures(s, f)
        for prop, value in rights.get(graph, ()):
            add(s, prop, value)

    # The links themselves: graph:linkset/wikidata also holds their verification records.
    add(d, VOID + "subset", LINKSET)
    add(LINKSET, RDF_TYPE, VOID + "Linkset")
    add(LINKSET, VOID + "linkPredicate", OWL_SAME_AS)
    add(LINKSET, VOID + "subjectsTarget", d)
    add(LINKSET, VOID + "objectsTarget", WIKIDATA)
    add(LINKSET, VOID + "triples", count(stats.links.triples))
    add(LINKSET, VOID + "distinctSubjects", count(stats.links.distinct_subjects))
    add(LINKSET, VOID + "distinctObjects", count(stats.links.distinct_objects))

    for export in exports:
        url = public_root + export.path
        if export.kind == "service":
            add(url, RDF_TYPE, DCAT + "DataService")
            add(url, DCAT + "endpointURL", url)
            add(url, DCAT + "servesDataset", d)
        else:
            add(d, DCAT + "distribution", url)
            add(url, RDF_TYPE, DCAT + "Distribution")
            add(url, DCAT + "downloadURL", url)
            add(url, DCAT + "mediaType", ox.Literal(export.media_type))
        add(url, DCTERMS + "title", ox.Literal(export.title, language="en"))
        add(url, DCTERMS + "conformsTo", export.conforms_to)

    add(WIKIDATA, RDF_TYPE, VOID + "Dataset")
    add(WIKIDATA, FOAF + "homepage", "https://www.wikidata.org/")
    add(WIKIDATA, VOID + "uriSpace", ox.Literal(iris.WIKIDATA_ENTITY))
    add(WIKIDATA, VOID + "sparqlEndpoint", "https://query.wikidata.org/sparql")

    for cls, n in sorted(stats.class_partitions.items()):
        p = partition_iri("class", cls)
        add(d, VOID + "classPartition", p)
        add(p, VOID + "class", cls)
        add(p, VOID + "entities", count(n))
    for prop, n in sorted(stats.property_partitions.items()):
        p = partition_iri("property", prop)
        add(d, VOID + "propertyPartition", p)
        add(p, VOID + "property", prop)
        add(p, VOID + "triples", count(n))
    return out
