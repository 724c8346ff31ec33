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
    assert {r["x"].value for r in real} == {ID + "iran-nuclear-deal", ID + "putin-khamenei-united-front-on-syria"}
