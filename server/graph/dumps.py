"""The published dumps: one table of files, each with its format and what it holds.

TriG and N-Quads keep every named graph, so every claim keeps its attribution. The triple-only
formats (Turtle, N-Triples, RDF/XML, JSON-LD) cannot say which graph a triple came from, so they hold
only what reads true as a plain triple (`asserted_graphs`): the graphs that are not claims (the
article and its sentences, the claim records, the ontology, the Wikidata linkset), the claims the
article asserts flatly (`FLAT_CLAIMS`) and the inferences drawn from those alone. A quoted, reported,
hedged, negated, uncertain, future or hypothetical claim is in the claim records (what it is, who
says it, how) but its triples are not asserted there.

The RDF 1.2 Turtle dump holds everything in one graph: the triple-only dump's content, plus every
claim graph and inferred graph as reifications — `claim:x rdf:reifies <<( s p o )>>` for each of
its triples, the claim's metadata (modality, asserter, evidence) being triples about claim:x. That
is what the annotation syntax `s p o ~ claim:x {| … |}` means; for a claim that is not asserted
flatly the triple is reified but not asserted.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from dataclasses import dataclass

import pyoxigraph as ox

from .. import formats, representations
from . import describe, iris
from .describe import select_all

ENT = iris.ENT
PROV = iris.PREFIXES["prov"]
RDF_REIFIES = iris.PREFIXES["rdf"] + "reifies"
RDF12_TURTLE = "https://www.w3.org/TR/rdf12-turtle/"
_OWN = {"union_default_graph": False}

# The claims the article asserts flatly, positively, as fact (docs/competency/cq23-…): in the article's
# own voice, affirmed, certain, about the past or the present — each stated, so a claim that does not
# say its polarity, certainty or time (a contribution may not) is not taken for a fact. Full IRIs, no
# PREFIX: describe.select_all pages it as a subquery.
FLAT_CLAIMS = f"""SELECT DISTINCT ?claim WHERE {{
  GRAPH ?records {{ ?claim a <{ENT}Claim> ; <{ENT}modality> <{ENT}ArticleVoice> ; <{ENT}polarity> <{ENT}Affirmed> ;
                          <{ENT}certainty> <{ENT}Certain> ; <{ENT}timeReference> ?time }}
  FILTER(?time IN (<{ENT}Past>, <{ENT}Ongoing>))
  FILTER NOT EXISTS {{ GRAPH ?r1 {{ ?claim <{ENT}polarity> ?p }} FILTER(?p != <{ENT}Affirmed>) }}
  FILTER NOT EXISTS {{ GRAPH ?r2 {{ ?claim <{ENT}certainty> ?c }} FILTER(?c != <{ENT}Certain>) }}
  FILTER NOT EXISTS {{ GRAPH ?r3 {{ ?claim <{ENT}timeReference> ?t }} FILTER(?t NOT IN (<{ENT}Past>, <{ENT}Ongoing>)) }}
}}"""
CLAIMS = f"SELECT DISTINCT ?claim WHERE {{ GRAPH ?records {{ ?claim a <{ENT}Claim> }} }}"
# The graph's name and its self-description's subject are two variables joined by FILTER: the same
# answer, and Virtuoso 7 (the remote-store tests' engine) ignores the join when one variable is both.
INFERRED = (f"SELECT ?graph ?source WHERE {{ GRAPH ?graph {{ ?self a <{ENT}InferredGraph> "
            f"OPTIONAL {{ ?self <{PROV}wasDerivedFrom> ?source }} }} FILTER(?self = ?graph) }}")


@dataclass(frozen=True)
class DumpFile:
    name: str                  # the file name under /dumps/
    format: formats.Format
    holds: str                 # "all" (every graph), "asserted" (triple-only) or "annotated" (RDF 1.2)
    description: str
    conforms_to: str | None = None

    @property
    def media_type(self) -> str:
        return self.format.media_type


ALL = "Every named graph: each claim in its own graph with its evidence, asserter and modality; inferences; ontology; article; Wikidata links."
ASSERTED = ("Triples only, graphs merged: the entity descriptions and what the article asserts flatly (its own "
             "voice, affirmed, certain, past or present), inferences drawn from those alone, the claim records, "
             "ontology, article and Wikidata links. Quoted, reported, hedged, negated, future and hypothetical claims "
             "are described in the claim records but their triples are not asserted: take the TriG or N-Quads dump "
             "for them.")
ANNOTATED = ("RDF 1.2 Turtle, one graph, nothing about a claim lost: the triple-only dump's content, and every "
              "claim's and inferred graph's triples as triple terms reified by the claim or graph "
              "(claim rdf:reifies <<( s p o )>>), whose metadata says who asserts it and how. A claim's triples "
              "are also asserted only if the article asserts them flatly.")

DUMPS = (
    DumpFile("entente.trig", formats.by_name("trig"), "all", ALL),
    DumpFile("entente.nq", formats.by_name("nquads"), "all", ALL),
    DumpFile("entente.ttl", formats.by_name("turtle"), "asserted", ASSERTED),
    DumpFile("entente.nt", formats.by_name("ntriples"), "asserted", ASSERTED),
    DumpFile("entente.rdf", formats.by_name("rdfxml"), "asserted", ASSERTED),
    DumpFile("entente.jsonld", formats.by_name("jsonld"), "asserted", ASSERTED),
    DumpFile("entente-rdf12.ttl", formats.by_name("turtle"), "annotated", ANNOTATED, RDF12_TURTLE),
)


def by_name(name: str) -> DumpFile | None:
    return next((d for d in DUMPS if d.name == name), None)


@dataclass(frozen=True)
class Dump:
    body: bytes
    sha256: str            # hex, of `body` (what VoID advertises)
    sha256_base64: str     # for Repr-Digest (RFC 9530)
    gzipped: bytes         # the same dump gzip-encoded, for clients that accept it
    gzipped_sha256_base64: str
    triples: int           # quads for "all", distinct triples otherwise

    @property
    def size(self) -> int:
        return len(self.body)


_lock = threading.Lock()
_made: dict[tuple[str, str], Dump] = {}


def make(store, dump_file: DumpFile) -> Dump:
    """The dump's bytes for the store's current version (made once per version and file)."""
    key = (dump_file.name, store.version)
    with _lock:
        if key in _made:
            return _made[key]
    # Sorted, so that every worker process makes the same bytes (and the same checksum) for a version.
    quads = sorted(store.quads(), key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))
    if dump_file.holds == "all":
        body, count = representations.serialize(quads, dump_file.format, ordered=True), len(quads)
    else:
        triples = plain_triples(store, quads)
        if dump_file.holds == "annotated":
            triples = triples + reifications(store, quads)
        triples = list(dict.fromkeys(triples))
        body = representations.serialize(triples, dump_file.format, ordered=True)
        count = len(triples)
    digest = hashlib.sha256(body).digest()
    gzipped = gzip.compress(body, compresslevel=6, mtime=0)
    result = Dump(body, digest.hex(), base64.b64encode(digest).decode("ascii"), gzipped,
                  base64.b64encode(hashlib.sha256(gzipped).digest()).decode("ascii"), count)
    with _lock:
        for old in [k for k in _made if k[1] != store.version]:
            del _made[old]
        _made[key] = result
    return result


def asserted_graphs(store, graph_names=None) -> set[str]:
    """The named graphs whose triples the triple-only dumps assert: every graph that is neither a claim
    nor an inferred graph, the flat claims, and the inferred graphs derived from flat claims only."""
    if graph_names is None:
        graph_names = {q.graph_name.value for q in store.quads() if isinstance(q.graph_name, ox.NamedNode)}
    flat = {r["claim"].value for r in select_all(store, FLAT_CLAIMS, "?claim", **_OWN)}
    claims = {r["claim"].value for r in select_all(store, CLAIMS, "?claim", **_OWN)}
    sources: dict[str, set] = {}
    for r in select_all(store, INFERRED, "?graph ?source", **_OWN):
        sources.setdefault(r["graph"].value, set()).update([r["source"].value] if "source" in r else [])
    keep = set()
    for g in graph_names:
        if g in claims:
            if g in flat:
                keep.add(g)
        elif g in sources:
            if sources[g] and sources[g] <= flat:
                keep.add(g)
        else:
            keep.add(g)
    return keep


def plain_triples(store, quads) -> list[ox.Triple]:
    names = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
    keep = asserted_graphs(store, names)
    return [q.triple for q in quads if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in keep]


def reifications(store, quads) -> list[ox.Triple]:
    """`G rdf:reifies <<( s p o )>>` for every triple of every claim graph and inferred graph G, except an
    inferred graph's description of itself (it is about the graph, and asserted as it is)."""
    claims = {r["claim"].value for r in select_all(store, CLAIMS, "?claim", **_OWN)}
    inferred = {r["graph"].value for r in select_all(store, INFERRED, "?graph ?source", **_OWN)}
    describers = {q.graph_name.value: set() for q in quads if isinstance(q.graph_name, ox.NamedNode)}
    for q in quads:    # an inferred graph, its reasoning run and what the run used describe the graph
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in inferred and q.predicate.value == PROV + "used":
            describers[q.graph_name.value].add(q.object.value)
    out = []
    reifies = ox.NamedNode(RDF_REIFIES)
    for q in quads:
        g = q.graph_name
        if not isinstance(g, ox.NamedNode) or (g.value not in claims and g.value not in inferred):
            continue
        s = q.subject.value if isinstance(q.subject, ox.NamedNode) else None
        if g.value in inferred and s and (s == g.value or s.startswith(g.value + "#") or s in describers[g.value]):
            out.append(q.triple)
        else:
            out.append(ox.Triple(g, reifies, q.triple))
    return out
