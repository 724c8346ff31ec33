"""The ontology, the article's metadata and the competency questions, checked on the real files.

- ontology/entente.ttl parses, carries its metadata, gives every ent: term a label and a definition,
  is in the OWL 2 DL profile (the OWL API's checker, with the Wikidata alignments),
  declares every IRI it uses exactly once as one kind of entity (OWL 2 DL, no punning);
- HermiT (owlready2) finds it consistent with no unsatisfiable class — and does notice an
  inconsistency when a fact breaks an axiom, so the check can fail;
- data/*.trig uses no ent: term the ontology does not declare;
- seeds/metadata.ttl copies the seed file verbatim;
- every docs/competency/*.rq parses and answers on the built dataset (pyoxigraph, union default graph).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

import owlready2
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.sparql import prepareQuery
from rdflib import URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from server.graph import iris

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_FILE = ROOT / "ontology" / "entente.ttl"
METADATA_FILE = ROOT / "seeds" / "metadata.ttl"
SEED_FILE = ROOT / iris.SEED_FILE
COMPETENCY_DIR = ROOT / "docs" / "competency"
ENT = rdflib.Namespace(iris.ENT)
VANN = rdflib.Namespace("http://purl.org/vocab/vann/")
NIF = rdflib.Namespace(iris.PREFIXES["nif"])
SCHEMA = rdflib.Namespace(iris.PREFIXES["schema"])
ONTOLOGY = URIRef(iris.ONTOLOGY)
ARTICLE = URIRef(iris.ARTICLE)
KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual)
BUILT_IN = ("http://www.w3.org/2002/07/owl#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2001/XMLSchema#")


@pytest.fixture(scope="module")
def onto() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_FILE, format="turtle")


def builtin(term) -> bool:
    """rdflib's Identifier.startswith does not take a tuple; compare plain strings."""
    return str(term).startswith(BUILT_IN)


def ent_terms(g: rdflib.Graph) -> set[URIRef]:
    return {s for s in g.subjects() if isinstance(s, URIRef) and s.startswith(iris.ENT)}


def kinds_of(g: rdflib.Graph, term: URIRef) -> set[URIRef]:
    return {k for k in g.objects(term, RDF.type) if k in KINDS}


# ---------------------------------------------------------------------------------------------
# The ontology document
# ---------------------------------------------------------------------------------------------

def test_ontology_header_has_iri_version_licence_creator_and_prefix(onto):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in onto
    assert onto.value(ONTOLOGY, OWL.versionIRI) == URIRef(iris.ONTOLOGY_VERSION)
    assert onto.value(ONTOLOGY, OWL.versionInfo) is not None
    assert onto.value(ONTOLOGY, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert str(onto.value(ONTOLOGY, DCTERMS.creator)) == "Entente engineers"
    assert onto.value(ONTOLOGY, DCTERMS.created) is not None
    for prop in (DCTERMS.title, DCTERMS.description):
        assert onto.value(ONTOLOGY, prop).language == "en"
    assert str(onto.value(ONTOLOGY, VANN.preferredNamespacePrefix)) == "ent"
    assert str(onto.value(ONTOLOGY, VANN.preferredNamespaceUri)) == iris.ENT


def test_every_ent_term_has_english_label_definition_and_is_defined_by(onto):
    terms = ent_terms(onto)
    assert len(terms) > 100
    missing = []
    for term in sorted(terms):
        labels = [o for o in onto.objects(term, RDFS.label) if o.language == "en"]
        definitions = [o for o in onto.objects(term, SKOS.definition) if o.language == "en"]
        if len(labels) != 1 or len(definitions) != 1:
            missing.append(f"{term}: {len(labels)} label(s)@en, {len(definitions)} definition(s)@en")
        if (term, RDFS.isDefinedBy, ONTOLOGY) not in onto:
            missing.append(f"{term}: no rdfs:isDefinedBy {ONTOLOGY}")
    assert not missing, "\n".join(missing)


def test_every_iri_the_ontology_uses_is_declared_as_exactly_one_kind(onto):
    """OWL 2 DL: every class, property and individual is declared, and no IRI is punned."""
    problems = []
    used = set()
    for s, p, o in onto:
        used.add(p)
        for t in (s, o):
            if isinstance(t, URIRef) and p not in (OWL.versionIRI, DCTERMS.license, RDFS.seeAlso,
                                                  SKOS.closeMatch, SKOS.exactMatch) and p != RDF.type:
                used.add(t)
        if p == RDF.type and o not in KINDS and isinstance(o, URIRef) and not builtin(o):
            used.add(o)
    for term in sorted(used):
        if builtin(term) or term == ONTOLOGY:
            continue
        kinds = kinds_of(onto, term)
        if len(kinds) != 1:
            problems.append(f"{term}: declared as {sorted(kinds) or 'nothing'}")
    assert not problems, "\n".join(problems)


def test_agreed_classes_and_properties_are_all_there(onto):
    """The names in /work/brief/terms.md (the contract with the other parts) are all declared."""
    classes = """SovereignState Person Organization ArmedForcesBranch MilitaryUnit ArmedPoliticalMovement
        MilitantGroup GovernmentBody Legislature ThinkTank University NewsOrganization NewsAgency
        OppositionMovement StateBloc ReligiousCommunity PoliticalFaction Group Place City Region Post Event
        StateVisit Talks Negotiation Agreement Gift Loan ArmedConflict MilitaryIntervention HumanitarianCrisis
        Election ProtestMovement Plot Artifact Document NewsArticle Report Claim EvidenceSpan Modality
        InferredGraph Contribution ContributionState Agent""".split()
    objects = """allyOf cooperatesMilitarilyWith fightsAlongside backs backedBy finances arms rivalOf friendlyWith
        opposes fightsAgainst partOf hasPart commands commandedBy leads ledBy memberOf hasMember employedBy
        affiliatedWith locatedIn basedIn governs governedBy holdsPost postHeldBy postIn participatesIn
        hasParticipant takesPlaceIn giver recipient giftObject lender borrower visitor visitDestination about
        causes causedBy wantsFriendshipWith reliesOn concernedAbout needs seeks specializesIn modality
        assertedBy reportedIn evidence inSentence""".split()
    datatypes = "amount currency age deathToll noFactsReason sha256".split()
    for names, kind in ((classes, OWL.Class), (objects, OWL.ObjectProperty), (datatypes, OWL.DatatypeProperty)):
        for name in names:
            assert kind in kinds_of(onto, ENT[name]), f"ent:{name} is not declared as {kind}"
    for name in ("ArticleVoice", "DirectQuote", "IndirectSpeech", "ReportedClaim", "Hedged"):
        assert (ENT[name], RDF.type, ENT.Modality) in onto
        assert (ENT[name], RDF.type, SKOS.Concept) in onto
        assert (ENT[name], SKOS.inScheme, ENT.Modalities) in onto
    for name in ("Pending", "Accepted", "Rejected"):
        assert (ENT[name], RDF.type, ENT.ContributionState) in onto


def test_property_characteristics_and_hierarchy(onto):
    for name in ("allyOf", "cooperatesMilitarilyWith", "fightsAlongside", "rivalOf", "friendlyWith"):
        assert (ENT[name], RDF.type, OWL.SymmetricProperty) in onto, name
    for name in ("partOf", "hasPart", "locatedIn"):
        assert (ENT[name], RDF.type, OWL.TransitiveProperty) in onto, name
    for a, b in (("backs", "backedBy"), ("partOf", "hasPart"), ("commands", "commandedBy"), ("leads", "ledBy"),
                 ("memberOf", "hasMember"), ("governs", "governedBy"), ("holdsPost", "postHeldBy"),
                 ("participatesIn", "hasParticipant"), ("causes", "causedBy")):
        assert (ENT[a], OWL.inverseOf, ENT[b]) in onto or (ENT[b], OWL.inverseOf, ENT[a]) in onto, (a, b)
    for name in ("finances", "arms"):
        assert (ENT[name], RDFS.subPropertyOf, ENT.backs) in onto
    for cls in ("Person", "Organization", "SovereignState", "Group"):
        assert (ENT[cls], RDFS.subClassOf, ENT.Agent) in onto


def test_reused_vocabularies_are_aligned(onto):
    """Our terms hang under the W3C and community vocabularies the field knows."""
    org, prov = rdflib.Namespace(iris.PREFIXES["org"]), rdflib.Namespace(iris.PREFIXES["prov"])
    foaf = rdflib.Namespace(iris.PREFIXES["foaf"])
    expected = [
        (ENT.Organization, RDFS.subClassOf, org.Organization), (ENT.Organization, RDFS.subClassOf, foaf.Organization),
        (ENT.Person, RDFS.subClassOf, foaf.Person), (ENT.Agent, RDFS.subClassOf, prov.Agent),
        (ENT.Post, RDFS.subClassOf, org.Post), (ENT.holdsPost, RDFS.subPropertyOf, org.holds),
        (ENT.memberOf, RDFS.subPropertyOf, org.memberOf), (ENT.SovereignState, RDFS.subClassOf, SCHEMA.Country),
        (ENT.Place, RDFS.subClassOf, SCHEMA.Place), (ENT.Event, RDFS.subClassOf, SCHEMA.Event),
        (ENT.NewsArticle, RDFS.subClassOf, SCHEMA.NewsArticle), (ENT.Contribution, RDFS.subClassOf, prov.Entity),
        (ENT.Claim, RDFS.subClassOf, prov.Entity), (ENT.assertedBy, RDFS.subPropertyOf, prov.wasAttributedTo),
        (ENT.EvidenceSpan, RDFS.subClassOf, NIF.OffsetBasedString), (NIF.OffsetBasedString, RDFS.subClassOf, NIF.String),
        (ENT.Modality, RDFS.subClassOf, SKOS.Concept),
    ]
    missing = [t for t in expected if t not in onto]
    assert not missing, missing


def test_ontology_imports_nothing(onto):
    """No owl:imports: the build and the reasoner never go to the network."""
    assert not list(onto.objects(None, OWL.imports))


# ---------------------------------------------------------------------------------------------
# HermiT
# ---------------------------------------------------------------------------------------------

def run_hermit(graph: rdflib.Graph) -> owlready2.World:
    """HermiT over `graph`; raises owlready2.OwlReadyInconsistentOntologyError if inconsistent."""
    with tempfile.NamedTemporaryFile(suffix=".nt", delete=False) as tmp:
        graph.serialize(tmp.name, format="nt", encoding="utf-8")
    world = owlready2.World()
    ontology = world.get_ontology(Path(tmp.name).as_uri()).load()
    try:
        with ontology:
            owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    return world


def test_hermit_finds_the_ontology_consistent_with_no_unsatisfiable_class(onto):
    world = run_hermit(onto)
    unsatisfiable = list(world.inconsistent_classes())
    assert unsatisfiable == []
    # HermiT's class hierarchy really was computed: an inferred (not asserted) superclass is present.
    agent = world[iris.ENT + "Agent"]
    news_agency = world[iris.ENT + "NewsAgency"]
    assert agent in news_agency.ancestors()


def test_hermit_rejects_a_fact_that_breaks_a_disjointness_axiom(onto):
    """The consistency check can fail: a person who is also an organization is caught."""
    bad = rdflib.Graph()
    for t in onto:
        bad.add(t)
    x = URIRef(iris.ID + "not-a-real-entity")
    bad.add((x, RDF.type, ENT.Person))
    bad.add((x, RDF.type, ENT.Organization))
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        run_hermit(bad)


def test_hermit_rejects_a_modality_that_is_two_modalities(onto):
    """ent:Hedged and ent:ArticleVoice are different individuals; equating them is caught."""
    bad = rdflib.Graph()
    for t in onto:
        bad.add(t)
    bad.add((ENT.Hedged, OWL.sameAs, ENT.ArticleVoice))
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        run_hermit(bad)


def test_hermit_rejects_a_claim_with_two_modalities(onto):
    """ent:modality is functional and the modalities are different: one claim, one modality."""
    bad = rdflib.Graph()
    for t in onto:
        bad.add(t)
    claim = URIRef(iris.CLAIM + "not-a-real-claim")
    bad.add((claim, RDF.type, ENT.Claim))
    bad.add((claim, ENT.modality, ENT.ArticleVoice))
    run_hermit(bad)  # one modality: consistent
    bad.add((claim, ENT.modality, ENT.Hedged))
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        run_hermit(bad)


# ---------------------------------------------------------------------------------------------
# OWL 2 DL profile, checked by the OWL API (bundled in owlready2's HermiT.jar)
# ---------------------------------------------------------------------------------------------

DL_CHECK_JAVA = """
import java.io.File;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.*;
import org.semanticweb.owlapi.profiles.*;

public class DLCheck {
    public static void main(String[] args) throws Exception {
        OWLOntology o = OWLManager.createOWLOntologyManager().loadOntologyFromOntologyDocument(new File(args[0]));
        OWLProfileReport r = new OWL2DLProfile().checkOntology(o);
        for (OWLProfileViolation v : r.getViolations()) System.out.println("VIOLATION " + v);
        System.out.println("AXIOMS " + o.getAxiomCount() + " IN-PROFILE " + r.isInProfile());
    }
}
"""


def owl2_dl_violations(graph: rdflib.Graph, workdir: Path) -> tuple[int, list[str]]:
    """(axiom count, violations) of the OWL API's OWL 2 DL profile checker run over `graph`."""
    import subprocess

    source, document = workdir / "DLCheck.java", workdir / "ontology.owl"
    source.write_text(DL_CHECK_JAVA)
    graph.serialize(document, format="xml")
    hermit_jar = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
    result = subprocess.run([owlready2.JAVA_EXE, "-cp", str(hermit_jar), str(source), str(document)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    axioms = int(re.search(r"AXIOMS (\d+)", result.stdout).group(1))
    return axioms, [line for line in result.stdout.splitlines() if line.startswith("VIOLATION")]


def test_ontology_with_its_wikidata_alignments_is_in_the_owl2_dl_profile(onto, tmp_path):
    published = rdflib.Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):  # what the build puts in graph:ontology
        published.parse(path, format="turtle")
    axioms, violations = owl2_dl_violations(published, tmp_path)
    assert axioms >= 900
    assert violations == []


def test_ontology_with_all_data_and_metadata_is_in_the_owl2_dl_profile(tmp_path):
    """Facts, claims, sentences, linkset and metadata use every term as the kind the ontology declares."""
    everything = rdflib.Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")) + [METADATA_FILE]:
        everything.parse(path, format="turtle")
    files = sorted((ROOT / "data").glob("*.trig"))
    assert files, "no data/*.trig found: nothing was checked"
    for path in files:
        ds = rdflib.Dataset()
        ds.parse(path, format="trig")
        for s, p, o, _ in ds.quads((None, None, None, None)):
            everything.add((s, p, o))
    _, violations = owl2_dl_violations(everything, tmp_path)
    assert violations == [], "\n".join(violations[:20])


def test_owl2_dl_check_catches_a_punned_property(onto, tmp_path):
    bad = rdflib.Graph()
    for t in onto:
        bad.add(t)
    bad.add((ENT.backs, RDF.type, OWL.DatatypeProperty))  # an object property also used as a data property
    _, violations = owl2_dl_violations(bad, tmp_path)
    assert any("backs" in v for v in violations), violations


# ---------------------------------------------------------------------------------------------
# The data uses only declared terms
# ---------------------------------------------------------------------------------------------

def undeclared_ent_terms(onto: rdflib.Graph, files: list[Path]) -> dict[str, set[str]]:
    declared = ent_terms(onto)
    found: dict[str, set[str]] = {}
    for path in files:
        ds = rdflib.Dataset()
        ds.parse(path, format="trig")
        for quad in ds.quads((None, None, None, None)):
            for term in quad[:3]:
                if isinstance(term, URIRef) and term.startswith(iris.ENT) and term not in declared:
                    found.setdefault(str(term), set()).add(path.name)
    return found


def test_data_uses_no_undeclared_ent_term(onto):
    files = sorted((ROOT / "data").glob("*.trig"))
    assert files, "no data/*.trig found: nothing was checked"
    found = undeclared_ent_terms(onto, files)
    assert not found, "\n".join(f"{term} (in {', '.join(sorted(where))})" for term, where in sorted(found.items()))


def test_undeclared_term_check_catches_a_misspelt_term(onto, tmp_path):
    bad = tmp_path / "bad.trig"
    bad.write_text("@prefix ent: <%s> . <urn:g> { <urn:a> ent:financess <urn:b> . }" % iris.ENT)
    assert set(undeclared_ent_terms(onto, [bad])) == {iris.ENT + "financess"}


# ---------------------------------------------------------------------------------------------
# seeds/metadata.ttl
# ---------------------------------------------------------------------------------------------

def test_metadata_copies_the_seed_file_verbatim():
    meta = rdflib.Graph().parse(METADATA_FILE, format="turtle")
    raw = SEED_FILE.read_bytes()
    text = raw.decode("utf-8")
    lines = [line.strip(" •") for line in text.splitlines()]
    title = meta.value(ARTICLE, DCTERMS.title)
    assert str(title) == lines[0] == "Gifts and Praise Can't Obscure Limits to Iran-Russia Relations"
    standfirst = {str(o) for o in meta.objects(ARTICLE, ENT.standfirst)}
    assert standfirst == {"History of distrust also weighs on ties Putin wants to deepen",
                          "Iran needs Western cash and technology to rebuild economy"}
    assert standfirst <= set(lines)
    photo = meta.value(ARTICLE, SCHEMA.image)
    caption, credit = str(meta.value(photo, SCHEMA.caption)), str(meta.value(photo, SCHEMA.creditText))
    assert caption in lines and caption.startswith("Khamenei receives a replica")
    assert credit in lines and credit.startswith("Source: ")
    assert meta.value(ARTICLE, DCTERMS.publisher) == URIRef(iris.ID + "bloomberg-news")
    assert str(meta.value(ARTICLE, ENT.sha256)) == hashlib.sha256(raw).hexdigest()
    assert int(meta.value(ARTICLE, NIF.endIndex)) == len(text) == 5451
    assert (ARTICLE, RDF.type, ENT.NewsArticle) in meta


def test_metadata_uses_only_declared_terms(onto):
    meta = rdflib.Graph().parse(METADATA_FILE, format="turtle")
    for p in set(meta.predicates()):
        assert builtin(p) or kinds_of(onto, p), f"{p} is not declared in the ontology"
    for c in set(meta.objects(None, RDF.type)):
        assert OWL.Class in kinds_of(onto, c), f"{c} is not declared in the ontology"


# ---------------------------------------------------------------------------------------------
# Competency questions
# ---------------------------------------------------------------------------------------------

QUERIES = sorted(COMPETENCY_DIR.glob("*.rq"))


def expectation(path: Path) -> str:
    """`# expect: rows` (default), `none` (a quality check) or `contributions` (rows once one is accepted)."""
    match = re.search(r"^# expect: (\w+)", path.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else "rows"


def test_there_are_at_least_twelve_competency_questions_each_in_the_docs():
    assert len(QUERIES) >= 12
    doc = (ROOT / "docs" / "ontology.md").read_text(encoding="utf-8")
    for path in QUERIES:
        assert f"competency/{path.name}" in doc, f"{path.name} is not listed in docs/ontology.md"
        assert path.read_text(encoding="utf-8").startswith("# CQ"), f"{path.name} does not start with its question"


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_competency_query_parses(path):
    prepareQuery(path.read_text(encoding="utf-8"))
    list(ox.Store().query(path.read_text(encoding="utf-8")))  # pyoxigraph's parser too


@pytest.fixture(scope="module")
def built_store(built_dataset) -> ox.Store:
    store = ox.Store()
    store.load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    return store


def ask(store: ox.Store, path: Path) -> list:
    return list(store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True))


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_competency_query_answers_on_the_built_dataset(path, built_store):
    rows = ask(built_store, path)
    kind = expectation(path)
    if kind == "none":
        assert rows == [], f"{path.name} is a quality check and should find nothing: {rows[:5]}"
    elif kind == "contributions":
        assert rows == [], "the built dataset holds no contributions"
    else:
        assert rows, f"{path.name} returned no rows on the built dataset"


def rows_of(store: ox.Store, stem: str) -> list:
    [path] = [p for p in QUERIES if p.stem.startswith(stem)]
    return ask(store, path)


def test_competency_answers_say_what_the_article_says(built_store):
    """Spot checks of answers against the article's own words (its text is read from seeds/ here)."""
    text = SEED_FILE.read_text(encoding="utf-8")
    assert iris.ID + "hezbollah" in {r["financed"].value for r in rows_of(built_store, "cq01")}  # "finance and arm … Hezbollah"
    for row in rows_of(built_store, "cq02"):  # the evidence is the article's text at the offsets given
        begin, end = int(row["begin"].value), int(row["end"].value)
        assert text[begin:end] == row["quote"].value
    assert iris.ID + "quds-force" in {r["part"].value for r in rows_of(built_store, "cq05")}  # "the Guards' Quds Force"
    gifts = rows_of(built_store, "cq07")
    assert any(r["objectLabel"] is not None and "Koran" in r["objectLabel"].value for r in gifts)
    loans = rows_of(built_store, "cq08")
    assert [(float(r["amount"].value), r["currency"].value) for r in loans] == [(5e9, "USD")]  # "a $5 billion loan"
    assert "Pariah Status" in {r["text"].value for r in rows_of(built_store, "cq10")}  # a section heading


def test_accepted_contributions_query_finds_an_accepted_contribution(built_store):
    """CQ12 on a copy of the dataset with a contribution accepted the way the server records it."""
    from server.graph import provenance
    from server.store.writes import write_request

    store = ox.Store()
    store.extend(built_store.quads_for_pattern(None, None, None, None))
    graph = iris.CONTRIBUTION + "test-accepted"
    store.extend(provenance.record_quads("test-accepted", contributor="alice", role="contributor", sha256="0" * 64,
                                         media_type="text/turtle", shapes="x", graphs=[graph], triples=1))
    store.extend(provenance.record_quads("test-pending", contributor="bob", role="contributor", sha256="1" * 64,
                                         media_type="text/turtle", shapes="x", graphs=[], triples=1))
    review, pending = provenance.review_quads("test-accepted", "accepted", reviewer="carol", role="maintainer",
                                              reason="quotes the article exactly")
    store.update(write_request(review, quads_to_remove=pending))     # what the server's store.write runs
    [path] = [p for p in QUERIES if expectation(p) == "contributions"]
    rows = ask(store, path)
    assert {row["contribution"].value for row in rows} == {graph}
    assert {row["reason"].value for row in rows} == {"quotes the article exactly"}


# ---------------------------------------------------------------------------------------------
# docs/ontology.md: the hierarchy section is generated from the ontology
# ---------------------------------------------------------------------------------------------

DOC_FILE = ROOT / "docs" / "ontology.md"
START, END = "<!-- hierarchy:start -->", "<!-- hierarchy:end -->"


def short(g: rdflib.Graph, term) -> str:
    """A prefixed name (or a union of them) for the docs."""
    if isinstance(term, rdflib.BNode):
        members = g.value(term, OWL.unionOf)
        return " ⊔ ".join(short(g, m) for m in rdflib.collection.Collection(g, members)) if members else "…"
    for prefix, ns in list(iris.PREFIXES.items()) + [("oa", "http://www.w3.org/ns/oa#")]:
        if str(term).startswith(ns):
            return f"{prefix}:{str(term)[len(ns):]}"
    return f"<{term}>"


def hierarchy_markdown(g: rdflib.Graph) -> str:
    classes = sorted(c for c in g.subjects(RDF.type, OWL.Class) if str(c).startswith(iris.ENT))
    lines = ["### Classes", "", "```"]

    def walk(cls, depth):
        outside = [short(g, s) for s in g.objects(cls, RDFS.subClassOf) if not str(s).startswith(iris.ENT)]
        lines.append("  " * depth + short(g, cls) + (f"  (⊑ {', '.join(sorted(outside))})" if outside else ""))
        for child in classes:
            if (child, RDFS.subClassOf, cls) in g:
                walk(child, depth + 1)

    for cls in classes:
        if not any(str(s).startswith(iris.ENT) for s in g.objects(cls, RDFS.subClassOf)):
            walk(cls, 0)
    lines += ["```", ""]
    for kind, title in ((OWL.ObjectProperty, "Object properties"), (OWL.DatatypeProperty, "Datatype properties"),
                        (OWL.AnnotationProperty, "Annotation properties")):
        lines += [f"### {title}", "", "| property | domain → range | characteristics | aligned with |", "|---|---|---|---|"]
        for p in sorted(x for x in g.subjects(RDF.type, kind) if str(x).startswith(iris.ENT)):
            domain = ", ".join(short(g, d) for d in g.objects(p, RDFS.domain)) or "—"
            range_ = ", ".join(short(g, r) for r in g.objects(p, RDFS.range)) or "—"
            traits = [name for t, name in ((OWL.SymmetricProperty, "symmetric"), (OWL.TransitiveProperty, "transitive"),
                                           (OWL.FunctionalProperty, "functional")) if (p, RDF.type, t) in g]
            traits += sorted("inverse of " + short(g, i) for i in set(g.objects(p, OWL.inverseOf)) | set(g.subjects(OWL.inverseOf, p)))
            aligned = sorted("⊑ " + short(g, s) for s in g.objects(p, RDFS.subPropertyOf))
            aligned += sorted("≈ " + short(g, s) for s in g.objects(p, SKOS.closeMatch))
            lines.append(f"| {short(g, p)} | {domain} → {range_} | {', '.join(traits)} | {', '.join(aligned)} |")
        lines.append("")
    individuals = sorted(i for i in g.subjects(RDF.type, OWL.NamedIndividual) if str(i).startswith(iris.ENT))
    lines += ["### Individuals", ""]
    lines += [f"- {short(g, i)} — {', '.join(sorted(short(g, t) for t in g.objects(i, RDF.type) if t != OWL.NamedIndividual))}: "
              f"{g.value(i, SKOS.definition)}" for i in individuals]
    return "\n".join(lines)


def generated_doc(g: rdflib.Graph) -> str:
    doc = DOC_FILE.read_text(encoding="utf-8")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{hierarchy_markdown(g)}\n{END}{tail}"


def test_docs_hierarchy_is_generated_from_the_current_ontology(onto):
    assert DOC_FILE.read_text(encoding="utf-8") == generated_doc(onto), \
        "docs/ontology.md is out of date: run `python tests/test_ontology.py` to regenerate its hierarchy"


if __name__ == "__main__":
    DOC_FILE.write_text(generated_doc(rdflib.Graph().parse(ONTOLOGY_FILE, format="turtle")), encoding="utf-8")
    print(f"rewrote the hierarchy in {DOC_FILE}")
