"""Canonical names (data/names.trig): every entity has one preferred name, which is its rdfs:label,
taken from a reference work where one names it (with the passage recorded) and kept apart from the
article's surface forms, which stay in the claims with their evidence. Any of the names finds the
entity, in SPARQL and on the pages (real server over HTTP)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import rdflib
import requests
from rdflib import RDF, RDFS, SKOS, Namespace, URIRef

from pagetools import get_page

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
ENT = Namespace("https://w3id.org/entente/ontology#")
ID = "https://w3id.org/entente/id/"
DCT = Namespace("http://purl.org/dc/terms/")
NM = "https://w3id.org/entente/graph/names#"
NAMES = URIRef("https://w3id.org/entente/graph/names")
ARTICLE = URIRef(ID + "bloomberg-iran-russia-2015")

# Preferred names that differ from every form the article uses, and why: a reference work or the
# verified Wikidata label names the thing so ("Syria's opposition" → "Syrian opposition").
EXPECTED = {
    "islamic-revolutionary-guard-corps": ("Islamic Revolutionary Guard Corps", {"IRGC", "Revolutionary Guards"}),
    "syrian-opposition": ("Syrian opposition", {"Syria’s opposition"}),
    "iran-nuclear-deal": ("Joint Comprehensive Plan of Action", {"JCPOA", "Iran nuclear deal", "nuclear deal"}),
    "islamic-state": ("Islamic State", {"ISIS", "ISIL", "Daesh"}),
    "fars-news-agency": ("Fars News Agency", {"FNA", "Fars news agency"}),
    "qassem-soleimani": ("Qasem Soleimani", {"Qassem Soleimani"}),
    "sergei-lavrov": ("Sergey Lavrov", {"Sergei Lavrov"}),
    "associated-press": ("Associated Press", {"AP"}),
    "syrian-civil-war": ("Syrian Civil War", {"Syria’s war"}),
}
# Posts the article names by a phrase only, named by Entente (reviewed, nm:editorial).
EDITORIAL = {"commander-of-the-islamic-revolutionary-guard-corps"}


@pytest.fixture(scope="module")
def ds(data_sources) -> rdflib.Dataset:
    return data_sources


@pytest.fixture(scope="module")
def union(ds) -> rdflib.Graph:
    g = rdflib.Graph()
    for q in ds.quads((None, None, None, None)):
        g.add(q[:3])
    g.parse(ROOT / "seeds" / "metadata.ttl")
    return g


@pytest.fixture(scope="module")
def surface(ds) -> dict[URIRef, set[str]]:
    """The article's forms of each entity's name: labels in the claim graphs."""
    forms: dict[URIRef, set[str]] = {}
    for s, p, o, g in ds.quads((None, None, None, None)):
        if p in (RDFS.label, SKOS.altLabel) and str(g).startswith("https://w3id.org/entente/claim/"):
            forms.setdefault(s, set()).add(str(o))
    return forms


def entities(union) -> set[URIRef]:
    return {s for s in union.subjects() if isinstance(s, URIRef) and str(s).startswith(ID)} - {ARTICLE}


def test_every_entity_has_one_preferred_name_which_is_its_label(ds, union):
    names = ds.graph(NAMES)
    found = entities(union)
    assert len(found) > 150
    for x in found:
        preferred = list(names.objects(x, SKOS.prefLabel))
        assert len(preferred) == 1 and preferred[0].language == "en", \
            f"{x}: no preferred name in data/names.trig (`python scripts/names.py missing` prints the line to add)"
        assert set(union.objects(x, RDFS.label)) == set(preferred), f"{x}: rdfs:label is not the preferred name"
        assert preferred[0] not in set(union.objects(x, SKOS.altLabel)), f"{x}: preferred name also an altLabel"
        assert names.value(x, ENT.nameSource) is not None, x
    for s, p, o, g in ds.quads((None, SKOS.prefLabel, None, None)):
        assert g == NAMES, f"{s} has a preferred name outside graph:names"


def test_reference_names_and_their_sources(ds, union, surface):
    names = ds.graph(NAMES)
    for slug, (preferred, others) in EXPECTED.items():
        x = URIRef(ID + slug)
        assert str(names.value(x, SKOS.prefLabel)) == preferred, slug
        assert others <= {str(a) for a in union.objects(x, SKOS.altLabel)}, slug
        source = names.value(x, ENT.nameSource)
        if (source, RDF.type, ENT.LinkVerification) in union:     # the verified Wikidata label
            assert str(union.value(source, ENT.wikidataLabel)) == preferred
        else:
            assert str(source).startswith(NM + slug)
            assert str(preferred) in str(names.value(source, ENT.verificationQuote))
            assert str(names.value(source, DCT.source)).startswith("http")


def test_names_not_in_the_article_all_have_a_source(ds, union, surface):
    """A preferred name the article never uses is a reference work's (quoted), a Wikidata label
    (verified link) or, for the reviewed posts only, Entente's description."""
    names = ds.graph(NAMES)
    editorial = set()
    checked = 0
    for x in entities(union):
        preferred = str(names.value(x, SKOS.prefLabel))
        source = names.value(x, ENT.nameSource)
        if preferred in surface.get(x, set()) or str(source) == NM + "article":
            assert preferred in surface.get(x, set()) or x not in surface, x
            continue
        checked += 1
        if str(source) == NM + "editorial":
            editorial.add(str(x)[len(ID):])
        elif (source, RDF.type, ENT.LinkVerification) in union:
            assert str(union.value(source, ENT.wikidataLabel)) == preferred, x
        else:
            quote = str(names.value(source, ENT.verificationQuote))
            assert preferred in quote, x
            for alt in names.objects(x, SKOS.altLabel):   # abbreviations come from the same passage
                assert str(alt) in quote or str(alt) in surface.get(x, set()) or \
                    (x, SKOS.altLabel, alt) in union, x
    assert editorial == EDITORIAL
    assert checked >= 15


def test_names_a_reference_work_gives_are_in_its_quoted_passage(ds):
    """Every name and abbreviation taken from a reference page (nm:<slug>) is in the passage recorded."""
    names = ds.graph(NAMES)
    checked = 0
    for x, source in names.subject_objects(ENT.nameSource):
        quote = names.value(source, ENT.verificationQuote)
        if not str(source).startswith(NM) or quote is None:
            continue
        for name in list(names.objects(x, SKOS.prefLabel)) + list(names.objects(x, SKOS.altLabel)):
            checked += 1
            assert str(name) in str(quote), (x, str(name))
    assert checked >= 20


def test_article_surface_forms_stay_with_their_evidence(ds, surface):
    """"Revolutionary Guards" is the article's: it stays in the entity's claim, whose evidence quotes it."""
    claims = ds.graph(URIRef("https://w3id.org/entente/graph/claims"))
    nif = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
    for slug, form in [("islamic-revolutionary-guard-corps", "Revolutionary Guards"),
                       ("syrian-opposition", "Syria’s opposition"), ("fars-news-agency", "Fars news agency")]:
        x = URIRef(ID + slug)
        holders = [g for s, p, o, g in ds.quads((x, SKOS.altLabel, rdflib.Literal(form, lang="en"), None))]
        assert holders and all(str(g).startswith("https://w3id.org/entente/claim/") for g in holders), slug
        quotes = {str(claims.value(s, nif.anchorOf)) for g in holders for s in claims.objects(g, ENT.evidence)}
        assert any(form.split("’")[0] in q for q in quotes), (slug, quotes)
        assert (x, SKOS.altLabel, rdflib.Literal(form, lang="en")) not in ds.graph(NAMES)


# ---- finding an entity by any of its names, on the real server ----

FIND = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?x WHERE {
  ?x rdfs:label|skos:prefLabel|skos:altLabel ?name .
  FILTER (LCASE(STR(?name)) = LCASE("%s"))
}"""


@pytest.mark.parametrize("name,slug", [
    ("Islamic Revolutionary Guard Corps", "islamic-revolutionary-guard-corps"), ("IRGC", "islamic-revolutionary-guard-corps"),
    ("Revolutionary Guards", "islamic-revolutionary-guard-corps"), ("Syrian opposition", "syrian-opposition"),
    ("Syria’s opposition", "syrian-opposition"), ("JCPOA", "iran-nuclear-deal"), ("nuclear deal", "iran-nuclear-deal"), ("ISIS", "islamic-state"),
    ("Sergey Lavrov", "sergei-lavrov"), ("Sergei Lavrov", "sergei-lavrov")])
def test_sparql_finds_the_entity_by_any_name(server, name, slug):
    r = requests.get(server.url + "/sparql", params={"query": FIND % name},
                     headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    found = {b["x"]["value"] for b in r.json()["results"]["bindings"]}
    assert found == {ID + slug}, (name, found)


def test_the_page_shows_the_preferred_name_and_the_others(server):
    response, page = get_page(server.url + "/id/islamic-revolutionary-guard-corps.html")
    assert response.status_code == 200
    assert "Islamic Revolutionary Guard Corps" in page.find_all("h1")[0].text()
    text = " ".join(page.text().split())
    for other in ("IRGC", "Revolutionary Guards"):
        assert other in text
    title = page.find_all("title")[0].text()
    assert "Islamic Revolutionary Guard Corps" in title


def test_the_picture_uses_the_preferred_names(server):
    r = requests.get(server.url + "/picture.svg", params={"about": ID + "quds-force"}, timeout=60)
    assert r.status_code == 200
    assert "Islamic Revolutionary Guard Corps" in r.text
    assert not re.search(r">Revolutionary Guards<", r.text)


@pytest.mark.parametrize("q,slug", [("IRGC", "islamic-revolutionary-guard-corps"),
                                    ("revolutionary guards", "islamic-revolutionary-guard-corps"),
                                    ("Islamic Revolutionary Guard Corps", "islamic-revolutionary-guard-corps"),
                                    ("Syria’s opposition", "syrian-opposition"), ("Syrian opposition", "syrian-opposition"),
                                    ("JCPOA", "iran-nuclear-deal")])
def test_the_search_page_finds_the_entity_by_any_name(server, q, slug):
    response, page = get_page(server.url + "/search?" + urlencode({"q": q}))
    assert response.status_code == 200
    hrefs = [a.attrs.get("href") for li in page.find_all("li", cls="exact") for a in li.find_all("a")]
    assert hrefs and hrefs[0].endswith(f"/id/{slug}.html"), (q, hrefs)


def test_the_search_page_is_safe_with_any_text(server):
    for q in ['"} } SELECT * WHERE { ?s ?p ?o', "back\\slash \" quote", "<script>alert(1)</script>", "ñ 東京"]:
        response, page = get_page(server.url + "/search?" + urlencode({"q": q}))
        assert response.status_code == 200, (q, response.text[:200])
        assert "<script>alert(1)</script>" not in response.text
        assert not page.find_all("li", cls="exact")
    r = requests.get(server.url + "/search", params={"q": "x" * 201}, timeout=30)
    assert r.status_code == 400 and "'q'" in r.text
    response, page = get_page(server.url + "/search")
    assert response.status_code == 200 and page.find_all("form", role="search")


def test_names_script_finds_no_entity_without_a_name():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "scripts/names.py", "missing"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "", result.stdout[:500]
    assert "0 entities without a preferred name" in result.stderr
