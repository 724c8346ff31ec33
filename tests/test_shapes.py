"""Every shape rejects bad data: one small bad dataset per rule under tests/data/shapes/.

Each file says what it breaks in its first comment and what the report must contain in
`# expect: <focus node> <path or -> <shape>` lines (prefixed names from server/graph/iris.py, plus
`shapes:`); the shape matches the named node shape, the source shape or the source constraint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, SH

from server.graph import iris, validation

DATA = Path(__file__).parent / "data" / "shapes"
PREFIXES = {**iris.PREFIXES, "shapes": validation.SHAPES}
BAD = sorted(p for p in DATA.glob("*.trig") if not p.stem.startswith("good"))


def expand(name: str):
    name = name.replace("\\", "")
    if name == "-":
        return None
    if name.startswith("<") and name.endswith(">"):
        return rdflib.URIRef(name[1:-1])
    prefix, local = name.split(":", 1)
    return rdflib.URIRef(PREFIXES[prefix] + local)


def expectations(path: Path) -> list[tuple]:
    lines = [line[len("# expect:"):].split() for line in path.read_text().splitlines() if line.startswith("# expect:")]
    return [tuple(expand(part) for part in line) for line in lines]


def load(path: Path) -> rdflib.Dataset:
    ds = rdflib.Dataset()
    ds.parse(path, format="trig")
    return ds


def test_good_dataset_conforms():
    report = validation.validate(load(DATA / "good.trig"))
    assert report.conforms, report.to_text()
    assert report.checked > 0


def test_a_wikidata_link_with_its_verification_may_be_contributed():
    """A named graph holding only owl:sameAs links and their verification records needs no claim."""
    report = validation.validate(load(DATA / "good-link.trig"))
    assert report.conforms, report.to_text()


def test_a_plain_graph_of_bare_facts_is_rejected():
    g = rdflib.Graph()
    g.add((rdflib.URIRef(iris.ID + "iran"), rdflib.URIRef(iris.ENT + "finances"), rdflib.URIRef(iris.ID + "hezbollah")))
    report = validation.validate(g)
    assert not report.conforms
    assert [r.source_shape for r in report.violations] == [validation.CLAIM_GRAPH_RULE]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_dataset_is_rejected(path):
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with_ontology = path.stem != "ontology-no-version"  # that file brings its own (broken) ontology header
    report = validation.validate(load(path), with_ontology=with_ontology)
    assert not report.conforms, f"{path.name} was accepted:\n{report.to_text()}"
    for focus, result_path, shape in expected:
        matches = [r for r in report.results
                   if r.focus_node == focus and (result_path is None or r.result_path == result_path)
                   and shape in (r.shape, r.source_shape, r.constraint)]
        assert matches, f"{path.name}: no result for {focus} {result_path} {shape}:\n{report.to_text()}"
        assert all(r.severity == SH.Violation for r in matches)


def test_every_named_shape_has_a_negative_test():
    shapes = validation.load_shapes()
    named = {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, rdflib.URIRef)}
    named |= {s for s in shapes.subjects(RDF.type, SH.SPARQLConstraint) if isinstance(s, rdflib.URIRef)}
    named.add(validation.CLAIM_GRAPH_RULE)
    tested = {e[2] for p in BAD for e in expectations(p)}
    # TermUseShape's named SPARQL rules are tested through the shape that runs them.
    rules = {rdflib.URIRef(validation.SHAPES + n) for n in
             ("DeclaredPropertyRule", "DeclaredClassRule", "RangeRule", "DomainRule", "DatatypeRangeRule")}
    assert not (named - tested - rules), f"shapes without a negative test: {sorted(named - tested - rules)}"


def test_term_use_rules_each_fire():
    """The five generic rules of TermUseShape each reject their own bad file."""
    cases = {"undeclared-property": "DeclaredPropertyRule", "undeclared-class": "DeclaredClassRule",
             "range-violation": "RangeRule", "domain-violation": "DomainRule",
             "datatype-violation": "DatatypeRangeRule"}
    for stem, rule in cases.items():
        report = validation.validate(load(DATA / f"{stem}.trig"))
        assert rdflib.URIRef(validation.SHAPES + rule) in {r.constraint for r in report.results}, stem


def test_uniquelang_is_a_warning_not_a_violation():
    ds = load(DATA / "good.trig")
    ds.graph(rdflib.URIRef(iris.CLAIM + "t-loan")).add(
        (rdflib.URIRef(iris.ID + "iran"), rdflib.RDFS.label, rdflib.Literal("Persia", lang="en")))
    report = validation.validate(ds)
    assert report.conforms
    assert [r.severity for r in report.results] == [SH.Warning]


def test_a_claim_without_qualifiers_gets_three_warnings_not_a_rejection():
    """Polarity, certainty and time reference are asked for (every claim of the article has them) but a
    contribution that leaves them out is only warned, one warning per missing qualifier."""
    ds = load(DATA / "good.trig")
    claims = ds.graph(rdflib.URIRef(iris.GRAPH_CLAIMS))
    claim = rdflib.URIRef(iris.CLAIM + "t-loan")
    for name in ("polarity", "certainty", "timeReference"):
        claims.remove((claim, rdflib.URIRef(iris.ENT + name), None))
    report = validation.validate(ds)
    assert report.conforms
    assert sorted(str(r.result_path).rsplit("#", 1)[-1] for r in report.results) == ["certainty", "polarity", "timeReference"]
    assert {r.severity for r in report.results} == {SH.Warning}


def test_contribution_citing_the_article_is_checked_against_the_seed_text():
    """validate() adds the article text, so a quote at wrong offsets is caught without graph:article."""
    good = validation.parse_file(Path(__file__).parent / "data" / "contributions" / "good-katz-friendly.trig")
    # relative IRIs resolve against the file; what matters is that it conforms
    assert validation.validate(good).conforms
    bad = rdflib.Dataset()
    bad.parse(data=(Path(__file__).parent / "data" / "contributions" / "good-katz-friendly.trig").read_text()
              .replace('"2392"', '"2393"').replace('"2422"', '"2423"'), format="trig",
              publicID="https://w3id.org/entente/contribution/test")
    report = validation.validate(bad)
    assert not report.conforms
    assert any(r.constraint == rdflib.URIRef(validation.SHAPES + "EvidenceRule") for r in report.results)


def test_report_formats():
    report = validation.validate(load(DATA / "claim-no-modality.trig"))
    data = report.to_json()
    assert data["conforms"] is False and data["results"]
    assert set(data["results"][0]) >= {"focusNode", "resultPath", "value", "message", "severity", "sourceShape"}
    graph = report.to_graph()
    node = next(graph.subjects(RDF.type, SH.ValidationReport))
    assert graph.value(node, SH.conforms) == rdflib.Literal(False)
    text = report.to_text()
    assert "claim:t-x ent:modality" in text and "[shapes:ClaimShape]" in text
    assert text.splitlines()[-1].startswith("SHACL: does NOT conform")


def test_the_real_sources_conform():
    from server.graph import build

    report = validation.validate(build.load_sources())
    assert report.conforms, report.to_text()
    assert report.checked > 300


def test_subclasses_count_with_the_ontology():
    """ObjectPropertyValuesShape targets ent:Agent; a ent:SovereignState meets it only through the
    ontology's rdfs:subClassOf, which with_ontology=True mixes in."""
    ds = load(DATA / "relation-to-literal.trig")
    shape = rdflib.URIRef(validation.SHAPES + "ObjectPropertyValuesShape")
    assert shape in {r.shape for r in validation.validate(ds).results}
    assert shape not in {r.shape for r in validation.validate(ds, with_ontology=False).results}


def test_evidence_rule_counts_code_points_beyond_the_bmp():
    """SUBSTR and STRLEN count code points in rdflib (Python strings), as NIF offsets do, even for
    characters outside the Basic Multilingual Plane (two UTF-16 units each)."""
    ds = load(DATA / "good.trig")
    text = "\U0001F600\U0001F600 Vladimir Putin"  # the quote starts at code point 3
    nif = rdflib.Namespace(iris.PREFIXES["nif"])
    claims = ds.graph(rdflib.URIRef(iris.GRAPH_CLAIMS))
    span = rdflib.URIRef(iris.SPAN + "347-361")
    for p, value in ((nif.beginIndex, 3), (nif.endIndex, 17)):
        claims.remove((span, p, None))
        claims.add((span, p, rdflib.Literal(value, datatype=rdflib.XSD.nonNegativeInteger)))
    report = validation.validate(ds, article_text=text)
    evidence = [r for r in report.results if r.shape == rdflib.URIRef(validation.SHAPES + "EvidenceRule")]
    assert not evidence, report.to_text()
    claims.set((span, nif.anchorOf, rdflib.Literal("ladimir Putin")))
    report = validation.validate(ds, article_text=text)
    assert any(r.shape == rdflib.URIRef(validation.SHAPES + "EvidenceRule") for r in report.results)


def test_what_the_server_serves_conforms(server):
    """The store canonicalises literals (integer subtypes become xsd:integer): the served dump must
    still conform, so that a user can check what we publish, and send parts of it back."""
    import requests

    r = requests.get(server.url + "/dumps/entente.nq", timeout=60)
    assert r.status_code == 200
    ds = rdflib.Dataset()
    ds.parse(data=r.text, format="nquads")
    assert len(ds) > 0 or sum(1 for _ in ds.quads()) > 1000
    report = validation.validate(ds)
    assert report.checked > 500
    assert report.conforms, report.to_text()
