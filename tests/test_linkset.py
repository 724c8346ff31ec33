"""The Wikidata linkset and the Wikidata alignments: well-formed, verified, one-to-one, and about real entities.

The checks are functions that return the problems they find, so that each rule is shown rejecting
a small bad graph as well as accepting the real files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS, XSD

ROOT = Path(__file__).resolve().parent.parent
LINKSET_FILE = ROOT / "data" / "linkset-wikidata.trig"
ALIGNMENTS_FILE = ROOT / "ontology" / "alignments-wikidata.ttl"
ONTOLOGY_FILE = ROOT / "ontology" / "entente.ttl"

ENT = Namespace("https://w3id.org/entente/ontology#")
ID = "https://w3id.org/entente/id/"
CLAIM = "https://w3id.org/entente/claim/"
LINKSET = URIRef("https://w3id.org/entente/graph/linkset/wikidata")
VOID = Namespace("http://rdfs.org/ns/void#")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
WD_ITEM = re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$")
WD_TERM = re.compile(r"^http://www\.wikidata\.org/(entity/Q|prop/direct/P)[1-9][0-9]*$")
MAPPINGS = (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch, SKOS.broadMatch, SKOS.relatedMatch)
MIN_LINKS = 20   # the linkset is expected to cover at least the states, capitals, leaders and regions


# --- checks (each returns a list of problems; empty means the rule holds) ---

def links(ds: Dataset) -> list[tuple[URIRef, URIRef]]:
    return sorted((s, o) for s, _, o, _ in ds.quads((None, OWL.sameAs, None, None)))


def check_links_shape(ds: Dataset) -> list[str]:
    """Links exist, live only in the linkset graph, go from id: to a Wikidata entity IRI."""
    found = list(ds.quads((None, OWL.sameAs, None, None)))
    problems = [] if found else ["the linkset holds no owl:sameAs link"]
    for s, _, o, g in found:
        if g != LINKSET:
            problems.append(f"{s} owl:sameAs {o} is in graph {g}, not {LINKSET}")
        if not str(s).startswith(ID):
            problems.append(f"link subject {s} is not an Entente entity (id:)")
        if not WD_ITEM.match(str(o)):
            problems.append(f"link object {o} is not a Wikidata entity IRI http://www.wikidata.org/entity/Q…")
    return problems


def check_one_to_one(ds: Dataset) -> list[str]:
    """No entity linked to two QIDs, no QID linked from two entities."""
    problems, by_subject, by_object = [], {}, {}
    for s, o in links(ds):
        by_subject.setdefault(s, set()).add(o)
        by_object.setdefault(o, set()).add(s)
    problems += [f"{s} is linked to {len(os_)} QIDs: {sorted(map(str, os_))}" for s, os_ in by_subject.items() if len(os_) > 1]
    problems += [f"{o} is linked from {len(ss)} entities: {sorted(map(str, ss))}" for o, ss in by_object.items() if len(ss) > 1]
    return problems


def verifications(g: Graph) -> dict[tuple[URIRef, URIRef], list[URIRef]]:
    """(subject, object) → the ent:LinkVerification records about that pair."""
    out: dict[tuple[URIRef, URIRef], list[URIRef]] = {}
    for node in g.subjects(RDF.type, ENT.LinkVerification):
        for s in g.objects(node, ENT.linkSubject):
            for o in g.objects(node, ENT.linkObject):
                out.setdefault((s, o), []).append(node)
    return out


def check_verification_record(g: Graph, node: URIRef) -> list[str]:
    """A record names an http(s) source, quotes it, and carries the date of the check."""
    problems = []
    sources = [s for s in g.objects(node, DCTERMS.source) if isinstance(s, URIRef) and str(s).startswith(("http://", "https://"))]
    if not sources:
        problems.append(f"{node} has no dcterms:source URL")
    quotes = [q for q in g.objects(node, ENT.verificationQuote) if isinstance(q, Literal) and str(q).strip()]
    if not quotes:
        problems.append(f"{node} has no ent:verificationQuote")
    dates = [d for d in g.objects(node, DCTERMS.date) if isinstance(d, Literal) and d.datatype == XSD.date]
    if not dates:
        problems.append(f"{node} has no dcterms:date (xsd:date) of the check")
    target = next(iter(g.objects(node, ENT.linkObject)), None)
    if target is not None and quotes:
        number = re.search(r"([QP])([0-9]+)$", str(target))
        # the quote must carry the identifier itself: "Q794" or SpocWiki's "WD~Label,794" form; a page whose
        # address *is* the item (inventaire.io/entity/…wd:Q41053) may carry it in the source IRI instead
        if number:
            ident = number.group(1) + number.group(2)
            in_quote = any(re.search(rf"(\b{ident}\b|,{number.group(2)}\b)", str(q)) for q in quotes)
            in_address = any(re.search(rf"(wd:|/entity/|/wiki/){ident}(?![0-9])", str(s)) for s in sources)
            if not (in_quote or in_address):
                problems.append(f"{node}: neither the quote nor the source address contains {ident}")
    return problems


def check_links_verified(ds: Dataset) -> list[str]:
    """Every link has at least one complete verification record in the linkset graph, and no record is stale."""
    g = ds.graph(LINKSET)
    records = verifications(g)
    problems = []
    link_pairs = set(links(ds))
    for pair in link_pairs:
        if pair not in records:
            problems.append(f"{pair[0]} owl:sameAs {pair[1]} has no ent:LinkVerification record")
            continue
        for node in records[pair]:
            problems += check_verification_record(g, node)
    problems += [f"verification {n} is about {s} → {o}, which is not a link" for (s, o), nodes in records.items()
                 if (s, o) not in link_pairs for n in nodes]
    return problems


def check_void(ds: Dataset) -> list[str]:
    """The linkset graph describes itself as a void:Linkset whose void:triples is the real link count."""
    g = ds.graph(LINKSET)
    problems = []
    if (LINKSET, RDF.type, VOID.Linkset) not in g:
        problems.append("the linkset graph is not described as a void:Linkset")
    if (LINKSET, VOID.linkPredicate, OWL.sameAs) not in g:
        problems.append("void:linkPredicate owl:sameAs is missing")
    counts = [int(t) for t in g.objects(LINKSET, VOID.triples)]
    if counts != [len(links(ds))]:
        problems.append(f"void:triples is {counts}, the linkset has {len(links(ds))} links")
    target = next(iter(g.objects(LINKSET, VOID.objectsTarget)), None)
    if target is None or not list(g.objects(target, VOID.uriSpace)):
        problems.append("void:objectsTarget (Wikidata) with its void:uriSpace is missing")
    return problems


def claim_subjects(data_dir: Path) -> set[URIRef]:
    """Subjects of triples in the claim graphs of data/*.trig (the linkset excluded)."""
    subjects: set[URIRef] = set()
    for path in sorted(data_dir.glob("*.trig")):
        if path.resolve() == LINKSET_FILE.resolve():
            continue
        ds = Dataset()
        ds.parse(path, format="trig")
        for s, _, _, g in ds.quads((None, None, None, None)):
            if g is not None and str(g).startswith(CLAIM):
                subjects.add(s)
    return subjects


def check_subjects_exist(ds: Dataset, known: set[URIRef]) -> list[str]:
    return [f"{s} is linked to {o} but is not the subject of any claim in data/" for s, o in links(ds) if s not in known]


def check_alignments(g: Graph, declared: set[URIRef]) -> list[str]:
    """Each SKOS mapping from an ent: term goes to a Wikidata IRI, is verified, and maps a declared term."""
    problems = []
    records = verifications(g)
    mappings = [(s, p, o) for p in MAPPINGS for s, o in g.subject_objects(p)
                if str(s).startswith(str(ENT))]
    if not mappings:
        problems.append("no alignment with Wikidata")
    for s, p, o in mappings:
        if not WD_TERM.match(str(o)):
            problems.append(f"{s} {p} {o}: not a Wikidata item or direct-property IRI")
        if (s, o) not in records:
            problems.append(f"{s} {p} {o} has no ent:LinkVerification record")
        for node in records.get((s, o), []):
            problems += check_verification_record(g, node)
        if s not in declared:
            problems.append(f"{s} is aligned but not declared in ontology/entente.ttl")
    return problems

# What Wikidata expects of each property's subject and object, in Entente's classes, read from the property's
# definition (quoted on its alignment record); None = no type constraint we can check. An alignment to a
# property not in this table fails the tests until its expectation is written down here.
WIKIDATA_EXPECTS: dict[str, tuple[set[str] | None, set[str] | None]] = {
    "P27": ({"Person"}, {"SovereignState"}),                 # country of citizenship
    "P39": ({"Person"}, {"Post"}),                           # position held: a position or public office
    "P101": ({"Person", "Organization"}, None),              # field of work: of a person or organization
    "P108": ({"Person"}, {"Organization"}),                  # employer
    "P131": (None, {"SovereignState", "City"}),              # an administrative entity, never "the Middle East"
    "P140": ({"Person", "Organization"}, {"ReligiousCommunity"}),  # religion
    "P159": ({"Organization"}, {"Place"}),                   # headquarters location: of an organization
    "P276": ({"Event"}, {"Place"}),                          # location (of an event; P131 for places)
    "P361": (None, None),                                    # part of
    "P463": (None, {"Organization"}),                        # member of: an organization or club, not a religion
    "P527": (None, None),                                    # has part
    "P551": ({"Person"}, {"Place"}),                         # residence: of a person
    "P598": ({"Person"}, {"Organization"}),                  # commander of: the units a person commanded
    "P710": ({"Event"}, {"Agent"}),                          # participant
    "P807": (None, None),                                    # separated from
    "P1001": (None, {"SovereignState"}),                     # applies to jurisdiction: a territorial jurisdiction
    "P1344": ({"Agent"}, {"Event"}),                         # participant of
    "P1416": ({"Person", "Organization"}, {"Organization"}),  # affiliation: with an organization
    "P1542": ({"Event"}, {"Event"}),                         # has effect
    "P4791": ({"Organization"}, {"Person"}),                 # commanded by: a military unit's commander
}


def superclasses(ontology: Graph) -> dict[URIRef, set[URIRef]]:
    """Each class → itself and all its (transitive) rdfs:subClassOf superclasses."""
    direct: dict[URIRef, set[URIRef]] = {}
    for c, d in ontology.subject_objects(RDFS.subClassOf):
        if isinstance(c, URIRef) and isinstance(d, URIRef):
            direct.setdefault(c, set()).add(d)
    out: dict[URIRef, set[URIRef]] = {}
    for c in set(direct) | {d for ds in direct.values() for d in ds} | set(ontology.subjects(RDF.type, OWL.Class)):
        seen, todo = {c}, [c]
        while todo:
            for d in direct.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        out[c] = seen
    return out


def entity_types(data: Dataset, closure: dict[URIRef, set[URIRef]]) -> dict[URIRef, set[URIRef]]:
    """Each entity of the data → all its classes, superclasses included."""
    out: dict[URIRef, set[URIRef]] = {}
    for s, _, c, _ in data.quads((None, RDF.type, None, None)):
        out.setdefault(s, set()).update(closure.get(c, {c}))
    return out


def property_alignments(g: Graph) -> list[dict]:
    """The alignment records of ent: properties with Wikidata direct properties, with their scopes."""
    out = []
    for node in g.subjects(RDF.type, ENT.LinkVerification):
        term, target = g.value(node, ENT.linkSubject), g.value(node, ENT.linkObject)
        if term is None or target is None or not str(target).startswith(str(WDT)):
            continue
        out.append({"node": node, "term": term, "pid": str(target)[len(str(WDT)):],
                    "subject": set(g.objects(node, ENT.scopeSubjectType)),
                    "object": set(g.objects(node, ENT.scopeObjectType))})
    return out


def exported(data: Dataset, alignments: Graph, types: dict[URIRef, set[URIRef]]):
    """The Wikidata statements the alignments allow for the claim triples: (s, ent:p, o, P-id) per match.

    The consumer rule of docs/wikidata.md: a record applies when the subject (object) has one of its scope
    classes, or the record has no scope on that side."""
    records = property_alignments(alignments)
    for s, p, o, g in data.quads((None, None, None, None)):
        if g is None or not str(g).startswith(CLAIM):
            continue
        for r in records:
            if r["term"] != p:
                continue
            if r["subject"] and not (types.get(s, set()) & r["subject"]):
                continue
            if r["object"] and not (types.get(o, set()) & r["object"]):
                continue
            yield s, p, o, r["pid"]


def check_well_typed(data: Dataset, alignments: Graph, closure: dict[URIRef, set[URIRef]]) -> list[str]:
    """Every statement the alignments would give Wikidata has a subject and an object of the types Wikidata expects."""
    types = entity_types(data, closure)
    problems = []
    for s, p, o, pid in exported(data, alignments, types):
        if pid not in WIKIDATA_EXPECTS:
            problems.append(f"{p} → {pid}: no type expectation written down for {pid}")
            continue
        for side, node, expected in (("subject", s, WIKIDATA_EXPECTS[pid][0]), ("object", o, WIKIDATA_EXPECTS[pid][1])):
            have = {str(c)[len(str(ENT)):] for c in types.get(node, set()) if str(c).startswith(str(ENT))}
            if expected is not None and not (have & expected):
                problems.append(f"{s} {p} {o} would become wdt:{pid}, whose {side} must be one of "
                                f"{sorted(expected)}; {node} is {sorted(have) or 'untyped'}")
    return problems


def check_scopes(alignments: Graph, ontology: Graph, closure: dict[URIRef, set[URIRef]]) -> list[str]:
    """Each property alignment targets a property whose expectations are known, and its scope (or, without
    one, the Entente property's rdfs:domain / rdfs:range) lies within them."""
    problems = []
    for r in property_alignments(alignments):
        if r["pid"] not in WIKIDATA_EXPECTS:
            problems.append(f"{r['node']}: no type expectation written down for {r['pid']}")
            continue
        for side, axis in (("subject", RDFS.domain), ("object", RDFS.range)):
            expected = WIKIDATA_EXPECTS[r["pid"]][0 if side == "subject" else 1]
            if expected is None:
                continue
            allowed = {ENT[name] for name in expected}
            scope = r[side] or set(ontology.objects(r["term"], axis))
            if not scope:
                problems.append(f"{r['node']}: wdt:{r['pid']} expects a {side} in {sorted(expected)}, "
                                f"but the alignment has no {side} scope and {r['term']} no {axis.n3()}")
            for c in scope:
                if not (closure.get(c, {c}) & allowed):
                    problems.append(f"{r['node']}: {side} scope {c} is not within {sorted(expected)} "
                                    f"(what wdt:{r['pid']} expects)")
    return problems


# --- fixtures ---

@pytest.fixture(scope="module")
def linkset() -> Dataset:
    ds = Dataset()
    ds.parse(LINKSET_FILE, format="trig")
    return ds


@pytest.fixture(scope="module")
def alignments() -> Graph:
    return Graph().parse(ALIGNMENTS_FILE, format="turtle")


def bad(trig_body: str) -> Dataset:
    """A small linkset graph for the negative tests."""
    ds = Dataset()
    ds.parse(data=f"""
        @prefix ent: <{ENT}> . @prefix id: <{ID}> . @prefix wd: <http://www.wikidata.org/entity/> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix dcterms: <http://purl.org/dc/terms/> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix void: <http://rdfs.org/ns/void#> .
        <{LINKSET}> {{ {trig_body} }}""", format="trig")
    return ds


RECORD_CLAUSES = ["ent:linkSubject id:iran", "ent:linkObject wd:Q794", "dcterms:source <https://example.org/table>",
                  'ent:verificationQuote "Q794 Iran"', 'dcterms:date "2026-11-25"^^xsd:date']
GOOD_RECORD = " ; ".join(RECORD_CLAUSES) + " ."


# --- the real files ---

def test_linkset_parses_with_rdflib_and_pyoxigraph(linkset):
    store = pyoxigraph.Store()
    store.load(path=str(LINKSET_FILE), format=pyoxigraph.RdfFormat.TRIG)
    assert len(store) == len(linkset) > 0
    assert {str(g.identifier) for g in linkset.graphs() if len(g)} == {str(LINKSET)}


def test_links_are_wikidata_entity_iris(linkset):
    assert check_links_shape(linkset) == []
    assert len(links(linkset)) >= MIN_LINKS


def test_links_are_one_to_one(linkset):
    assert check_one_to_one(linkset) == []


def test_every_link_has_a_verification_record(linkset):
    assert check_links_verified(linkset) == []


def test_linkset_void_description(linkset):
    assert check_void(linkset) == []


def test_every_linked_entity_is_in_the_data(linkset):
    known = claim_subjects(ROOT / "data")
    assert check_subjects_exist(linkset, known) == []


def test_alignments_are_verified_and_declared(alignments):
    assert ONTOLOGY_FILE.exists(), "ontology/entente.ttl is missing"
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle")
    declared = set(ontology.subjects(RDF.type, None))
    assert check_alignments(alignments, declared) == []


def test_alignments_stay_annotations(alignments):
    """No owl:equivalentClass/Property to Wikidata: the mappings must not change what HermiT infers."""
    for p in (OWL.equivalentClass, OWL.equivalentProperty, OWL.sameAs):
        assert [(s, o) for s, o in alignments.subject_objects(p) if "wikidata.org" in str(o)] == []
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle") + alignments
    used = {p for _, p, _ in alignments} - {RDF.type, RDFS.label, RDFS.comment, RDFS.isDefinedBy}
    for p in used:
        assert (p, RDF.type, None) in ontology, f"{p} is used by the alignments but not declared"
    for p in (*MAPPINGS, DCTERMS.source, DCTERMS.date, ENT.scopeSubjectType, ENT.scopeObjectType):
        if p in used:
            assert (p, RDF.type, OWL.AnnotationProperty) in ontology, f"{p} must be an annotation property"


def test_docs_list_every_link(linkset):
    """docs/wikidata.md is the human-readable copy of the linkset: every link appears in its table."""
    doc = (ROOT / "docs" / "wikidata.md").read_text(encoding="utf-8")
    missing = [(str(s), str(o)) for s, o in links(linkset)
               if f"`id:{str(s)[len(ID):]}`" not in doc or f"[{str(o).rsplit('/', 1)[-1]}](" not in doc]
    assert missing == []


# --- each rule rejects bad data ---

def test_rejects_an_empty_linkset():
    assert check_links_shape(bad("")) == ["the linkset holds no owl:sameAs link"]


@pytest.mark.parametrize("obj", ["<https://www.wikidata.org/wiki/Q794>", "<http://www.wikidata.org/entity/Q0794>",
                                 "<http://www.wikidata.org/entity/P39>", "<http://dbpedia.org/resource/Iran>"])
def test_rejects_a_non_wikidata_entity_object(obj):
    problems = check_links_shape(bad(f"id:iran owl:sameAs {obj} ."))
    assert problems and "not a Wikidata entity IRI" in problems[0]


def test_rejects_a_link_outside_the_linkset_graph():
    ds = bad("")
    ds.graph(URIRef(CLAIM + "x")).add((URIRef(ID + "iran"), OWL.sameAs, URIRef("http://www.wikidata.org/entity/Q794")))
    assert any("not https://w3id.org/entente/graph/linkset/wikidata" in p or "is in graph" in p for p in check_links_shape(ds))


def test_rejects_one_entity_with_two_qids_and_one_qid_for_two_entities():
    problems = check_one_to_one(bad("id:iran owl:sameAs wd:Q794, wd:Q795 . id:persia owl:sameAs wd:Q794 ."))
    assert any("linked to 2 QIDs" in p for p in problems)
    assert any("linked from 2 entities" in p for p in problems)


def test_rejects_a_link_without_verification():
    problems = check_links_verified(bad("id:iran owl:sameAs wd:Q794 ."))
    assert problems == [f"{ID}iran owl:sameAs http://www.wikidata.org/entity/Q794 has no ent:LinkVerification record"]


@pytest.mark.parametrize("drop, message", [(2, "no dcterms:source"), (3, "no ent:verificationQuote"),
                                           (4, "no dcterms:date")])
def test_rejects_an_incomplete_verification_record(drop, message):
    record = " ; ".join(c for i, c in enumerate(RECORD_CLAUSES) if i != drop) + " ."
    ds = bad(f"id:iran owl:sameAs wd:Q794 . <https://example.org/v> a ent:LinkVerification ; {record}")
    problems = check_links_verified(ds)
    assert len(problems) == 1 and message in problems[0]


def test_accepts_a_complete_record_and_rejects_a_quote_without_the_qid():
    good = bad(f"id:iran owl:sameAs wd:Q794 . <https://example.org/v> a ent:LinkVerification ; {GOOD_RECORD}")
    assert check_links_verified(good) == []
    wrong = bad(f"id:iran owl:sameAs wd:Q794 . <https://example.org/v> a ent:LinkVerification ; "
                f"{GOOD_RECORD.replace('Q794 Iran', 'Q7947 Iran')}")
    assert check_links_verified(wrong) == ["https://example.org/v: neither the quote nor the source address contains Q794"]


def test_accepts_the_qid_in_an_item_address_but_not_a_longer_one():
    """inventaire.io pages are addressed by the item (…wd:Q794): the address may carry the QID; Q7947 is not Q794."""
    quote_without_qid = GOOD_RECORD.replace('Q794 Iran', 'Iran, sovereign state in Western Asia')
    for address, ok in [("https://inventaire.io/entity/wdt:P921-wd:Q794?lang=en", True),
                        ("https://inventaire.io/entity/wd:Q7947", False), ("https://example.org/table", False)]:
        record = quote_without_qid.replace("https://example.org/table", address)
        ds = bad(f"id:iran owl:sameAs wd:Q794 . <https://example.org/v> a ent:LinkVerification ; {record}")
        assert (check_links_verified(ds) == []) is ok, address


def test_rejects_a_stale_verification_record():
    ds = bad(f"<https://example.org/v> a ent:LinkVerification ; {GOOD_RECORD}")
    assert any("which is not a link" in p for p in check_links_verified(ds))


def test_rejects_a_wrong_void_count():
    ds = bad(f"id:iran owl:sameAs wd:Q794 . <{LINKSET}> a void:Linkset ; void:linkPredicate owl:sameAs ; void:triples 2 .")
    assert any("void:triples is [2]" in p for p in check_void(ds))


def test_rejects_a_link_for_an_entity_the_data_does_not_have():
    ds = bad("id:no-such-entity owl:sameAs wd:Q794 .")
    assert check_subjects_exist(ds, {URIRef(ID + "iran")}) == [
        f"{ID}no-such-entity is linked to http://www.wikidata.org/entity/Q794 but is not the subject of any claim in data/"]


def test_rejects_unverified_undeclared_or_non_wikidata_alignments():
    g = Graph().parse(data=f"""
        @prefix ent: <{ENT}> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
        ent:Person skos:closeMatch <http://www.wikidata.org/entity/Q5> .
        ent:Nonexistent skos:closeMatch <http://schema.org/Person> .""", format="turtle")
    problems = check_alignments(g, {ENT.Person})
    assert any("ontology#Person" in p and "no ent:LinkVerification" in p for p in problems)
    assert any("not a Wikidata item" in p for p in problems)
    assert any("Nonexistent is aligned but not declared" in p for p in problems)
    assert check_alignments(Graph(), set()) == ["no alignment with Wikidata"]


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


@pytest.fixture(scope="module")
def data() -> Dataset:
    ds = Dataset()
    for path in sorted((ROOT / "data").glob("*.trig")):
        if path.resolve() != LINKSET_FILE.resolve():
            ds.parse(path, format="trig")
    return ds


def test_alignment_scopes_fit_what_wikidata_expects(alignments, ontology):
    assert check_scopes(alignments, ontology, superclasses(ontology)) == []


def test_statements_the_alignments_give_wikidata_are_well_typed(data, alignments, ontology):
    closure = superclasses(ontology)
    assert check_well_typed(data, alignments, closure) == []
    by_pid = {pid for *_, pid in exported(data, alignments, entity_types(data, closure))}
    assert {"P39", "P710", "P276"} <= by_pid, "the alignments cover none of the data's posts, participants, places"


def test_no_known_misalignment_comes_back(data, alignments, ontology):
    """The three mistakes of the first alignment: P463 for a religion, P131 for the Middle East, P159 for a person."""
    types = entity_types(data, superclasses(ontology))
    out = {(str(s)[len(ID):], pid, str(o)[len(ID):]) for s, _, o, pid in exported(data, alignments, types)}
    assert not {t for t in out if t[1] == "P463" and t[2] in ("alawites", "shia-islam", "sunni-islam")}
    assert not {t for t in out if t[1] == "P131" and t[2] == "middle-east"}
    assert not {t for t in out if t[1] == "P159" and ENT.Person in types.get(URIRef(ID + t[0]), set())}


# --- the alignment checks reject bad alignments ---

TYPES = f"""@prefix ent: <{ENT}> . @prefix id: <{ID}> .
    <{CLAIM}types> {{ id:analyst-x a ent:Person . id:istanbul a ent:City . id:assad a ent:Person .
      id:alawites a ent:ReligiousCommunity . id:syria a ent:SovereignState . id:middle-east a ent:Region .
      id:cna a ent:ThinkTank . }}"""


def small_world(claims: str, alignment: str) -> tuple[Dataset, Graph]:
    ds = Dataset()
    ds.parse(data=TYPES + f"<{CLAIM}c> {{ {claims} }}", format="trig")
    g = Graph().parse(data=f"""@prefix ent: <{ENT}> . @prefix wdt: <{WDT}> .
        <urn:x:r> a ent:LinkVerification ; {alignment} .""", format="turtle")
    return ds, g


@pytest.mark.parametrize("claims, alignment, message", [
    ("id:analyst-x ent:basedIn id:istanbul .", "ent:linkSubject ent:basedIn ; ent:linkObject wdt:P159",
     "wdt:P159, whose subject must be one of ['Organization']"),
    ("id:assad ent:memberOf id:alawites .", "ent:linkSubject ent:memberOf ; ent:linkObject wdt:P463",
     "wdt:P463, whose object must be one of ['Organization']"),
    ("id:syria ent:locatedIn id:middle-east .", "ent:linkSubject ent:locatedIn ; ent:linkObject wdt:P131",
     "wdt:P131, whose object must be one of ['City', 'SovereignState']"),
])
def test_rejects_an_alignment_that_would_give_wikidata_an_ill_typed_statement(ontology, claims, alignment, message):
    ds, g = small_world(claims, alignment)
    problems = check_well_typed(ds, g, superclasses(ontology))
    assert len(problems) == 1 and message in problems[0]
    scoped = alignment.replace(" ;", " ; ent:scopeSubjectType ent:Organization ; ent:scopeObjectType ent:Organization , ent:City ;", 1)
    assert check_well_typed(*small_world(claims, scoped)[:2], superclasses(ontology)) == [], "a scope keeps the triple out"


def test_rejects_a_scope_wider_than_wikidata_expects_and_an_unknown_property(ontology):
    _, g = small_world("", "ent:linkSubject ent:basedIn ; ent:linkObject wdt:P159 ; ent:scopeSubjectType ent:Agent")
    problems = check_scopes(g, ontology, superclasses(ontology))
    assert len(problems) == 1 and "subject scope" in problems[0] and "Agent" in problems[0]
    _, g = small_world("", "ent:linkSubject ent:backs ; ent:linkObject wdt:P99999")
    assert check_scopes(g, ontology, superclasses(ontology)) == ["urn:x:r: no type expectation written down for P99999"]


# --- the SHACL shapes for links (shapes/linkset.ttl), run with pySHACL on the real linkset ---

SH = Namespace("http://www.w3.org/ns/shacl#")


def link_shapes() -> Graph:
    """shapes/linkset.ttl plus the prefix declarations its SPARQL constraint refers to (sh:prefixes)."""
    shapes = Graph().parse(ROOT / "shapes" / "linkset.ttl", format="turtle")
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        other = Graph().parse(path, format="turtle")
        for owner in set(other.subjects(SH.declare, None)):
            for decl in other.objects(owner, SH.declare):
                shapes.add((owner, SH.declare, decl))
                shapes += other.triples((decl, None, None))
    return shapes


def shacl(ds: Dataset) -> tuple[bool, Graph]:
    import pyshacl
    g = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        g.add((s, p, o))
    conforms, report, _ = pyshacl.validate(g, shacl_graph=link_shapes(), advanced=True)
    return conforms, report


def test_the_link_shapes_accept_the_real_linkset_and_reject_a_broken_copy(linkset):
    conforms, report = shacl(linkset)
    assert conforms, report.serialize(format="turtle")
    broken = Dataset()
    broken.parse(LINKSET_FILE, format="trig")
    g = broken.graph(LINKSET)
    g.add((URIRef(ID + "iran"), OWL.sameAs, URIRef("http://www.wikidata.org/entity/Q7947")))   # a second QID, unverified
    g.add((URIRef(ID + "quds-force"), OWL.sameAs, URIRef("https://www.wikidata.org/wiki/Q1")))  # a page URL, unverified
    conforms, report = shacl(broken)
    assert not conforms
    found = {(str(report.value(r, SH.focusNode)), str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1])
             for r in report.subjects(RDF.type, SH.ValidationResult)}
    assert (ID + "iran", "MaxCountConstraintComponent") in found
    assert (ID + "iran", "SPARQLConstraintComponent") in found
    assert (ID + "quds-force", "PatternConstraintComponent") in found
    assert (ID + "quds-force", "SPARQLConstraintComponent") in found


def test_docs_list_every_alignment(alignments):
    """docs/wikidata.md shows every alignment (term and Wikidata IRI) in its alignment tables."""
    doc = (ROOT / "docs" / "wikidata.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Alignments of the ontology"):doc.index("## Querying Entente and Wikidata together")]
    missing = []
    for node in alignments.subjects(RDF.type, ENT.LinkVerification):
        term, target = alignments.value(node, ENT.linkSubject), str(alignments.value(node, ENT.linkObject))
        short = ("wdt:" if "/prop/direct/" in target else "wd:") + target.rsplit("/", 1)[-1]
        row = [line for line in section.splitlines() if line.startswith(f"| `ent:{str(term).split('#')[-1]}` |") and f"`{short}`" in line]
        if not row:
            missing.append((str(term), short))
    assert missing == []


def test_the_documented_alignment_query_returns_every_property_alignment(alignments):
    """The SPARQL query docs/wikidata.md gives consumers runs on pyoxigraph and returns one row per property alignment."""
    doc = (ROOT / "docs" / "wikidata.md").read_text(encoding="utf-8")
    query = re.search(r"```sparql\n(PREFIX ent:[^`]*?GROUP BY[^`]*?)```", doc).group(1)
    store = pyoxigraph.Store()
    for path in (ONTOLOGY_FILE, ALIGNMENTS_FILE):
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE,
                   to_graph=pyoxigraph.NamedNode("https://w3id.org/entente/graph/ontology"))
    rows = {(r["term"].value, r["wikidataProperty"].value) for r in store.query(query)}
    expected = {(str(a["term"]), str(WDT) + a["pid"]) for a in property_alignments(alignments)}
    assert rows == expected and len(rows) >= 20
