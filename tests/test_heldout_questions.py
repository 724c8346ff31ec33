"""Held-out competency questions: what a researcher of Iran–Russia relations asks, answered by the built graph.

The questions and their expected answers (docs/competency/heldout/QUESTIONS.md) were written from the
article's words before the data or the queries were read (h01-h20; h21-h26 after, answers still from the text); each test compares the query's rows on the
built dataset (in-process pyoxigraph, union default graph) with that answer, so a wrong graph fails.
Where the graph cannot answer, the test is a strict xfail naming the gap (docs/modelling.md, "Held-out
questions"): it turns red as soon as the gap is filled, so the expectation gets promoted, never weakened.
"""
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.graph import iris

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "docs" / "competency" / "heldout"
SEED = ROOT / iris.SEED_FILE
ENT = iris.ENT


def I(name: str) -> str:
    return iris.ID + name


@pytest.fixture(scope="module")
def store(built_dataset) -> ox.Store:
    s = ox.Store()
    s.load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    return s


def rows(store: ox.Store, stem: str) -> list[dict]:
    """The query's rows as {variable: value or None}."""
    [path] = HELDOUT.glob(f"{stem}-*.rq")
    result = store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in result]


def col(rs: list[dict], name: str) -> set:
    return {r[name] for r in rs}


def test_every_heldout_question_has_a_query_with_its_question_and_answer():
    queries = sorted(HELDOUT.glob("h*.rq"))
    assert len(queries) == 26
    for path in queries:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# H"), path.name
        assert "\n# answer: " in text, f"{path.name} does not state the answer written from the article"


def test_h01_putin_visited_tehran_and_met_khamenei(store):
    rs = rows(store, "h01")
    assert col(rs, "visitor") == {I("vladimir-putin")}
    assert col(rs, "destination") == {I("tehran")}
    assert I("ali-khamenei") in col(rs, "met")


def test_h02_putin_brought_a_5_billion_loan_and_a_koran_replica_for_khamenei(store):
    rs = rows(store, "h02")
    loans = [r for r in rs if r["kind"] == "loan"]
    gifts = [r for r in rs if r["kind"] == "gift"]
    assert [(r["from"], r["to"], float(r["amount"]), r["currency"]) for r in loans] == \
        [(I("russia"), I("iran"), 5e9, "USD")]
    assert [(r["from"], r["to"]) for r in gifts] == [(I("vladimir-putin"), I("ali-khamenei"))]
    label = store.query(f'SELECT ?l WHERE {{ <{gifts[0]["object"]}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}',
                        use_default_graph_as_union=True)
    assert any("Koran" in r["l"].value and "replica" in r["l"].value.lower() for r in label)


def test_h03_khamenei_approves_of_russias_military_intervention(store):
    rs = rows(store, "h03")
    [row] = rs
    assert row["thing"] == I("russian-military-intervention-in-syria")
    assert row["place"] == I("syria")


def test_h04_kozhanov_says_russias_only_two_allies_are_syria_and_iran(store):
    rs = [r for r in rows(store, "h04") if r["asserter"] == I("nikolay-kozhanov")]
    assert col(rs, "ally") == {I("syria"), I("iran")}          # "only two allies ... Syria and Iran"
    assert col(rs, "institution") == {I("carnegie-moscow-center")}


def test_h05_haghighatnejad_says_khamenei_uses_russia_against_rouhanis_outreach(store):
    rs = rows(store, "h05")
    assert col(rs, "asserter") == {I("reza-haghighatnejad")}
    assert col(rs, "base") == {I("istanbul")}
    assert col(rs, "outreachBy") == {I("hassan-rouhani")}
    assert col(rs, "towards") == {I("the-west")}


def test_h06_khamenei_and_the_conservative_faction_oppose_rapprochement_with_the_us(store):
    assert col(rows(store, "h06"), "opponent") == {I("ali-khamenei"), I("iranian-parliament-conservative-faction")}


def test_h07_katz_russia_friendly_with_israel_wants_friends_in_the_gulf(store):
    rs = rows(store, "h07")
    assert {(r["p"], r["other"]) for r in rs} == {(ENT + "friendlyWith", I("israel")),
                                                  (ENT + "wantsFriendshipWith", I("sunni-gulf-states"))}
    assert col(rs, "employer") == {I("george-mason-university")}


def test_h08_putin_reassured_khamenei_that_russia_does_not_betray_allies(store):
    rs = rows(store, "h08")
    assert col(rs, "speaker") == {I("vladimir-putin")}
    assert col(rs, "addressee") == {I("ali-khamenei")}
    assert col(rs, "place") == {I("tehran")}
    assert (I("russia"), ENT + "betrays") in {(r["s"], r["p"]) for r in rs}


def test_h09_lavrov_the_syrian_people_decide_after_the_paris_talks_in_november(store):
    [row] = rows(store, "h09")
    assert row["decider"] == I("syrian-people")
    assert row["post"] == I("minister-of-foreign-affairs-of-russia")
    assert row["place"] == I("paris")
    assert row["month"] == I("month-2015-11")


def test_h10_the_opposition_the_us_and_turkey_insist_assad_must_go(store):
    assert col(rows(store, "h10"), "who") == {I("syrian-opposition"), I("united-states"), I("turkey")}


def test_h11_jafari_russia_may_not_share_the_interest_in_keeping_assad(store):
    [row] = rows(store, "h11")
    assert row["speaker"] == I("mohammad-ali-jafari")
    assert row["post"] == I("commander-of-the-islamic-revolutionary-guard-corps")
    assert (row["certainty"], row["polarity"], row["modality"]) == \
        (ENT + "Possible", ENT + "Negated", ENT + "DirectQuote")


def test_h12_irans_ruling_clerics_finance_and_arm_hezbollah_per_us_congressional_reports(store):
    [row] = rows(store, "h12")
    assert row["financer"] == I("iran-ruling-clerics")          # the clerics, not "Iran"
    assert row["source"] == I("us-congressional-reports")
    # "through Damascus": the Syrian state by metonymy (docs/modelling.md); the words must be its evidence
    assert row["route"] == I("syria")
    text = SEED.read_text(encoding="utf-8")
    spans = store.query(f"""PREFIX ent: <{ENT}> PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
        SELECT ?b ?e WHERE {{ ?c ent:assertedBy <{I("us-congressional-reports")}> ; ent:evidence ?s .
        ?s nif:beginIndex ?b ; nif:endIndex ?e }}""", use_default_graph_as_union=True)
    assert any("through Damascus" in text[int(r["b"].value):int(r["e"].value)] for r in spans)


def test_h13_soleimani_met_putin_in_moscow_last_week_reported_by_fars(store):
    [row] = rows(store, "h13")
    assert row["visitor"] == I("qassem-soleimani")
    assert row["post"] == I("commander-of-the-quds-force")
    assert row["week"] == I("week-2015-w50")                    # the calendar week before Fri 18 Dec 2015
    assert row["reporter"] == I("fars-news-agency")


def test_h14_ostovar_tehran_fears_russia_could_overtake_it_in_damascus(store):
    [row] = rows(store, "h14")
    assert row["feared"] == I("russia-overtaking-iran-in-syria")
    assert row["fearedCertainty"] == ENT + "Possible"           # "could"


def test_h15_ostovar_iran_probably_not_worried_about_being_sold_out(store):
    [row] = rows(store, "h15")
    assert row["worry"] == I("iran-sold-out-at-the-negotiation-table")
    assert (row["certainty"], row["polarity"]) == (ENT + "Probable", ENT + "Negated")
    assert row["timeRef"] == ENT + "Ongoing"                    # "At least not yet": holds now


def test_h16_saudi_arabia_is_irans_rival_in_the_articles_voice(store):
    assert {(r["rival"], r["modality"]) for r in rows(store, "h16")} == {(I("saudi-arabia"), ENT + "ArticleVoice")}


def test_h17_russia_in_recession_and_oil_its_main_export(store):
    rs = rows(store, "h17")
    assert I("russian-recession") in col(rs, "situation")
    assert any(e and "oil" in e for e in col(rs, "export"))


def test_h18_rouhani_pledged_in_2013_to_end_pariah_status_and_delivered(store):
    [row] = rows(store, "h18")
    assert row["goal"] == I("end-of-iran-pariah-status")
    assert row["year"] == I("year-2013")
    assert row["delivered"] == "true"


def test_h19_the_hedged_statements_include_the_five_the_text_hedges(store):
    rs = rows(store, "h19")
    hedged = col(rs, "c")
    for name in ("jafari-russia-may-not-share-interest-in-assad",      # "may not share"
                 "iran-not-worried-about-being-sold-out",              # "probably isn't worried"
                 "russia-could-overtake-iran-in-syria",                # "could overtake"
                 "iran-russia-agendas-may-diverge-in-syria",           # "agendas may be diverging"
                 "cash-and-technology-unlikely-in-russia"):            # "Neither is likely"
        assert iris.CLAIM + name in hedged, name
    assert not any(r["certainty"] == ENT + "Certain" for r in rs)


def test_h20_iran_and_russia_fight_side_by_side_in_syria(store):
    rs = rows(store, "h20")
    assert (I("russia"), I("syria")) in {(r["ally"], r["country"]) for r in rs}


# --- batch 2: written after the data had been read (answers still from the text) -----------------------

def test_h21_rouhanis_outreach_to_the_west_came_after_the_nuclear_deal(store):
    assert {(r["event"], r["asserter"]) for r in rows(store, "h21")} == \
        {(I("rouhani-outreach-to-the-west"), I("reza-haghighatnejad"))}


def test_h22_russia_backed_iran_during_two_years_of_nuclear_negotiations(store):
    rs = rows(store, "h22")
    assert {float(r["years"]) for r in rs} == {2.0}
    assert {r["what"] for r in rs} - {None} == {I("russia-backing-of-iran")}, \
        "Russia's backing of Iran is not (or not alone) placed during the negotiations"


def test_h23_the_agendas_diverge_over_assads_future_says_the_article_hedged(store):
    rs = rows(store, "h23")
    assert col(rs, "topic") == {I("future-of-bashar-al-assad")}
    assert col(rs, "asserter") == {I("bloomberg-news")}
    assert ENT + "Possible" in col(rs, "certainty")             # "may be diverging"


def test_h24_the_eight_people_quoted_directly(store):
    assert col(rows(store, "h24"), "speaker") == {I(n) for n in (
        "ali-khamenei", "nikolay-kozhanov", "reza-haghighatnejad", "mark-katz", "sergei-lavrov",
        "vladimir-putin", "mohammad-ali-jafari", "afshon-ostovar")}


def test_h25_new_york_talks_on_friday_after_the_october_session_about_prospects(store):
    rs = rows(store, "h25")
    assert {I("iranian-officials"), I("leading-diplomats")} <= col(rs, "participant")
    assert col(rs, "day") == {I("day-2015-12-18")}
    prospects = {r["topic"] for r in rs if r["topicIsProspect"] == "true"}
    assert {I("syrian-cease-fire"), I("syrian-power-sharing-administration")} <= prospects
    assert col(rs, "earlierMonth") == {I("month-2015-10")}


def test_h26_neither_cash_nor_technology_is_likely_to_be_found_in_russia(store):
    rs = rows(store, "h26")
    assert len(rs) == 2
    assert {(r["polarity"], r["certainty"]) for r in rs} == {(ENT + "Negated", ENT + "Probable")}
