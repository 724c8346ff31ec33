"""Pages for people, over real HTTP against the running server: each page answers, shows what the
data holds (checked against SPARQL answers from the same server), marks attributed and hedged
statements, links Wikidata, highlights every evidence span, documents every ontology term, and
shows a literal holding `<script>` as text, never as markup. The tests run on the embedded store and on
Virtuoso (conftest.py), but for those marked EMBEDDED_ONLY."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import rdflib
import requests

import pagetools
from conftest import CONTRIBUTOR_TOKEN, EMBEDDED_ONLY, MAINTAINER_TOKEN
from pagetools import get_page, select
from server.graph import iris

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.backends("embedded", "virtuoso")]     # run on the embedded store and on Virtuoso (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
site = pytest.fixture(scope="module")(pagetools.page_server)


def page_url(site, iri: str) -> str:
    """The HTML twin of one of our IRIs on the test server."""
    path, _, frag = iris.to_public(iri, site.url).partition("#")
    return path + ".html" + ("#" + frag if frag else "")


def words(text: str) -> str:
    return " ".join(text.split())


def ld_json(page) -> list:
    blocks = page.find_all("script", type="application/ld+json")
    assert len(blocks) == 1
    return json.loads(blocks[0].text())


# --- every page ------------------------------------------------------------------------------------------

PAGES = ["/", "/id/bloomberg-iran-russia-2015.html", "/id/iran.html", "/ontology.html", "/sparql",
         "/claim/clerics-finance-hezbollah.html"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_licence_rdf_links_and_embedded_json_ld(site, path):
    response, page = get_page(site.url + path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert [a.attrs["href"] for a in page.find_all("link", rel="license")] == [LICENSE]
    footer = page.find_all("footer")[0]
    assert any(a.attrs.get("href") == LICENSE for a in footer.find_all("a"))

    turtle = [link.attrs["href"] for link in page.find_all("link", rel="alternate", type="text/turtle")]
    assert len(turtle) == 1
    document = requests.get(turtle[0], timeout=60)
    assert document.status_code == 200
    assert len(rdflib.Graph().parse(data=document.text, format="turtle")) > 0

    data = ld_json(page)
    graph = rdflib.Graph().parse(data=json.dumps(data), format="json-ld")
    assert len(graph) > 0
    if path.startswith(("/id/", "/claim/")):
        shown = iris.BASE + path[1:-len(".html")]
        assert rdflib.URIRef(shown) in set(graph.subjects()) | set(graph.objects())

    scripts = [s for s in page.find_all("script") if s.attrs.get("type") not in ("application/ld+json",
                                                                                 "application/json")]
    if path != "/sparql":   # only the query page needs JavaScript
        assert scripts == []


def test_home_page_says_what_this_is_and_links_everything(site):
    response, page = get_page(site.url + "/")
    assert response.status_code == 200
    hrefs = {a.attrs.get("href") for a in page.find_all("a")}
    for path in ["article", "ontology.html", "sparql", "picture.svg", "void.ttl", "contributions",
                 "dumps/entente.ttl", "dumps/entente.trig", "dumps/entente.nq", "dumps/entente.jsonld",
                 "dumps/entente.nt", "dumps/entente.rdf", "dumps/entente-rdf12.ttl"]:
        assert site.url + "/" + path in hrefs, path
    holds = {a.attrs.get("href").rsplit("/", 1)[-1]: li.text() for li in page.find_all("li")
             for a in li.find_all("a") if "/dumps/" in (a.attrs.get("href") or "")}
    assert "asserts flatly" in holds["entente.ttl"] and "not asserted" in holds["entente.nt"]
    assert "Every named graph" in holds["entente.trig"] and "RDF 1.2" in holds["entente-rdf12.ttl"]
    for path in ["article", "ontology.html", "sparql", "picture.svg", "void.ttl", "dumps/entente.nq"]:
        assert requests.get(site.url + "/" + path, headers={"Accept": pagetools.BROWSER_ACCEPT},
                            timeout=60).status_code == 200, path
    counts = {dt.text(): dd.text() for dt, dd in zip(page.find_all("dt"), page.find_all("dd"))}
    triples = requests.get(site.url + "/health", timeout=10).json()["triples"]
    assert int(counts["triples"].replace(",", "")) == triples
    claims = select(site.url, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a ent:Claim }")[0]["n"]
    assert int(counts["claims"].replace(",", "")) == int(claims)


def test_article_redirects_to_the_article_page(site):
    response = requests.get(site.url + "/article", allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert response.headers["Location"] == site.url + "/id/bloomberg-iran-russia-2015.html"


# --- resource pages ---------------------------------------------------------------------------------------

EVIDENCE = """SELECT DISTINCT ?c ?s ?quote ?b ?e ?who WHERE {
  ?c ent:modality ent:%s ; ent:assertedBy ?who ; ent:evidence ?span .
  ?span nif:beginIndex ?b ; nif:endIndex ?e ; nif:anchorOf ?quote .
  GRAPH ?c { ?s ?p ?o } FILTER(STRSTARTS(STR(?s), STR(id:)))
} ORDER BY ?c ?s ?b LIMIT 40"""

MARKS = {   # modality → what the evidence line must say, visibly ({who}: a label of the asserter)
    "ReportedClaim": "reported by {who}",
    "Hedged": "hedged",
    "DirectQuote": "quoted: {who}",
    "ArticleVoice": "the article says",
}
MARKS_ALL = {**MARKS, "IndirectSpeech": "said by {who} (paraphrased)"}


def labels_of(site, iri: str) -> set[str]:
    return {r["l"] for r in select(site.url, f"SELECT ?l WHERE {{ <{iri}> rdfs:label ?l }}")}


@pytest.mark.parametrize("modality", list(MARKS))
def test_resource_pages_show_each_statement_with_its_evidence_and_modality(site, modality):
    rows = select(site.url, EVIDENCE % modality)
    assert rows, f"the data holds no {modality} claim with an entity as subject"
    pages = {}
    for row in rows[:25]:
        if row["s"] not in pages:
            pages[row["s"]] = get_page(page_url(site, row["s"]))[1]
        page = pages[row["s"]]
        anchor = f"#span-{row['b']}-{row['e']}"
        lines = [li for li in page.find_all("li", cls="ev")
                 if any(a.attrs.get("href", "").endswith(anchor) for a in li.find_all("a", cls="to-article"))
                 and any(a.attrs.get("title") == row["c"] for a in li.find_all("a", cls="claim"))]
        assert lines, f"{row['s']}: no evidence line of {row['c']} links to {anchor}"
        texts = [words(li.text()) for li in lines]
        assert any(words(row["quote"]) in t for t in texts), (row["quote"], texts)
        expected = {MARKS[modality].format(who=w) for w in labels_of(site, row["who"])} or {MARKS[modality]}
        assert any(e in t for e in expected for t in texts), (expected, texts)
        assert all(f"modality-{modality}" in li.attrs["class"] for li in lines)
        for li in lines:
            href = next(a.attrs["href"] for a in li.find_all("a", cls="to-article"))
            assert href == site.url + "/id/bloomberg-iran-russia-2015.html" + anchor


def test_claim_page_shows_its_graph_its_evidence_and_who_asserts_it(site):
    claim = iris.CLAIM + "clerics-finance-hezbollah"
    triples = select(site.url, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{claim}> {{ ?s ?p ?o }} }}")
    meta = select(site.url, f"""SELECT ?quote ?b ?e ?who ?modality WHERE {{
        <{claim}> ent:evidence ?span ; ent:assertedBy ?who ; ent:modality ?modality .
        ?span nif:anchorOf ?quote ; nif:beginIndex ?b ; nif:endIndex ?e }}""")
    assert triples and meta
    _, page = get_page(page_url(site, claim))
    section = page.find_all("section", cls="graph-content")[0]
    assert len(section.find_all("ul", cls="facts-of-claim")[0].find_all("li")) == len(triples)
    text = words(section.text())
    assert words(meta[0]["quote"]) in text
    mark = MARKS_ALL[meta[0]["modality"].rsplit("#", 1)[1]]
    assert any(mark.format(who=label) in text for label in labels_of(site, meta[0]["who"]))
    hrefs = {a.attrs["href"] for a in section.find_all("a", cls="to-article")}
    assert f"{site.url}/id/bloomberg-iran-russia-2015.html#span-{meta[0]['b']}-{meta[0]['e']}" in hrefs


def test_resource_page_links_point_at_this_server(site):
    _, page = get_page(site.url + "/id/iran.html")
    ours = [a.attrs["href"] for a in page.find_all("a") if iris.BASE in a.attrs.get("href", "")]
    assert ours == []
    local = [a.attrs["href"] for a in page.find_all("a") if a.attrs.get("href", "").startswith(site.url + "/id/")]
    assert len(local) > 5
    for href in sorted(set(local))[:5]:
        assert requests.get(href, timeout=30).status_code == 200, href


@EMBEDDED_ONLY      # the URL mapping is the web layer's
def test_links_follow_the_public_url_when_one_is_set(site, make_server):
    dataset = Path(site.args[site.args.index("--dataset") + 1])
    public = "https://entente.example.org/kg"
    live = make_server(dataset, env={"ENTENTE_PUBLIC_URL": public})
    _, page = get_page(live.url + "/id/iran.html")
    hrefs = [a.attrs["href"] for a in page.find_all("a")]
    assert f"{public}/id/russia.html" in hrefs
    assert not [h for h in hrefs if h.startswith(live.url) or iris.BASE in h]
    assert page.find_all("link", rel="alternate", type="text/turtle")[0].attrs["href"] == f"{public}/id/iran.ttl"
    assert page.find_all("link", rel="stylesheet")[0].attrs["href"] == f"{public}/static/entente.css"


@EMBEDDED_ONLY      # ~40 entity pages; on Virtuoso the entity page's statements are checked above
def test_wikidata_links_are_shown_as_such(site):
    rows = select(site.url, "SELECT ?x ?wd WHERE { GRAPH graph:linkset\\/wikidata { ?x owl:sameAs ?wd } }"
                  .replace("graph:linkset\\/wikidata", f"<{iris.GRAPH_LINKSET}>"))
    assert len(rows) >= 10
    for row in rows:
        qid = row["wd"].rsplit("/", 1)[-1]
        _, page = get_page(page_url(site, row["x"]))
        links = [a for a in page.find_all("a", cls="wikidata") if a.attrs["href"] == f"https://www.wikidata.org/wiki/{qid}"]
        assert links, f"{row['x']}: no Wikidata link to {qid}"
        assert "Wikidata" in links[0].text()


def test_entity_page_embeds_the_picture_around_it(site):
    _, page = get_page(site.url + "/id/iran.html")
    objects = page.find_all("object", type="image/svg+xml")
    assert len(objects) == 1
    url = objects[0].attrs["data"]
    assert parse_qs(urlsplit(url).query)["about"] == [iris.ID + "iran"]
    svg = requests.get(url, timeout=60)
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert "Iran" in texts and "Russia" in texts


# --- the article page -------------------------------------------------------------------------------------

SPANS = """SELECT DISTINCT ?b ?e WHERE { ?c ent:evidence ?s .
  ?s nif:referenceContext id:bloomberg-iran-russia-2015 ; nif:beginIndex ?b ; nif:endIndex ?e }"""


def test_article_page_highlights_every_span_and_links_facts_both_ways(site):
    spans = {f"{r['b']}-{r['e']}" for r in select(site.url, SPANS)}
    assert len(spans) > 20
    _, page = get_page(site.url + "/id/bloomberg-iran-russia-2015.html")
    text = page.by_id("text")
    refs = text.find_all("a", cls="ref")
    assert len(refs) == len(spans)
    assert {a.attrs["data-span"] for a in refs} == spans
    anchors = [e.attrs["id"] for e in text.find_all("span", cls="anchor")]
    assert sorted(a for a in anchors if a.startswith("span-")) == sorted(f"span-{k}" for k in spans)
    sentences = select(site.url, "SELECT ?s WHERE { ?s a nif:Sentence ; nif:referenceContext id:bloomberg-iran-russia-2015 }")
    assert sorted(a for a in anchors if a.startswith("sentence-")) == sorted(
        "sentence-" + r["s"].rsplit("/", 1)[1] for r in sentences)
    for a in refs + text.find_all("a", cls="hl"):
        target = a.attrs["href"]
        assert target.startswith("#facts-") and page.by_id(target[1:]) is not None, target
    for key in spans:
        item = page.by_id(f"facts-{key}")
        assert item is not None and item.tag == "li"
        back = item.find_all("a", cls="back")
        assert [a.attrs["href"] for a in back] == [f"#span-{key}"]
        assert item.find_all("div", cls="claim"), f"span {key} lists no claim"
    # the highlighted words are the article's words at the span's offsets
    article = select(site.url, "SELECT ?t WHERE { id:bloomberg-iran-russia-2015 nif:isString ?t }")[0]["t"]
    highlighted = "".join(a.text() for a in text.find_all("a", cls="hl"))
    covered = set()
    for key in spans:
        b, e = map(int, key.split("-"))
        covered |= set(range(b, e))
    assert len(highlighted) == len(covered)
    assert highlighted == "".join(article[i] for i in sorted(covered))


def test_article_page_weighs_under_200_kb_with_every_claim_s_facts_once(site):
    response = requests.get(site.url + "/id/bloomberg-iran-russia-2015.html", headers={"Accept-Encoding": "identity"},
                            timeout=30)
    assert len(response.content) < 200_000, f"the article page is {len(response.content):,} bytes"
    _, page = get_page(site.url + "/id/bloomberg-iran-russia-2015.html")
    listed = [a.attrs["href"] for a in page.find_all("a", cls="claim-link")]
    with_facts = {a.attrs["href"] for li in page.find_all("li") if li.attrs.get("id", "").startswith("facts-")
                  for div in li.find_all("div", cls="claim") if div.find_all("ul", cls="facts-of-claim")
                  for a in div.find_all("a", cls="claim-link")}
    assert set(listed) == with_facts, "every claim's facts are listed once"


def test_links_only_to_this_server_wikidata_and_the_web():
    from server.web.pages import href

    base = "http://127.0.0.1:9/"
    assert href(iris.ID + "iran", base) == base + "id/iran.html"
    assert href(iris.ENT + "finances", base) == base + "ontology.html#finances"
    assert href("http://www.wikidata.org/entity/Q794", base) == "https://www.wikidata.org/wiki/Q794"
    assert href("http://www.wikidata.org/prop/direct/P710", base) == "https://www.wikidata.org/wiki/Property:P710"
    for hostile in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "urn:x:y", "vbscript:x"):
        assert href(hostile, base) is None


def test_crossing_and_nested_spans_each_get_one_anchor_one_marker_and_their_words():
    from server.graph.page_data import Sentence, Span
    from server.web.pages import paragraphs

    text = "Alpha beta gamma.\nDelta epsilon."
    spans = [Span("s1", 0, 10, "Alpha beta", None), Span("s2", 6, 16, "beta gamma", None),   # crossing
             Span("s3", 6, 10, "beta", None), Span("s4", 12, 21, "gamma.\nDe", None)]       # nested; over a line break
    spans.sort(key=lambda s: (s.begin, -s.end))
    quiet = [Sentence("q", 2, 18, 32, "nothing happens")]
    paras = paragraphs(text, spans, quiet)
    assert len(paras) == 2
    pieces = [p for para in paras for p in para]
    assert sorted(p.span for p in pieces if p.kind == "anchor") == sorted(s.key for s in spans)
    assert sorted(p.span for p in pieces if p.kind == "ref") == sorted(s.key for s in spans)
    assert "".join(p.text for p in pieces if p.kind == "text") == text.replace("\n", "")
    covered = {p.text: (p.span, p.depth) for p in pieces if p.kind == "text"}
    assert covered["beta"] == ("6-10", 3)            # innermost of the three spans over "beta"
    assert covered["Alpha "] == ("0-10", 1)
    for s in spans:   # the anchor comes before the span's words, the marker after them
        order = [i for i, p in enumerate(pieces) if p.span == s.key and p.kind in ("anchor", "ref")]
        assert pieces[order[0]].kind == "anchor" and pieces[order[-1]].kind == "ref"
    assert any(p.no_facts and "nothing happens" in p.title for p in pieces)


def test_span_and_sentence_pages_link_to_their_place_in_the_article(site):
    span = select(site.url, "SELECT ?s ?b ?e WHERE { ?c ent:evidence ?s . ?s nif:beginIndex ?b ; nif:endIndex ?e } "
                            "ORDER BY DESC(?b) LIMIT 1")[0]
    _, article = get_page(site.url + "/id/bloomberg-iran-russia-2015.html")
    for iri, anchor in [(span["s"], f"span-{span['b']}-{span['e']}"), (iris.SENTENCE + "2", "sentence-2")]:
        _, page = get_page(page_url(site, iri))
        links = [a.attrs["href"] for a in page.find_all("a", cls="to-article")]
        assert f"{site.url}/id/bloomberg-iran-russia-2015.html#{anchor}" in links, iri
        assert article.by_id(anchor) is not None


def test_article_page_shows_sentences_without_facts_with_their_reason(site):
    rows = select(site.url, """SELECT ?s ?reason WHERE { ?s a nif:Sentence ; ent:noFactsReason ?reason }""")
    assert rows
    _, page = get_page(site.url + "/id/bloomberg-iran-russia-2015.html")
    listed = words(page.find_all("section", cls="quiet")[0].text())
    for row in rows:
        assert words(row["reason"]) in listed


# --- the ontology page ------------------------------------------------------------------------------------

TERMS = """SELECT ?t ?kind WHERE { GRAPH <%s> { ?t a ?kind }
  VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty }
  FILTER(STRSTARTS(STR(?t), STR(ent:))) }""" % iris.GRAPH_ONTOLOGY


def test_ontology_page_documents_every_class_and_property(site):
    rows = select(site.url, TERMS)
    classes = {r["t"] for r in rows if r["kind"].endswith("Class")}
    assert len(classes) >= 30
    _, page = get_page(site.url + "/ontology.html")
    for row in rows:
        local = row["t"].split("#", 1)[1]
        section = page.by_id(local)
        assert section is not None and section.tag == "section", row["t"]
        labels = labels_of(site, row["t"])
        assert not labels or any(words(l) in words(section.text()) for l in labels), row["t"]
    sections = [s for s in page.by_id("classes").find_all("section", cls="term")]
    assert {s.attrs["id"] for s in sections} == {c.split("#", 1)[1] for c in classes}
    hierarchy = page.by_id("hierarchy")
    assert {a.attrs["href"][1:] for a in hierarchy.find_all("a")} == {c.split("#", 1)[1] for c in classes}


def test_ontology_page_shows_wikidata_alignments(site):
    rows = select(site.url, """SELECT ?t ?wd WHERE { GRAPH <%s> { ?t ?p ?wd ; a ?kind }
      VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty }
      FILTER(STRSTARTS(STR(?t), STR(ent:)) && STRSTARTS(STR(?wd), "http://www.wikidata.org/")) }""" % iris.GRAPH_ONTOLOGY)
    assert rows
    _, page = get_page(site.url + "/ontology.html")
    for row in rows:
        wid = row["wd"].rsplit("/", 1)[-1]
        section = page.by_id(row["t"].split("#", 1)[1])
        assert any(wid in a.attrs["href"] for a in section.find_all("a", cls="wikidata")), row


def test_ontology_page_lists_the_competency_questions_with_links_to_the_query_page(site):
    files = sorted((ROOT / "docs" / "competency").glob("*.rq"))
    assert len(files) >= 5
    _, page = get_page(site.url + "/ontology.html")
    section = page.by_id("competency-questions")
    opens = [a.attrs["href"] for a in section.find_all("a", cls="open-query")]
    assert opens == [f"{site.url}/sparql?example={f.stem}" for f in files]
    response, query_page = get_page(opens[0])
    assert response.status_code == 200
    config = json.loads(query_page.by_id("entente-config").text())
    assert config["chosen"] == files[0].stem
    assert [e["query"] for e in config["examples"]] == [f.read_text(encoding="utf-8") for f in files]


# --- the query page ---------------------------------------------------------------------------------------

def test_query_page_serves_yasgui_from_this_server(site):
    response, page = get_page(site.url + "/sparql")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    sources = [s.attrs["src"] for s in page.find_all("script") if s.attrs.get("src")]
    assert site.url + "/static/vendor/yasgui/yasgui.min.js" in sources and site.url + "/static/query.js" in sources
    for src in sources + [l.attrs["href"] for l in page.find_all("link", rel="stylesheet")]:
        assert src.startswith(site.url + "/static/"), f"{src} is not served by this server"
        assert requests.get(src, timeout=30).status_code == 200, src
    config = json.loads(page.by_id("entente-config").text())
    assert config["endpoint"] == site.url + "/sparql"
    assert page.find_all("form", cls="plain-query"), "no form for browsers without JavaScript"


# --- graph pictures ---------------------------------------------------------------------------------------

def test_whole_article_picture_is_svg_with_styled_edges_and_legend(site):
    response = requests.get(site.url + "/picture.svg", timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    svg = "{http://www.w3.org/2000/svg}"
    texts = " ".join(t.text or "" for t in root.iter(svg + "text"))
    for words_ in ["who asserts it", "the article says", "hedged", "Iran", "Russia"]:
        assert words_ in texts
    dashes = {p.get("stroke-dasharray") for p in root.iter(svg + "path")}
    assert "5,2" in dashes                          # dashed: quoted or reported
    links = [a.get("{http://www.w3.org/1999/xlink}href") for a in root.iter(svg + "a")]
    assert links and all(l.startswith(site.url + "/") for l in links)
    assert "script" not in response.headers.get("Content-Security-Policy", "script")


def test_picture_refuses_iris_that_are_not_ours(site):
    response = requests.get(site.url + "/picture.svg", params={"about": "http://example.org/x"}, timeout=30)
    assert response.status_code == 400
    assert "about" in response.text


# --- escaping ---------------------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = "</script><script>window.__entente_xss = 1</script>"
COMMENT = "<img src=x onerror=\"window.__entente_xss = 2\"> & more"


def insert_hostile_literals(live) -> str:
    """Add two entities with hostile labels (as a contributor might), with claim metadata; → span key."""
    span = select(live.url, "SELECT ?s ?b ?e WHERE { ?c ent:evidence ?s . ?s nif:beginIndex ?b ; nif:endIndex ?e } "
                            "ORDER BY ?b LIMIT 1")[0]
    claim = iris.CLAIM + "xss-test"

    def lit(text):
        return json.dumps(text)

    update = f"""PREFIX ent: <{iris.ENT}> PREFIX id: <{iris.ID}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    INSERT DATA {{
      GRAPH <{claim}> {{
        id:xss-one a ent:Organization ; rdfs:label {lit(SCRIPT)}@en ; rdfs:comment {lit(COMMENT)}@en ;
          ent:allyOf id:iran .
        id:xss-two a ent:Organization ; rdfs:label {lit(BREAKOUT)}@en ; ent:opposes id:iran .
      }}
      GRAPH <{iris.GRAPH_CLAIMS}> {{
        <{claim}> a ent:Claim ; ent:modality ent:ReportedClaim ; ent:assertedBy id:xss-two ;
          ent:reportedIn id:bloomberg-iran-russia-2015 ; ent:evidence <{span['s']}> .
      }}
    }}"""
    response = requests.post(live.url + "/sparql", data={"update": update},
                             headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"}, timeout=60)
    assert response.status_code in (200, 204), response.text
    return f"{span['b']}-{span['e']}"


@pytest.fixture(scope="module")
def hostile(site, tmp_path_factory):
    """A writable server holding the same data plus literals that try to break out of the HTML."""
    from conftest import LiveServer

    args = site.args
    dataset = Path(args[args.index("--dataset") + 1])
    live = LiveServer(tmp_path_factory.mktemp("hostile") / "store", dataset).start()
    for _ in range(4):      # draw (and cache, in each worker) the picture before the write: it must be redrawn
        before = requests.get(live.url + "/picture.svg", params={"about": iris.ID + "iran"}, timeout=60)
        assert before.status_code == 200 and "xss" not in before.text
    key = insert_hostile_literals(live)
    contribute(live, CONTRIBUTION)
    yield live, key
    live.stop()


CONTRIBUTION = ROOT / "tests" / "data" / "contributions" / "good-katz-friendly.trig"


def contributed_span() -> tuple[str, int, int, str, str, str]:
    """(quote, begin, end, modality name, asserter, subject of its fact) of the first claim in the
    example contribution."""
    ds = rdflib.Dataset()
    ds.parse(CONTRIBUTION, format="trig", publicID=iris.CONTRIBUTION + "x")
    nif, ent = rdflib.Namespace(iris.PREFIXES["nif"]), rdflib.Namespace(iris.ENT)
    for claim, _, span in ds.triples((None, ent.evidence, None)):
        return (str(ds.value(span, nif.anchorOf)), int(ds.value(span, nif.beginIndex)),
                int(ds.value(span, nif.endIndex)), str(ds.value(claim, ent.modality)).rsplit("#", 1)[1],
                str(ds.value(claim, ent.assertedBy)), str(next(iter(ds.graph(claim)))[0]))
    raise AssertionError("the example contribution has no claim with evidence")


def contribute(live, path: Path) -> str:
    """Send a contribution as a contributor and accept it as a maintainer; → the contribution's IRI."""
    sent = requests.post(live.url + "/contributions", data=path.read_bytes(), timeout=120,
                         headers={"Content-Type": "application/trig", "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"})
    assert sent.status_code == 201, sent.text
    accepted = requests.post(f"{live.url}/contributions/{sent.json()['id']}/accept", data={"reason": "checked"},
                             headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"}, timeout=120)
    assert accepted.status_code == 200, accepted.text
    return sent.json()["iri"]


@EMBEDDED_ONLY      # its own embedded server (escaping is the pages'; contributed literals: test_contributions.py)
def test_contributed_statements_are_marked_contributed(hostile):
    live, _ = hostile
    _, home = get_page(live.url + "/")
    counts = {dt.text(): dd.text() for dt, dd in zip(home.find_all("dt"), home.find_all("dd"))}
    assert counts["accepted contributions"] == "1"
    quote, begin, end, modality, who, subject = contributed_span()
    anchor = f"#span-{begin}-{end}"
    _, page = get_page(page_url(live, subject))
    lines = [li for li in page.find_all("li", cls="ev") if quote in li.text()
             and any(a.attrs["href"].endswith(anchor) for a in li.find_all("a", cls="to-article"))]
    contributed = [li for li in lines if li.find_all("a", cls="contributed")]
    assert contributed, [words(li.text()) for li in lines]
    assert any(MARKS_ALL[modality].format(who=label) in words(contributed[0].text())
               for label in labels_of(live, who))
    badge = contributed[0].find_all("a", cls="contributed")[0]
    assert badge.attrs["href"].startswith(live.url + "/contribution/")
    # the article page lists the contributed claim under the same words, once
    spans = {f"{r['b']}-{r['e']}" for r in select(live.url, SPANS)}
    _, article = get_page(live.url + "/id/bloomberg-iran-russia-2015.html")
    assert len(article.by_id("text").find_all("a", cls="ref")) == len(spans)
    item = article.by_id(f"facts-{begin}-{end}")
    assert item.find_all("a", cls="contributed")


HOSTILE_PAGES = {   # page → the hostile literals it shows
    "/id/xss-one.html": (SCRIPT, COMMENT),
    "/id/xss-two.html": (BREAKOUT,),
    "/id/iran.html": (SCRIPT, BREAKOUT),
    "/id/bloomberg-iran-russia-2015.html": (SCRIPT, BREAKOUT),
}


@EMBEDDED_ONLY      # its own embedded server (escaping is the pages'; contributed literals: test_contributions.py)
@pytest.mark.parametrize("path,literals", HOSTILE_PAGES.items())
def test_literals_holding_markup_are_shown_as_text(hostile, path, literals):
    live, _ = hostile
    response, page = get_page(live.url + path)
    assert response.status_code == 200
    raw = response.text
    for literal in (SCRIPT, BREAKOUT, COMMENT):
        assert literal not in raw
    assert "<img" not in raw
    # every <script> element on the page is one we put there: the JSON-LD block only
    assert len(re.findall(r"<script\b", raw, re.I)) == len(page.find_all("script")) == 1
    shown = page.find_all("main")[0].text()
    for literal in literals:
        assert literal in shown
    if not path.endswith("2015.html"):       # the JSON-LD block holds the literals, intact
        embedded = json.dumps(ld_json(page), ensure_ascii=False)
        assert all(json.dumps(literal, ensure_ascii=False)[1:-1] in embedded for literal in literals)


@EMBEDDED_ONLY      # its own embedded server (escaping is the pages'; contributed literals: test_contributions.py)
def test_hostile_label_in_the_picture_is_escaped(hostile):
    live, _ = hostile
    response = requests.get(live.url + "/picture.svg", params={"about": iris.ID + "iran"}, timeout=60)
    assert response.status_code == 200
    assert "<script" not in response.text
    root = ET.fromstring(response.content)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert SCRIPT in texts and BREAKOUT in texts


@EMBEDDED_ONLY      # its own embedded server (escaping is the pages'; contributed literals: test_contributions.py)
@pytest.mark.browser
def test_no_script_in_a_literal_runs_in_chromium(hostile):
    from playwright.sync_api import sync_playwright

    from test_browser import launch

    live, _ = hostile
    dialogs = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path, literals in HOSTILE_PAGES.items():
            page.goto(live.url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("typeof window.__entente_xss") == "undefined", path
            text = page.locator("main").inner_text()
            assert all(literal in text for literal in literals), path
        browser.close()
    assert dialogs == []
