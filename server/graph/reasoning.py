"""HermiT (through owlready2) over the ontology and the facts: consistency, satisfiability, inferences.

One HermiT run does all the work. The world holds the ontology, then
- every claim's facts merged, unchanged: HermiT's consistency check covers everything together;
- one renamed copy of the facts per *partition* (claims with the same modality, asserters, polarity,
  certainty and time reference):
  individuals of partition i become `urn:entente:partition:i:<iri>`, so the copies share no
  individual and an inference drawn in copy i follows from that partition's facts alone. That is
  what keeps an inference from an attributed claim attributed: it is published in
  graph:inferred/<partition> with the partition's modality, asserters and qualifiers (what follows
  from a negated, hedged or hypothetical claim stays negated, hedged or hypothetical).

HermiT (`sync_reasoner_hermit(infer_property_values=True)`) adds what needs DL reasoning; owlready2
stores only the facts it cannot already derive itself (it leaves out inverses, symmetric and
sub-property values), so the published closure is read back through owlready2's own inference-aware
accessors (`INDIRECT_is_a`, a property's indirect values), which apply the ontology's inverse,
symmetric, transitive and sub-property axioms and the class hierarchy HermiT computed.
"""

from __future__ import annotations

import datetime
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
import rdflib
from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from . import iris

ENT = rdflib.Namespace(iris.ENT)
PROV = rdflib.Namespace(iris.PREFIXES["prov"])
DCTERMS = rdflib.Namespace(iris.PREFIXES["dcterms"])
RENAMED = "urn:entente:partition:"
REASONER = URIRef(iris.BASE + "id/hermit-via-owlready2")
REASONER_LABEL = f"HermiT via owlready2 {getattr(owlready2, 'VERSION', '0.51')}"
MODALITY_SLUGS = {"ArticleVoice": "article-voice", "DirectQuote": "quoted", "IndirectSpeech": "said",
                  "ReportedClaim": "reported", "Hedged": "hedged"}
# Literal datatypes in the OWL 2 datatype map that HermiT accepts; facts with others are not reasoned over.
OWL2_DATATYPES = {XSD[t] for t in ("string", "integer", "nonNegativeInteger", "positiveInteger", "decimal",
                                   "double", "float", "boolean", "dateTime", "dateTimeStamp", "anyURI",
                                   "int", "long", "short", "byte")} | {RDF.langString, RDF.PlainLiteral, None}
SCHEMA_KINDS = ("class", "object", "data", "annotation")
QUALIFIERS = (ENT.polarity, ENT.certainty, ENT.timeReference)
PLAIN_QUALIFIERS = {ENT.Affirmed, ENT.Certain, ENT.Ongoing}      # left out of partition names
ARTICLE_VOICES = {iris.ARTICLE, iris.ID + "bloomberg-news"}     # the article's voice: no name in partition names
owlready2.reasoning.JAVA_MEMORY = 1000


class ReasoningError(Exception):
    """The ontology with the facts is inconsistent, or a class is unsatisfiable."""


@dataclass
class Partition:
    name: str                   # graph:inferred/<name>
    modality: URIRef
    asserters: tuple[URIRef, ...]
    qualifiers: tuple[tuple[URIRef, URIRef], ...] = ()   # (ent:polarity, ent:Negated), …
    claims: list[URIRef] = field(default_factory=list)
    facts: set = field(default_factory=set)

    @property
    def graph(self) -> str:
        return f"{iris.GRAPH_INFERRED}/{self.name}"


@dataclass
class Result:
    graphs: dict[str, set]          # graph IRI → triples (inferred triples, and the graph's metadata in it)
    partitions: list[Partition]
    inferred: int                   # inferred triples published (metadata not counted)
    seconds: float                  # the HermiT run
    individuals: int

    def describe(self) -> str:
        return (f"consistent, no unsatisfiable class; {self.inferred} inferred triples in "
                f"{len(self.partitions)} partition graphs; HermiT run {self.seconds:.2f}s over "
                f"{self.individuals} individuals (all facts + one copy per partition)")


def slug(iri: str) -> str:
    tail = iri[len(iris.ID):] if iri.startswith(iris.ID) else re.split(r"[/#]", iri.rstrip("/#"))[-1]
    return re.sub(r"[^a-z0-9]+", "-", tail.lower()).strip("-") or "unknown"


def partitions(ds: rdflib.Dataset) -> list[Partition]:
    """Claims grouped by (modality, asserters, qualifiers), each with its claims' facts. A partition's
    name is the modality, the asserters (not the article's newsroom) and the qualifiers that differ from
    affirmed, certain and ongoing: quoted-afshon-ostovar-negated-probable."""
    meta = ds.graph(URIRef(iris.GRAPH_CLAIMS))
    groups: dict[tuple, Partition] = {}
    for claim in sorted(meta.subjects(RDF.type, ENT.Claim)):
        modality = meta.value(claim, ENT.modality)
        asserters = tuple(sorted(meta.objects(claim, ENT.assertedBy)))
        qualifiers = tuple((p, v) for p in QUALIFIERS for v in sorted(meta.objects(claim, p)))
        key = (modality, asserters, qualifiers)
        if key not in groups:
            mod = MODALITY_SLUGS.get(str(modality).rsplit("#", 1)[-1], slug(str(modality)))
            who = [slug(str(a)) for a in asserters if str(a) not in ARTICLE_VOICES]
            how = [slug(str(v)) for _, v in qualifiers if v not in PLAIN_QUALIFIERS]
            name = base = "-".join([mod, *who, *how])
            taken = {p.name for p in groups.values()}
            n = 1
            while name in taken:  # two keys, one slug (e.g. id:a-b, and id:a with id:b): keep both apart
                n += 1
                name = f"{base}-{n}"
            groups[key] = Partition(name, modality, asserters, qualifiers)
        part = groups[key]
        part.claims.append(claim)
        part.facts.update(ds.graph(claim))
    return sorted(groups.values(), key=lambda p: p.name)


def reason(ds: rdflib.Dataset, when: datetime.datetime | None = None) -> Result:
    """Run HermiT on ontology + facts; raise ReasoningError if inconsistent or a class is unsatisfiable.

    `when` is recorded as the reasoning run's time (the build passes its sources' time, so that
    rebuilding gives the same bytes); default now."""
    ontology = ds.graph(URIRef(iris.GRAPH_ONTOLOGY))
    parts = partitions(ds)
    all_facts = set().union(*(p.facts for p in parts)) if parts else set()
    terms = _ontology_terms(ontology)

    start = time.perf_counter()
    world = _run_hermit(reasoner_input(ontology, parts, terms))
    seconds = time.perf_counter() - start

    asserted = {q[:3] for q in ds.quads((None, None, None, None))}
    graphs, total, individuals = {}, 0, 0
    when = when or datetime.datetime.now(datetime.timezone.utc)
    now = Literal(when.astimezone(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  datatype=XSD.dateTime)
    for i, part in enumerate(parts):
        prefix = f"{RENAMED}{i}:"
        inferred, n = _closure(world, prefix, terms)
        individuals += n
        new = {t for t in inferred if t not in asserted}
        if not new:
            continue
        total += len(new)
        graphs[part.graph] = new | _metadata(part, now)
    individuals += len({t for s, _, o in all_facts for t in (s, o) if isinstance(t, URIRef) and t not in terms})
    return Result(graphs, parts, total, seconds, individuals)


def reasoner_input(ontology: rdflib.Graph, parts: list[Partition], terms) -> rdflib.Graph:
    """What HermiT reads: the ontology without owl:imports (never fetched from the web) and without
    punning, all facts merged, and one renamed copy of the facts per partition."""
    g = rdflib.Graph()
    for t in ontology:
        if t[1] != OWL.imports and not _puns(t, terms):
            g.add(t)
    _add_facts(g, set().union(*(p.facts for p in parts)) if parts else set(), terms, rename=None)
    for i, part in enumerate(parts):
        _add_facts(g, part.facts, terms, rename=f"{RENAMED}{i}:")
    return g


def _ontology_terms(ontology: rdflib.Graph) -> dict[URIRef, str]:
    """Declared classes and properties of the ontology, by kind."""
    kinds = {}
    for kind, cls in (("class", OWL.Class), ("object", OWL.ObjectProperty), ("data", OWL.DatatypeProperty),
                      ("individual", OWL.NamedIndividual), ("annotation", OWL.AnnotationProperty)):
        for s in ontology.subjects(RDF.type, cls):
            if isinstance(s, URIRef):
                kinds.setdefault(s, kind)
    return kinds


def _puns(triple, terms) -> bool:
    """A property assertion with a class or property as subject or value (OWL 2 punning, e.g. the
    Wikidata alignment records' `ent:linkSubject ent:holdsPost`). Owlready2 keeps one Python object
    per IRI, so a punned property gets reparented under owl:Thing after HermiT runs, in an order that
    depends on hash seeds, and its super-properties' values (org:holds) come and go from run to run.
    The records say nothing HermiT needs, so they are left out of its input."""
    s, p, o = triple
    if terms.get(p) not in ("object", "data"):
        return False
    return terms.get(s) in SCHEMA_KINDS or terms.get(o) in SCHEMA_KINDS


def _add_facts(g: rdflib.Graph, facts, terms, rename: str | None) -> None:
    """Facts HermiT can take: types with declared classes, declared object/datatype properties."""
    def r(node):
        if rename and isinstance(node, URIRef) and node not in terms:
            return URIRef(rename + str(node))
        return node

    for s, p, o in facts:
        if _puns((s, p, o), terms):
            continue
        if p == RDF.type:
            if terms.get(o) == "class":
                g.add((r(s), RDF.type, o))
                g.add((r(s), RDF.type, OWL.NamedIndividual))
        elif terms.get(p) == "object" and isinstance(o, URIRef):
            g.add((r(s), p, r(o)))
            g.add((r(s), RDF.type, OWL.NamedIndividual))
            g.add((r(o), RDF.type, OWL.NamedIndividual))
        elif terms.get(p) == "data" and isinstance(o, Literal) and o.datatype in OWL2_DATATYPES:
            g.add((r(s), p, o))
            g.add((r(s), RDF.type, OWL.NamedIndividual))


def _run_hermit(g: rdflib.Graph) -> owlready2.World:
    world = owlready2.World()
    with tempfile.TemporaryDirectory(prefix="entente-hermit-") as tmp:
        path = Path(tmp) / "world.nt"
        g.serialize(path, format="nt", encoding="utf-8")
        onto = world.get_ontology(path.as_uri()).load(format="ntriples")
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as e:
            raise ReasoningError("HermiT: the ontology with the facts is inconsistent "
                                 "(e.g. an individual in two disjoint classes)") from e
        except owlready2.OwlReadyJavaError as e:
            raise ReasoningError(f"HermiT could not run: {str(e).strip()[-2000:]}") from e
    unsat = sorted(c.iri for c in world.inconsistent_classes() if getattr(c, "iri", None))
    if unsat:
        raise ReasoningError("HermiT: unsatisfiable class(es) (equivalent to owl:Nothing): " + ", ".join(unsat))
    return world


def _closure(world: owlready2.World, prefix: str, terms) -> tuple[set, int]:
    """Types and object-property values of the individuals renamed with `prefix`, renamed back."""
    out = set()
    count = 0
    for ind in world.individuals():
        if not ind.iri.startswith(prefix):
            continue
        count += 1
        subject = URIRef(ind.iri[len(prefix):])
        for cls in ind.INDIRECT_is_a:
            iri = getattr(cls, "iri", None)
            if iri and iri != str(OWL.Thing) and URIRef(iri) in terms:
                out.add((subject, RDF.type, URIRef(iri)))
        for prop in _candidate_properties(ind):
            if URIRef(prop.iri) not in terms:
                continue
            for value in prop._get_indirect_values_for_individual(ind):
                iri = getattr(value, "iri", None)
                if iri:
                    out.add((subject, URIRef(prop.iri), URIRef(iri[len(prefix):] if iri.startswith(prefix) else iri)))
    return out, count


def _candidate_properties(ind) -> set:
    """The object properties that can have a value for `ind`: super- and equivalent properties of
    those it has a value of, and of the inverses (or, if symmetric, the properties themselves) of
    those it is a value of. Asking only these instead of every property makes reading the closure
    several times faster, with the same result on the real data."""
    direct = {p for p in ind.get_properties() if isinstance(p, owlready2.ObjectPropertyClass)}
    for _, prop in ind.get_inverse_properties():
        if not isinstance(prop, owlready2.ObjectPropertyClass):
            continue
        for p in _up(prop):
            if p.inverse_property is not None:
                direct.add(p.inverse_property)
            if issubclass(p, owlready2.SymmetricProperty):
                direct.add(p)
    return set().union(*(_up(p) for p in direct)) if direct else set()


def _up(prop) -> set:
    """`prop`, its super-properties and equivalent properties, transitively."""
    seen, todo = set(), [prop]
    while todo:
        p = todo.pop()
        if p in seen or not isinstance(p, owlready2.ObjectPropertyClass):
            continue
        seen.add(p)
        todo.extend(p.ancestors())
        todo.extend(p.equivalent_to.self_and_indirect_equivalent())
    return seen


def _metadata(part: Partition, now: Literal) -> set:
    """The inferred graph describes itself (inside itself): what it was derived from, by whom, how."""
    g = URIRef(part.graph)
    run = URIRef(part.graph + "#reasoning")
    triples = {
        (g, RDF.type, ENT.InferredGraph),
        (g, RDFS.label, Literal(f"Inferred by HermiT from the {part.name} claims", lang="en")),
        (g, ENT.modality, part.modality),
        (g, PROV.wasGeneratedBy, run),
        (run, RDF.type, PROV.Activity),
        (run, PROV.used, REASONER),
        (run, PROV.endedAtTime, now),
        (REASONER, RDF.type, PROV.SoftwareAgent),
        (REASONER, RDFS.label, Literal(REASONER_LABEL, lang="en")),
    }
    triples |= {(g, ENT.assertedBy, a) for a in part.asserters}
    triples |= {(g, p, v) for p, v in part.qualifiers}
    triples |= {(g, PROV.wasDerivedFrom, c) for c in part.claims}
    triples.add((run, PROV.used, URIRef(iris.ONTOLOGY_VERSION)))
    return triples
