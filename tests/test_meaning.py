"""What the built dataset means, asked the way a researcher asks it: flat facts vs hedged, denied and
prospective statements (docs/competency/cq23-26), on the real build (pyoxigraph, union default graph)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from server.graph import iris

ROOT = Path(__file__).resolve().parent.parent
COMPETENCY = ROOT / "docs" / "competency"
ID, ENT = iris.ID, iris.ENT


@pytest.fixture(scope="module")
def store(built_dataset) -> ox.Store:
    s = ox.Store()
    s.load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    return s


def ask(store: ox.Store, stem: str) -> list[dict]:
    [path] = COMPETENCY.glob(stem + "-*.rq")
    rows = store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    names = [v.value for v in rows.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in rows]


def triples(rows) -> set[tuple]:
    return {(r["s"], r["p"], r["o"]) for r in rows}


def test_flat_facts_hold_what_the_article_states_and_nothing_hedged_denied_or_to_come(store):
    rows = ask(store, "cq23")
    facts = triples(rows)
    assert (ID + "russian-loan-to-iran", ENT + "lender", ID + "russia") in facts          # s5
    assert (ID + "russia", ENT + "backs", ID + "iran") in facts                           # s9
    claims = {r["claim"] for r in rows}
    for slug in ("cash-and-technology-unlikely-in-russia",        # "Neither is likely": negated, probable
                 "iranian-and-hezbollah-losses-in-syria",          # "reportedly"
                 "putin-envisages-syria-without-assad",            # "speculation"
                 "new-york-talks-on-syria",                        # "will again be present"
                 "clerics-finance-hezbollah",                      # according to the reports
                 "russia-friendly-with-israel"):                   # Katz's words
        assert iris.CLAIM + slug not in claims, slug
    assert (ID + "hezbollah", ENT + "sufferedLossesIn", ID + "syrian-civil-war") not in facts


def test_every_hedged_statement_whoever_makes_it(store):
    rows = ask(store, "cq24")
    by_claim = {r["claim"]: r for r in rows}
    expect = {   # claim: (asserter, certainty)
        "jafari-russia-may-not-share-interest-in-assad": ("mohammad-ali-jafari", "Possible"),   # quoted "may not"
        "iran-not-worried-about-being-sold-out": ("afshon-ostovar", "Probable"),                # quoted "probably isn't"
        "russia-could-overtake-iran-in-syria": ("afshon-ostovar", "Possible"),                  # quoted "could"
        "iranian-and-hezbollah-losses-in-syria": ("bloomberg-news", "Probable"),                # "reportedly"
        "cash-and-technology-unlikely-in-russia": ("bloomberg-news", "Probable"),               # "likely"
        "several-countries-signal-assad-could-stay": ("several-countries", "Possible"),
    }
    for slug, (who, certainty) in expect.items():
        row = by_claim.get(iris.CLAIM + slug)
        assert row, slug
        assert row["certainty"] == ENT + certainty, slug
        assert row["asserter"] in (ID + who, iris.ARTICLE), slug
    assert {r["modality"] for r in rows} >= {ENT + "DirectQuote", ENT + "Hedged", ENT + "IndirectSpeech"}
    assert iris.CLAIM + "russian-loan-to-iran" not in by_claim


def test_what_is_denied(store):
    rows = ask(store, "cq25")
    denied = triples(rows)
    assert (ID + "cash-to-rebuild-the-iranian-economy", ENT + "availableIn", ID + "russia") in denied   # s17
    assert (ID + "russia", ENT + "betrays", ID + "iran") in denied                                     # s26
    assert (ID + "iran", ENT + "concernedAbout", ID + "iran-sold-out-at-the-negotiation-table") in denied  # s38
    assert (ID + "iran", ENT + "reliesOn", ID + "russia-upholding-iranian-interests") in denied        # s18
    assert {r["claim"] for r in rows} >= {iris.CLAIM + "lavrov-not-saying-assad-must-go-or-stay"}


def test_prospects_are_found_with_what_they_would_be(store):
    rows = ask(store, "cq26")
    kinds = {r["prospect"]: r["kind"] for r in rows}
    assert kinds[ID + "syrian-peace-deal"] == ENT + "Agreement"
    assert kinds[ID + "future-moscow-backed-administration-in-syria"] == ENT + "GovernmentBody"
    assert ID + "departure-of-bashar-al-assad" in kinds
    real = store.query("SELECT ?x WHERE { ?x a <%sAgreement> }" % ENT, use_default_graph_as_union=True)
    assert {r["x"].value for r in real} == {ID + "iran-nuclear-deal"}   # the one deal reached


# ---- query shapes that do not lose rows (docs/modelling.md, "Query shapes") ----

PROLOGUE = """PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX graph: <https://w3id.org/entente/graph/>
"""
# Every claim triple whose object is one of our things: the rows a labelled listing must keep.
CLAIM_TRIPLES = """GRAPH graph:claims { ?c a ent:Claim } GRAPH ?c { ?s ?p ?o }
  FILTER (STRSTARTS(STR(?s), "https://w3id.org/entente/id/") && STRSTARTS(STR(?o), "https://w3id.org/entente/id/"))"""


def count(store: ox.Store, where: str, union: bool = True) -> int:
    return len(list(store.query(PROLOGUE + f"SELECT * WHERE {{ {where} }}", use_default_graph_as_union=union)))


def test_labels_joined_from_graph_names_keep_every_row_once(store):
    """Shape 1: the claim's triple inside GRAPH ?c, the labels from graph:names, which holds exactly
    one rdfs:label for every entity. Asking for the labels inside GRAPH ?c loses most rows (the labels
    live in the entity's own claim); asking the union duplicates rows (a label is in two graphs)."""
    base = count(store, CLAIM_TRIPLES)
    assert base > 300
    shaped = count(store, CLAIM_TRIPLES + " GRAPH graph:names { ?s rdfs:label ?sl . ?o rdfs:label ?ol }")
    assert shaped == base
    assert count(store, CLAIM_TRIPLES + " GRAPH graph:names { ?s rdfs:label ?sl . ?o rdfs:label ?ol }",
                 union=False) == base                                    # the same without the union
    inside = count(store, "?c a ent:Claim . GRAPH ?c { ?s ?p ?o . ?o rdfs:label ?ol }"
                          ' FILTER (STRSTARTS(STR(?s), "https://w3id.org/entente/id/"))')
    assert inside < base / 2                                             # the shape the docs warn against


def test_event_participants_joined_from_their_own_claims_keep_every_row(store):
    """Shape 2: a claim about an event, plus the event's participants, which its own claim states (with
    its own modality): a second GRAPH ?d, OPTIONAL so that events without participants stay."""
    about = "?c a ent:Claim . GRAPH ?c { ?e ent:about ?topic } GRAPH ?t { ?e a ent:Event }"
    base = len({(r["c"], r["e"], r["topic"]) for r in _rows(store, about)})
    rows = _rows(store, about + " OPTIONAL { GRAPH ?d { ?e ent:hasParticipant ?who } ?d a ent:Claim ; ent:modality ?how }")
    assert len({(r["c"], r["e"], r["topic"]) for r in rows}) == base > 5
    talks = {(r["who"], r["how"]) for r in rows if r["e"] == ID + "new-york-talks-on-syria-2015"}
    assert (ID + "iranian-officials", ENT + "ArticleVoice") in talks
    inside = _rows(store, "?c a ent:Claim . GRAPH ?c { ?e ent:about ?topic . ?e ent:hasParticipant ?who }")
    assert len({(r["c"], r["e"], r["topic"]) for r in inside}) < base


def _rows(store: ox.Store, where: str) -> list[dict]:
    result = store.query(PROLOGUE + f"SELECT * WHERE {{ {where} }}", use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in result]


def test_the_label_shape_over_http_on_the_real_server(server):
    """The documented shape, sent to the real server as a client would, with and without the union."""
    import requests

    query = PROLOGUE + """SELECT ?claim ?financierLabel ?financedLabel WHERE {
      GRAPH ?claim { ?financier ent:finances ?financed }
      GRAPH graph:names { ?financier rdfs:label ?financierLabel . ?financed rdfs:label ?financedLabel } }"""
    for union in ("true", "false"):
        r = requests.post(server.url + "/sparql", data={"query": query, "union-default-graph": union},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert r.status_code == 200, r.text
        rows = r.json()["results"]["bindings"]
        assert [(b["financierLabel"]["value"], b["financedLabel"]["value"]) for b in rows] == \
            [("Iran’s ruling clerics", "Hezbollah")], union


def test_pages_say_when_a_statement_is_denied_hedged_or_conditional(server):
    """A resource page lists a negated claim's triple with its evidence; the label under it must say
    "denied" (and how sure), or a reader takes "cash … available in Russia" for what the article says."""
    import requests

    page = requests.get(server.url + "/id/cash-to-rebuild-the-iranian-economy.html", timeout=30).text
    assert "denied, probable" in page
    page = requests.get(server.url + "/id/departure-of-bashar-al-assad.html", timeout=30).text
    assert "conditional" in page          # "must go for Syria to have a chance of peace"
    article = requests.get(server.url + "/id/bloomberg-iran-russia-2015.html", timeout=30).text
    assert "quoted: Vladimir Putin said this — denied" in article      # "Russia doesn't stab its allies"
    assert "the article says — intended or future" in article          # "will again be present"
