"""The data behind the HTML pages, read through the store API: the article with its evidence spans,
the home page's counts, the ontology's terms, the relations drawn in graph pictures, the example queries.

Every SPARQL string the pages need lives here, so templates and the blueprint only see plain
dataclasses. Queries run over the union of the named graphs (whatever the server's default is).
Rows come back as pyoxigraph terms; this module turns them into strings at once.

Length: over 400 lines because it holds one short query function per part of a page (article, counts,
ontology, pictures, search, examples), sharing one prologue and one set of term helpers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import describe, iris
from .describe import labels_of
from .vocab import local_name
from .. import resources

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
NIF = iris.PREFIXES["nif"]

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in iris.PREFIXES.items())
UNION = {"union_default_graph": True}

def _is_iri(term) -> bool:
    return type(term).__name__ == "NamedNode"


def _val(term) -> str | None:
    return None if term is None else term.value


def _int(term) -> int | None:
    try:
        return int(term.value)
    except (AttributeError, TypeError, ValueError):
        return None


def _safe_iri(value: str) -> bool:
    """An absolute IRI that can be written between <…> in a query."""
    return bool(re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", value or "")) and not re.search(r'[\s<>"{}|^`\\]', value)


# --- labels -------------------------------------------------------------------------------------------

# --- finding an entity by name --------------------------------------------------------------------------

@dataclass
class NameMatch:
    iri: str
    label: str | None
    names: list[str]   # every name of the entity (preferred, article forms, abbreviations)
    exact: bool        # one of them is the text searched for, case aside


def find_by_name(store, text: str, limit: int = 50) -> list[NameMatch]:
    """Entities (id:) one of whose names (rdfs:label, skos:prefLabel, skos:altLabel) contains `text`,
    case aside; exact matches first. The text is bound to ?needle, never written into the query (the engine
    substitutes only projected variables, hence ?needle in SELECT and GROUP BY)."""
    rows = store.select(f"""{PROLOGUE}
        SELECT ?x ?needle (SAMPLE(?label) AS ?l) (GROUP_CONCAT(DISTINCT ?all; separator="\u001f") AS ?names)
               (MAX(IF(LCASE(STR(?name)) = ?needle, 1, 0)) AS ?exact)
        WHERE {{
          ?x rdfs:label|skos:prefLabel|skos:altLabel ?name .
          FILTER (isIRI(?x) && STRSTARTS(STR(?x), "{iris.ID}") && CONTAINS(LCASE(STR(?name)), ?needle))
          ?x rdfs:label|skos:prefLabel|skos:altLabel ?all .
          OPTIONAL {{ ?x rdfs:label ?label }}
        }}
        GROUP BY ?x ?needle ORDER BY DESC(?exact) LCASE(STR(?l)) LIMIT {int(limit)}""",
        bind={"needle": ox.Literal(text.lower())}, **UNION)
    return [NameMatch(r["x"].value, r["l"].value if r["l"] is not None else None,
                      sorted(set(r["names"].value.split("\u001f"))), r["exact"].value == "1") for r in rows]


# --- the article --------------------------------------------------------------------------------------

@dataclass
class Fact:
    subject: str
    predicate: str
    object: str
    object_is_iri: bool


@dataclass
class ClaimInfo:
    iri: str
    modality: str | None
    asserter: str | None
    facts: list[Fact] = field(default_factory=list)
    qualifier_note: str = ""        # " — denied, probable" (describe.qualifier_note)

    @property
    def contribution(self) -> str | None:
        """The contribution this claim came in with (its graph is <…/contribution/<id>#…>), if any."""
        if self.iri.startswith(iris.CONTRIBUTION):
            return self.iri.split("#", 1)[0]
        return None


@dataclass
class Span:
    iri: str
    begin: int
    end: int
    anchor: str
    sentence: str | None
    claims: list[ClaimInfo] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.begin}-{self.end}"


@dataclass
class Sentence:
    iri: str
    number: int | None
    begin: int
    end: int
    no_facts_reason: str | None


@dataclass
class ArticleData:
    iri: str
    text: str
    title: str | None
    metadata: list[tuple[str, str, bool]]   # (predicate, value, value is an IRI)
    sentences: list[Sentence]
    spans: list[Span]
    labels: dict[str, str]


def article(store, article_iri: str = iris.ARTICLE) -> ArticleData | None:
    rows = store.select(f"""{PROLOGUE}SELECT ?p ?o WHERE {{ <{article_iri}> ?p ?o }}""", **UNION)
    if not rows:
        return None
    text, title, metadata = "", None, []
    for row in rows:
        p, o = row["p"].value, row["o"]
        if p == NIF + "isString":
            text = o.value
            continue
        if p == "http://purl.org/dc/terms/title" and title is None:
            title = o.value
        metadata.append((p, o.value, _is_iri(o)))
    metadata = sorted(set(metadata))

    sentences = []
    for row in store.select(f"""{PROLOGUE}SELECT ?s ?b ?e ?reason WHERE {{
        ?s a nif:Sentence ; nif:referenceContext <{article_iri}> ; nif:beginIndex ?b ; nif:endIndex ?e .
        OPTIONAL {{ ?s ent:noFactsReason ?reason }} }}""", **UNION):
        iri = row["s"].value
        number = local_name(iri)
        sentences.append(Sentence(iri, int(number) if number.isdigit() else None, _int(row["b"]), _int(row["e"]),
                                  _val(row.get("reason"))))
    sentences.sort(key=lambda s: (s.begin, s.end))

    spans: dict[tuple[int, int], Span] = {}
    claims: dict[str, ClaimInfo] = {}
    for row in store.select(f"""{PROLOGUE}SELECT ?span ?b ?e ?anchor ?sentence ?claim ?modality ?who ?pol ?cert ?when WHERE {{
        ?claim ent:evidence ?span .
        ?span nif:referenceContext <{article_iri}> ; nif:beginIndex ?b ; nif:endIndex ?e .
        OPTIONAL {{ ?span nif:anchorOf ?anchor }}
        OPTIONAL {{ ?span ent:inSentence ?sentence }}
        OPTIONAL {{ ?claim ent:modality ?modality }}
        OPTIONAL {{ ?claim ent:assertedBy ?who }}
        OPTIONAL {{ ?claim ent:polarity ?pol }} OPTIONAL {{ ?claim ent:certainty ?cert }}
        OPTIONAL {{ ?claim ent:timeReference ?when }} }}""", **UNION):
        b, e = _int(row["b"]), _int(row["e"])
        if b is None or e is None or not (0 <= b < e <= len(text)):
            continue
        # one span per stretch of text: a contribution may cite the same words under its own span IRI
        span = spans.setdefault((b, e), Span(row["span"].value, b, e, _val(row.get("anchor")) or text[b:e],
                                             _val(row.get("sentence"))))
        if span.sentence is None:
            span.sentence = _val(row.get("sentence"))
        claim_iri = row["claim"].value
        claim = claims.setdefault(claim_iri, ClaimInfo(claim_iri, _val(row.get("modality")), _val(row.get("who")),
                                                       qualifier_note=describe.qualifier_note(
                                                           [_val(row.get(k)) for k in ("pol", "cert", "when")])))
        if claim not in span.claims:
            span.claims.append(claim)

    for row in store.select(f"""{PROLOGUE}SELECT DISTINCT ?claim ?s ?p ?o WHERE {{
        ?claim ent:evidence ?span . ?span nif:referenceContext <{article_iri}> .
        GRAPH ?claim {{ ?s ?p ?o }} }}""", **UNION):
        claim = claims.get(row["claim"].value)
        if claim is not None:
            o = row["o"]
            claim.facts.append(Fact(row["s"].value, row["p"].value, o.value, _is_iri(o)))
    for claim in claims.values():
        claim.facts.sort(key=lambda f: (f.subject, f.predicate != RDF_TYPE, f.predicate, f.object))

    ordered = sorted(spans.values(), key=lambda s: (s.begin, -s.end))
    for span in ordered:
        span.claims.sort(key=lambda c: c.iri)
    wanted = {article_iri} | {p for p, _, _ in metadata} | {v for _, v, is_iri in metadata if is_iri}
    for claim in claims.values():
        wanted |= {claim.asserter, claim.modality}
        for f in claim.facts:
            wanted |= {f.subject, f.predicate} | ({f.object} if f.object_is_iri else set())
    return ArticleData(article_iri, text, title, metadata, sentences, ordered, labels_of(store, wanted))


# --- a named graph's own triples (claim pages, graph pages) ------------------------------------------------

GRAPH_PAGE_LIMIT = 300


@dataclass
class GraphContent:
    facts: list[Fact]
    total: int
    evidence: list[tuple[str, int, int, str]]   # claims: (span IRI, begin, end, quote)
    labels: dict[str, str]


def graph_content(store, graph: str, limit: int = GRAPH_PAGE_LIMIT) -> GraphContent | None:
    """The first `limit` triples of the named graph `graph` (None if there is no such graph), and, when
    the graph is a claim, its evidence spans."""
    if not _safe_iri(graph) or graph not in store.graph_names():
        return None
    # the graph's name comes from the request: it is bound (?g), never written into the query text
    bind = {"g": ox.NamedNode(graph)}
    counted = store.select("SELECT (COUNT(*) AS ?n) ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", bind=bind)
    total = (_int(counted[0].get("n")) if counted else 0) or 0
    rows = store.select(f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} ORDER BY ?s ?p ?o LIMIT {int(limit)}",
                        bind=bind)
    facts = [Fact(r["s"].value, r["p"].value, r["o"].value, _is_iri(r["o"])) for r in rows]
    evidence = []
    for r in store.select(f"""{PROLOGUE}SELECT DISTINCT ?span ?b ?e ?quote ?g WHERE {{
        ?g ent:evidence ?span . ?span nif:beginIndex ?b ; nif:endIndex ?e .
        OPTIONAL {{ ?span nif:anchorOf ?quote }} }} ORDER BY ?b ?e""", bind=bind, **UNION):
        evidence.append((r["span"].value, _int(r["b"]), _int(r["e"]), _val(r.get("quote")) or ""))
    wanted = {f.subject for f in facts} | {f.predicate for f in facts} | {f.object for f in facts if f.object_is_iri}
    return GraphContent(facts, total, evidence, labels_of(store, wanted))


def incoming_query(iri: str) -> str:
    """A query for every statement pointing at `iri` (linked from pages that show only the first ones):
    the one the RDF documents link to, put in reading order."""
    return describe.incoming_query(iri) + "\nORDER BY ?property ?subject"


# --- the home page ------------------------------------------------------------------------------------

COUNTS = {
    "claims": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ent:Claim }",
    "evidence spans": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ent:EvidenceSpan }",
    "entities": f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a ?t FILTER(STRSTARTS(STR(?x), \"{iris.ID}\")) }}",
    "sentences": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a nif:Sentence }",
    "Wikidata links": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?x owl:sameAs ?y } "
                      "FILTER(STRSTARTS(STR(?y), \"http://www.wikidata.org/entity/\")) }",
    "classes": f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a owl:Class FILTER(STRSTARTS(STR(?x), \"{iris.ENT}\")) }}",
    "accepted contributions": f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH <{iris.GRAPH_CONTRIBUTIONS}> "
                              "{ ?x ent:state ent:Accepted } }",
    "properties": f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ VALUES ?t {{ owl:ObjectProperty owl:DatatypeProperty }} "
                  f"?x a ?t FILTER(STRSTARTS(STR(?x), \"{iris.ENT}\")) }}",
}


def counts(store) -> dict[str, int]:
    result = {"triples": store.count(), "named graphs": len(store.graph_names())}
    for name, query in COUNTS.items():
        rows = store.select(PROLOGUE + query, **UNION)
        result[name] = _int(rows[0].get("n")) if rows else 0
    return result


# --- the ontology -------------------------------------------------------------------------------------

ALIGNMENT_PREDICATES = [SKOS + "exactMatch", SKOS + "closeMatch", SKOS + "broadMatch", SKOS + "narrowMatch",
                        SKOS + "relatedMatch", OWL + "equivalentClass", OWL + "equivalentProperty",
                        RDFS + "subClassOf", RDFS + "subPropertyOf"]
CHARACTERISTICS = ["SymmetricProperty", "TransitiveProperty", "FunctionalProperty", "InverseFunctionalProperty",
                   "AsymmetricProperty", "ReflexiveProperty", "IrreflexiveProperty"]


@dataclass
class Term:
    iri: str
    kind: str                       # "class" | "object property" | "datatype property" | "annotation property" | "individual"
    label: str | None = None
    definition: str | None = None
    comment: str | None = None
    parents: list[str] = field(default_factory=list)       # superclasses / superproperties (IRIs)
    children: list[str] = field(default_factory=list)
    domains: list[list[str]] = field(default_factory=list)  # each a class or a union of classes
    ranges: list[list[str]] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)           # for individuals
    alignments: list[tuple[str, str]] = field(default_factory=list)  # (predicate, Wikidata IRI)
    verifications: dict[str, "Verification"] = field(default_factory=dict)   # by Wikidata IRI
    examples: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return local_name(self.iri)


@dataclass
class Verification:
    """The record that backs an alignment: the public source pairing the Wikidata ID with its label."""
    record: str
    wikidata_label: str | None
    source: str | None
    quote: str | None
    date: str | None


VERIFICATION = iris.ENT + "LinkVerification"


@dataclass
class OntologyData:
    iri: str
    metadata: list[tuple[str, str, bool]]
    classes: list[Term]
    object_properties: list[Term]
    datatype_properties: list[Term]
    annotation_properties: list[Term]
    individuals: list[Term]
    roots: list[str]               # classes without a superclass in the ontology (tree roots)
    property_roots: list[str]      # object properties without a superproperty in the ontology
    terms: dict[str, Term]
    labels: dict[str, str]


def _is_wikidata(iri: str) -> bool:
    return iri.startswith("http://www.wikidata.org/") or iri.startswith("https://www.wikidata.org/")


def ontology(store, ontology_iri: str = iris.ONTOLOGY) -> OntologyData:
    graph = iris.GRAPH_ONTOLOGY
    metadata = sorted({(r["p"].value, r["o"].value, _is_iri(r["o"])) for r in store.select(
        f"SELECT ?p ?o WHERE {{ GRAPH <{graph}> {{ <{ontology_iri}> ?p ?o }} }}")})
    rows = store.select(f"""{PROLOGUE}SELECT ?t ?p ?o WHERE {{ GRAPH <{graph}> {{ ?t ?p ?o }}
        FILTER(isIRI(?t) && STRSTARTS(STR(?t), "{iris.ENT}")) }}""")
    unions = {}
    for r in store.select(f"""{PROLOGUE}SELECT ?t ?p ?m WHERE {{ GRAPH <{graph}> {{
        ?t ?p ?b . ?b owl:unionOf/rdf:rest*/rdf:first ?m }} FILTER(isIRI(?t) && isBlank(?b)) }}"""):
        unions.setdefault((r["t"].value, r["p"].value), []).append(r["m"].value)

    kinds = {OWL + "Class": "class", RDFS + "Class": "class", OWL + "ObjectProperty": "object property",
             OWL + "DatatypeProperty": "datatype property", OWL + "AnnotationProperty": "annotation property"}
    by_term: dict[str, list] = {}
    for r in rows:
        by_term.setdefault(r["t"].value, []).append(r)
    terms: dict[str, Term] = {}
    records: list[tuple[str, dict]] = []
    for iri, trows in by_term.items():
        types = [r["o"].value for r in trows if r["p"].value == RDF_TYPE]
        if VERIFICATION in types:
            records.append((iri, {r["p"].value: r["o"].value for r in trows}))
            continue
        kind = next((kinds[t] for t in types if t in kinds), "individual" if types else None)
        if kind is None:
            continue
        term = Term(iri, kind, types=[t for t in types if t not in kinds and t != OWL + "NamedIndividual"])
        for r in trows:
            p, o, is_iri = r["p"].value, r["o"], _is_iri(r["o"])
            lang = getattr(o, "language", None) or ""
            if p == RDFS + "label" and (term.label is None or lang.startswith("en")):
                term.label = o.value
            elif p == SKOS + "definition" and (term.definition is None or lang.startswith("en")):
                term.definition = o.value
            elif p == RDFS + "comment" and (term.comment is None or lang.startswith("en")):
                term.comment = o.value
            elif p == SKOS + "example":
                term.examples.append(o.value)
            elif p in (RDFS + "subClassOf", RDFS + "subPropertyOf") and is_iri and not _is_wikidata(o.value):
                term.parents.append(o.value)
            elif p == RDFS + "domain":
                term.domains.append([o.value] if is_iri else unions.get((iri, p), []))
            elif p == RDFS + "range":
                term.ranges.append([o.value] if is_iri else unions.get((iri, p), []))
            elif p == OWL + "inverseOf" and is_iri:
                term.inverse.append(o.value)
            if p in ALIGNMENT_PREDICATES and is_iri and _is_wikidata(o.value):
                term.alignments.append((p, o.value))
        term.characteristics = sorted(local_name(t).replace("Property", "") for t in types
                                      if local_name(t) in CHARACTERISTICS)
        for lst in (term.parents, term.inverse, term.alignments, term.examples):
            lst.sort()
        terms[iri] = term
    for record, values in records:
        term = terms.get(values.get(iris.ENT + "linkSubject"))
        target = values.get(iris.ENT + "linkObject")
        if term is not None and target:
            term.verifications[target] = Verification(
                record, values.get(iris.ENT + "wikidataLabel"), values.get("http://purl.org/dc/terms/source"),
                values.get(iris.ENT + "verificationQuote"), values.get("http://purl.org/dc/terms/date"))
    # inverses are stated once; show them on both sides
    for term in list(terms.values()):
        for inv in term.inverse:
            if inv in terms and term.iri not in terms[inv].inverse:
                terms[inv].inverse.append(term.iri)
    for term in terms.values():
        for parent in term.parents:
            if parent in terms:
                terms[parent].children.append(term.iri)
    for term in terms.values():
        term.children.sort(key=lambda i: (terms[i].label or local_name(i)).lower())

    def sort(kind):
        return sorted((t for t in terms.values() if t.kind == kind), key=lambda t: (t.label or t.anchor).lower())

    classes = sort("class")
    roots = [c.iri for c in classes if not any(p in terms for p in c.parents)]
    object_properties = sort("object property")
    property_roots = [p.iri for p in object_properties if not any(q in terms for q in p.parents)]
    wanted = set(terms) | {o for _, o, is_iri in metadata if is_iri} | {p for p, _, _ in metadata}
    for t in terms.values():
        wanted |= set(t.parents) | set(t.types) | set(t.inverse)
        for group in t.domains + t.ranges:
            wanted |= set(group)
    return OntologyData(ontology_iri, metadata, classes, object_properties, sort("datatype property"),
                        sort("annotation property"), sort("individual"), roots, property_roots, terms,
                        labels_of(store, wanted))


# --- relations for graph pictures ---------------------------------------------------------------------

# Who relates to whom: states, people and organisations (and every subclass of them in the ontology).
ACTOR_CLASSES = ["SovereignState", "Person", "Organization", "Group", "StateBloc", "PoliticalFaction",
                 "ArmedPoliticalMovement", "MilitantGroup", "GovernmentBody", "ReligiousCommunity"]


@dataclass
class Relation:
    subject: str
    predicate: str
    object: str
    claim: str
    modality: str | None
    asserter: str | None


def relations(store, focus: str | None = None) -> list[Relation]:
    """Object-property statements between entities, each with the claim that carries it.

    Whole article: only between actors (states, people, organisations). Around `focus`: every
    statement that has the focus as subject or object, whatever the other end is.
    """
    if focus is not None and not _safe_iri(focus):
        return []
    if focus is None:
        actor = " ".join(f"ent:{c}" for c in ACTOR_CLASSES)
        # the actors first, each in its own subquery: the same rows, and Virtuoso no longer walks
        # rdfs:subClassOf* from every class of every statement (15 s a page there, 0.1 s so)
        where = f"""{{ SELECT DISTINCT ?s WHERE {{ VALUES ?top1 {{ {actor} }} ?ts rdfs:subClassOf* ?top1 . ?s a ?ts }} }}
            {{ SELECT DISTINCT ?o WHERE {{ VALUES ?top2 {{ {actor} }} ?to rdfs:subClassOf* ?top2 . ?o a ?to }} }}"""
    else:                      # the focus comes from the request: bound (?focus), never written into the text
        where = "FILTER(?s = ?focus || ?o = ?focus)"
    bind = {"focus": ox.NamedNode(focus)} if focus is not None else None
    rows = store.select(f"""{PROLOGUE}SELECT DISTINCT ?s ?p ?o ?c ?modality ?who{" ?focus" if bind else ""} WHERE {{
        GRAPH ?c {{ ?s ?p ?o }}
        ?c ent:evidence ?span .
        FILTER(isIRI(?o) && STRSTARTS(STR(?p), "{iris.ENT}") && STRSTARTS(STR(?s), "{iris.ID}")
               && STRSTARTS(STR(?o), "{iris.ID}") && ?s != ?o)
        {where}
        OPTIONAL {{ ?c ent:modality ?modality }}
        OPTIONAL {{ ?c ent:assertedBy ?who }} }}""", bind=bind, **UNION)
    return sorted((Relation(r["s"].value, r["p"].value, r["o"].value, r["c"].value, _val(r.get("modality")),
                            _val(r.get("who"))) for r in rows),
                  key=lambda r: (r.subject, r.predicate, r.object, r.claim))


def symmetric_properties(store) -> set[str]:
    rows = store.select(f"{PROLOGUE}SELECT ?p WHERE {{ GRAPH <{iris.GRAPH_ONTOLOGY}> {{ ?p a owl:SymmetricProperty }} }}")
    return {r["p"].value for r in rows}


# --- example queries ----------------------------------------------------------------------------------

COMPETENCY_DIR = resources.COMPETENCY


@dataclass
class Example:
    name: str           # file stem, e.g. cq01-who-backs-whom
    title: str          # the first comment line
    description: str    # further leading comment lines
    query: str


@functools.lru_cache(maxsize=None)
def examples(directory: Path = COMPETENCY_DIR) -> tuple[Example, ...]:
    """The competency questions (docs/competency/*.rq). The leading `#` comment is the question: the
    title runs to its first question mark (or is its first line); the rest is the description.
    Lines such as `# expect: none` are instructions for tests and are not shown.
    Read once per process (the files ship with the code), not on every page request."""
    found = []
    for path in sorted(Path(directory).glob("*.rq")) if Path(directory).is_dir() else []:
        text = path.read_text(encoding="utf-8")
        comments = []
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped.startswith("#"):
                if stripped:
                    break
                continue
            comment = stripped.lstrip("#").strip()
            if comment and not re.match(r"[a-z-]+:\s", comment):
                comments.append(comment)
        prose = " ".join(comments)
        cut = prose.find("?") + 1 or len(comments[0]) if comments else 0
        title = prose[:cut].strip() or path.stem
        found.append(Example(path.stem, title, prose[cut:].strip(), text))
    return tuple(found)
