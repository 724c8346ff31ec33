"""What the exports read from the graph, gathered once per store version.

`Data.load(source)` takes every quad of a store (the server's `Store`, or `DatasetFile` for the
CLI, which reads a built TriG file) and indexes what the exports need: entities with their names,
types and Wikidata items; claims with their triples, asserter, modality, qualifiers and evidence
spans; the article's text and metadata; the ontology's classes, properties and Wikidata alignments.
Inferred graphs are left out: every export says what the article says, not what a reasoner derived.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..graph import iris

RDF_TYPE = iris.PREFIXES["rdf"] + "type"
RDFS = iris.PREFIXES["rdfs"]
SKOS = iris.PREFIXES["skos"]
OWL = iris.PREFIXES["owl"]
DCTERMS = iris.PREFIXES["dcterms"]
SCHEMA = iris.PREFIXES["schema"]
NIF = iris.PREFIXES["nif"]
ENT = iris.ENT
WD = iris.WIKIDATA_ENTITY
WDT = iris.PREFIXES["wdt"]
NAME_PREDICATES = {SKOS + "prefLabel": "preferred", RDFS + "label": "label", SKOS + "altLabel": "alternative"}
ALIGNMENT_PREDICATES = (SKOS + "closeMatch", SKOS + "exactMatch", OWL + "equivalentProperty", OWL + "equivalentClass")
CLAIM_LINKS = {ENT + "modality", ENT + "assertedBy", ENT + "reportedIn", ENT + "evidence", RDF_TYPE}


@dataclass
class Span:
    iri: str
    begin: int
    end: int
    quote: str
    sentence: str | None = None


@dataclass
class Claim:
    iri: str
    triples: list[tuple] = field(default_factory=list)        # (s, p, o) pyoxigraph terms, sorted
    modality: str | None = None
    asserter: str | None = None
    reported_in: str | None = None
    spans: list[Span] = field(default_factory=list)           # in reading order
    qualifiers: list[tuple[str, object]] = field(default_factory=list)   # other (predicate, object) of the claim
    contribution: bool = False                                # a contributed claim (graph under contribution/)

    @property
    def local(self) -> str:
        return self.iri[len(iris.CLAIM):] if self.iri.startswith(iris.CLAIM) else self.iri


@dataclass
class Entity:
    iri: str
    names: list[tuple[str, str]] = field(default_factory=list)   # (text, kind): preferred | label | alternative | wikidata
    types: set[str] = field(default_factory=set)
    qid: str | None = None

    @property
    def name(self) -> str:
        for kind in ("preferred", "label", "alternative", "wikidata"):
            for text, k in self.names:
                if k == kind:
                    return text
        return self.iri.rsplit("/", 1)[-1]


@dataclass
class Term:
    """A class or property of the ontology."""
    iri: str
    label: str
    definition: str | None = None
    kind: str = "class"          # class | property
    parents: set[str] = field(default_factory=set)


@dataclass
class Article:
    iri: str
    text: str = ""
    title: str | None = None
    address: str | None = None        # the article's URL, when a graph states it (not from the seed)
    published: str | None = None      # xsd:date or dateTime lexical form, when stated
    publisher: str | None = None
    retrieved: str | None = None      # when the address was last checked (the source verification record)


@dataclass
class Data:
    version: str
    quads: list
    entities: dict[str, Entity]
    claims: dict[str, Claim]
    terms: dict[str, Term]
    article: Article
    labels: dict[str, str]
    alignments: dict[str, str]                 # ontology term IRI → Wikidata IRI (wd:Q… or wdt:P…), verified
    same_as: dict[str, str]                    # entity IRI → wd:Q… IRI
    outgoing: dict[str, list[tuple]]           # subject IRI → (predicate, object, claim) from claim graphs

    @classmethod
    def load(cls, source) -> "Data":
        with _lock:
            cached = _cache.get(id(source))
            if cached is not None and cached.version == source.version:
                return cached
        data = _build(source.version, source.quads())
        with _lock:
            _cache.clear()
            _cache[id(source)] = data
        return data

    def label(self, iri: str) -> str:
        return self.labels.get(iri) or _local_name(iri)

    def superclasses(self, cls: str) -> set[str]:
        seen, todo = set(), [cls]
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            todo.extend(self.terms[c].parents if c in self.terms else ())
        return seen

    def qid(self, iri: str) -> str | None:
        wd = self.same_as.get(iri)
        return wd[len(WD):] if wd else None


_lock = threading.Lock()
_cache: dict[int, Data] = {}


class DatasetFile:
    """A built dataset file read into memory: the same `version` / `quads()` the server's Store has."""

    def __init__(self, path: Path):
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no built dataset; run `entente build` first")
        self.path = path
        self.version = hashlib.sha256(path.read_bytes()).hexdigest()
        self._store = ox.Store()
        self._store.bulk_load(path=str(path), format=ox.RdfFormat.TRIG)

    def quads(self, graph: str | None = None) -> list:
        g = None if graph is None else (ox.DefaultGraph() if graph == "" else ox.NamedNode(graph))
        return list(self._store.quads_for_pattern(None, None, None, g))


def _local_name(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[-1]
    return iri


def _text(term) -> str:
    return term.value


def _build(version: str, quads: list) -> Data:
    by_graph: dict[str, list] = defaultdict(list)
    for q in quads:
        g = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if g.startswith(iris.GRAPH_INFERRED):
            continue
        by_graph[g].append(q)
    kept = [q for qs in by_graph.values() for q in qs]

    terms = _terms(by_graph.get(iris.GRAPH_ONTOLOGY, []))
    labels = {iri: t.label for iri, t in terms.items()}
    entities: dict[str, Entity] = {}
    claims: dict[str, Claim] = {}
    outgoing: dict[str, list[tuple]] = defaultdict(list)
    same_as: dict[str, str] = {}
    alignments: dict[str, str] = {}
    verified: set[tuple[str, str]] = set()
    spans: dict[str, Span] = {}

    def entity(iri: str) -> Entity:
        if iri not in entities:
            entities[iri] = Entity(iri)
        return entities[iri]

    for q in kept:
        s, p, o, g = q.subject, q.predicate.value, q.object, q.graph_name
        gname = g.value if isinstance(g, ox.NamedNode) else ""
        if not isinstance(s, ox.NamedNode):
            continue
        sv = s.value
        if p in NAME_PREDICATES and isinstance(o, ox.Literal):
            if sv.startswith(iris.ID) and (o.value, NAME_PREDICATES[p]) not in entity(sv).names:
                entity(sv).names.append((o.value, NAME_PREDICATES[p]))
            if p == SKOS + "prefLabel" and o.language in (None, "en"):
                labels[sv] = o.value
            elif p == RDFS + "label" and o.language in (None, "en"):
                labels.setdefault(sv, o.value)
        if sv.startswith(iris.ID) and p == RDF_TYPE and isinstance(o, ox.NamedNode):
            entity(sv).types.add(o.value)
        if p == OWL + "sameAs" and isinstance(o, ox.NamedNode) and o.value.startswith(WD) and sv.startswith(iris.ID):
            same_as[sv] = o.value
        if p in ALIGNMENT_PREDICATES and isinstance(o, ox.NamedNode) and (o.value.startswith(WD) or o.value.startswith(WDT)):
            alignments.setdefault(sv, o.value)
        if p == ENT + "linkSubject":
            for q2 in by_graph[gname]:
                if q2.subject == s and q2.predicate.value == ENT + "linkObject":
                    verified.add((o.value, q2.object.value))
        if p == NIF + "anchorOf" and sv.startswith(iris.SPAN):
            spans[sv] = Span(sv, 0, 0, o.value)
        if gname.startswith(iris.CLAIM) or gname.startswith(iris.CONTRIBUTION):
            if gname not in claims:
                claims[gname] = Claim(gname, contribution=gname.startswith(iris.CONTRIBUTION))
            claims[gname].triples.append((s, q.predicate, o))
            outgoing[sv].append((p, o, gname))

    for q in kept:   # span offsets and sentences, once every span is known
        sv, p = q.subject.value, q.predicate.value
        if sv in spans:
            if p == NIF + "beginIndex":
                spans[sv].begin = int(q.object.value)
            elif p == NIF + "endIndex":
                spans[sv].end = int(q.object.value)
            elif p == ENT + "inSentence":
                spans[sv].sentence = q.object.value

    # Claim metadata: in graph:claims (the article's) or in the contribution's own graph.
    for q in kept:
        sv, p, o = q.subject.value, q.predicate.value, q.object
        if sv not in claims or q.graph_name.value == sv:
            continue
        c = claims[sv]
        if p == ENT + "modality":
            c.modality = o.value
        elif p == ENT + "assertedBy":
            c.asserter = o.value
        elif p == ENT + "reportedIn":
            c.reported_in = o.value
        elif p == ENT + "evidence" and o.value in spans:
            c.spans.append(spans[o.value])
        elif p not in CLAIM_LINKS:
            c.qualifiers.append((p, o))
    for c in claims.values():
        c.spans.sort(key=lambda sp: (sp.begin, sp.end))
        c.triples.sort(key=lambda t: (str(t[0]), str(t[1]), str(t[2])))
        c.qualifiers.sort(key=lambda pq: (pq[0], str(pq[1])))
    # Only claims with metadata are claims (a contribution's record graph is not).
    claims = {k: v for k, v in claims.items() if v.modality or v.spans or not v.contribution}

    for iri, wd in list(same_as.items()):
        if (iri, wd) in verified:
            entity(iri).qid = wd[len(WD):]
        else:
            del same_as[iri]
    alignments = {t: w for t, w in alignments.items() if (t, w) in verified}
    for q in by_graph.get(iris.GRAPH_LINKSET, []):
        if q.predicate.value == ENT + "wikidataLabel":
            subj = next((q2.object.value for q2 in by_graph[iris.GRAPH_LINKSET]
                         if q2.subject == q.subject and q2.predicate.value == ENT + "linkSubject"), None)
            if subj in entities and (q.object.value, "wikidata") not in entities[subj].names:
                entities[subj].names.append((q.object.value, "wikidata"))
    entities = {k: v for k, v in entities.items() if v.names or v.types}
    for e in entities.values():
        labels.setdefault(e.iri, e.name)

    return Data(version, kept, entities, claims, terms, _article(kept, labels), labels, alignments, same_as,
                dict(outgoing))


def _terms(quads: list) -> dict[str, Term]:
    kinds = {OWL + "Class": "class", OWL + "ObjectProperty": "property", OWL + "DatatypeProperty": "property"}
    terms: dict[str, Term] = {}
    for q in quads:
        if q.predicate.value == RDF_TYPE and q.object.value in kinds and isinstance(q.subject, ox.NamedNode):
            terms[q.subject.value] = Term(q.subject.value, _local_name(q.subject.value), kind=kinds[q.object.value])
    for q in quads:
        t = terms.get(q.subject.value)
        if t is None:
            continue
        p = q.predicate.value
        if p == RDFS + "label" and q.object.language in (None, "en"):
            t.label = q.object.value
        elif p == SKOS + "definition":
            t.definition = q.object.value
        elif p in (RDFS + "subClassOf", RDFS + "subPropertyOf") and isinstance(q.object, ox.NamedNode):
            t.parents.add(q.object.value)
    return terms


def _article(quads: list, labels: dict[str, str]) -> Article:
    a = Article(iris.ARTICLE)
    for q in quads:
        if q.subject.value != iris.ARTICLE:
            continue
        p, o = q.predicate.value, q.object
        if p == NIF + "isString":
            a.text = o.value
        elif p == DCTERMS + "title":
            a.title = o.value
        elif p in (SCHEMA + "url", iris.PREFIXES["foaf"] + "page", DCTERMS + "identifier") and a.address is None \
                and o.value.startswith("http"):
            a.address = o.value
        elif p in (DCTERMS + "issued", SCHEMA + "datePublished", DCTERMS + "date") and a.published is None:
            a.published = o.value
        elif p == DCTERMS + "publisher" and isinstance(o, ox.NamedNode):
            a.publisher = o.value
    records = {q.subject for q in quads if q.predicate.value == DCTERMS + "subject" and q.object.value == iris.ARTICLE
               and any(r.subject == q.subject and r.predicate.value == RDF_TYPE and r.object.value == ENT + "SourceVerification"
                       for r in quads)}
    dates = sorted(q.object.value for q in quads if q.subject in records and q.predicate.value == DCTERMS + "date")
    a.retrieved = dates[-1] if dates else None
    return a


# --- wording ---------------------------------------------------------------------------------------

def term_text(data: Data, term) -> str:
    """A term as a reader sees it: an IRI's label, a literal's text."""
    if isinstance(term, ox.Literal):
        return f"“{term.value}”" if term.datatype.value.endswith("#string") or term.language else term.value
    return data.label(term.value)


def triple_text(data: Data, s, p, o) -> str:
    if p.value == RDF_TYPE:
        kind = term_text(data, o)
        return f"{term_text(data, s)} is {'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"
    if p.value in NAME_PREDICATES:
        return f"{term_text(data, s)} is called {term_text(data, o)}"
    return f"{term_text(data, s)} {data.label(p.value)} {term_text(data, o)}"


def claim_text(data: Data, claim: Claim) -> str:
    """One readable sentence for a claim: who says it, how, and its triples.
    E.g. "Afshon Ostovar (indirect speech): Iran concerned about Russia overtaking Iran in Syria."."""
    who = "The article" if claim.asserter == data.article.iri else \
        data.label(claim.asserter) if claim.asserter else "Unknown asserter"
    how = data.label(claim.modality) if claim.modality else "no modality given"
    return f"{who} ({how}): " + "; ".join(triple_text(data, *t) for t in claim.triples) + "."
