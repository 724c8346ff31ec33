"""Time, the article's address and date, and speech acts, checked on the real data files and the built
dataset: every time expression of the text is an interval whose dates follow from the publication day,
the text's order of events is data, and every attributed claim is reachable from a speech act."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, RDFS, Literal, Namespace, URIRef

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b47b345340b76534.txt"
ENT = Namespace("https://w3id.org/entente/ontology#")
ID = Namespace("https://w3id.org/entente/id/")
TIME = Namespace("http://www.w3.org/2006/time#")
NIF = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
DCT = Namespace("http://purl.org/dc/terms/")
SCHEMA = Namespace("https://schema.org/")
CLAIM = "https://w3id.org/entente/claim/"
GRAPH = "https://w3id.org/entente/graph/"
ARTICLE = ID["bloomberg-iran-russia-2015"]
ADDRESS = URIRef("https://www.bloomberg.com/news/articles/2015-12-18/"
                 "gifts-and-praise-can-t-obscure-limits-to-iran-russia-relations")
ATTRIBUTED = {ENT.DirectQuote, ENT.IndirectSpeech, ENT.ReportedClaim}

# Every time expression of the text, and the calendar interval it names (data/time.trig).
TIME_EXPRESSIONS = {"last week": "week-2015-w50", "last month": "month-2015-11", "November": "month-2015-11",
                    "October": "month-2015-10", "Friday": "day-2015-12-18", "2013": "year-2013"}
# Time expressions that name the time of someone's speaking, not a calendar interval.
SPEAKING_TIME = {"now": "time-of-jafari-statement-on-russia"}
# Words by which the text orders events, and the claim that holds the order.
ORDER_WORDS = {"After the Arab Spring": "time-after-the-arab-spring",
               "following the nuclear deal": "time-rouhani-outreach-after-the-nuclear-deal",
               "After talks on Syria’s future in Paris": "speech-act-lavrov-on-assads-fate",
               "After attending a session in October": "time-october-session-before-new-york-talks",
               "Having delivered on his 2013 election pledge": "time-pariah-status-ended-after-the-pledge"}


@pytest.fixture(scope="module")
def text() -> str:
    return SEED.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def ds(data_sources) -> rdflib.Dataset:
    return data_sources


@pytest.fixture(scope="module")
def union(ds) -> rdflib.Graph:
    g = rdflib.Graph()
    for q in ds.quads((None, None, None, None)):
        g.add(q[:3])
    return g


def graph(ds, name: str) -> rdflib.Graph:
    return ds.graph(URIRef(GRAPH + name))


def date_of(g, interval, prop) -> datetime.date:
    return datetime.date.fromisoformat(str(g.value(g.value(interval, prop), TIME.inXSDDate)))


# ---- the article's address and date ----

def test_the_address_and_date_are_in_their_own_graph_with_their_verification(ds, text):
    source = graph(ds, "source")
    assert source.value(ARTICLE, SCHEMA.url) == ADDRESS
    assert source.value(ARTICLE, DCT.issued) == Literal("2015-12-18", datatype=rdflib.XSD.date)
    assert "/2015-12-18/" in str(ADDRESS)   # the date in the address's path is the publication date
    [record] = list(source.subjects(RDF.type, ENT.SourceVerification))
    assert source.value(record, DCT.subject) == ARTICLE and source.value(record, DCT.source) == ADDRESS
    quote = str(source.value(record, ENT.verificationQuote))
    assert quote.startswith("Gifts and Praise Can't Obscure Limits to Iran-Russia Relations")
    assert quote in re.sub(r"\s+", " ", text)   # the stored copy has the seed's words
    holders = {g for _, _, _, g in ds.quads((ARTICLE, DCT.issued, None, None))}
    assert holders == {URIRef(GRAPH + "source")}, holders   # never stated as the article's words


def test_the_publication_day_is_the_anchor(ds):
    source = graph(ds, "source")
    day = source.value(ARTICLE, ENT.publicationDay)
    assert day == ID["day-2015-12-18"]
    assert date_of(source, day, TIME.hasBeginning) == date_of(source, day, TIME.hasEnd) == datetime.date(2015, 12, 18)
    assert datetime.date(2015, 12, 18).strftime("%A") == "Friday"


# ---- time expressions ----

def test_every_time_expression_of_the_text_is_an_interval_with_its_own_span(ds, union, text):
    claims = graph(ds, "claims")
    named = {}
    for interval, span in union.subject_objects(ENT.timeExpression):
        b, e = int(claims.value(span, NIF.beginIndex)), int(claims.value(span, NIF.endIndex))
        assert (span, RDF.type, ENT.EvidenceSpan) in claims, span    # a span the claims cite and spans.py checks
        assert text[b:e] == str(claims.value(span, NIF.anchorOf))
        named[text[b:e]] = str(interval).rsplit("/", 1)[1]
    assert named == {**TIME_EXPRESSIONS, **SPEAKING_TIME}
    for words in TIME_EXPRESSIONS:   # each expression occurs once: its span is the only reading
        assert text.count(words) == 1, words


def _expected(words: str, published: datetime.date) -> tuple[datetime.date, datetime.date, URIRef]:
    """The interval each expression names, computed here from the publication day."""
    if words == "last week":
        monday = published - datetime.timedelta(days=published.weekday()) - datetime.timedelta(weeks=1)
        return monday, monday + datetime.timedelta(days=6), TIME.unitWeek
    if words in ("last month", "November", "October"):
        month = {"November": 11, "October": 10}.get(words, (published.month - 2) % 12 + 1)
        year = published.year if month < published.month else published.year - 1
        last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1))
        return datetime.date(year, month, 1), last, TIME.unitMonth
    if words == "Friday":   # a meeting still to come: the first Friday on or after the publication day
        friday = published + datetime.timedelta(days=(4 - published.weekday()) % 7)
        return friday, friday, TIME.unitDay
    year = int(words)
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31), TIME.unitYear


def test_intervals_have_the_dates_and_granularity_their_words_name(ds, union):
    published = datetime.date.fromisoformat(str(graph(ds, "source").value(ARTICLE, DCT.issued)))
    for words, slug in TIME_EXPRESSIONS.items():
        interval = ID[slug]
        begin, end, unit = _expected(words, published)
        assert date_of(union, interval, TIME.hasBeginning) == begin, words
        assert date_of(union, interval, TIME.hasEnd) == end, words
        assert union.value(interval, ENT.granularity) == unit, words
        assert (interval, RDF.type, TIME.ProperInterval) in union
        if words != "2013":   # relative expressions say what they count from, and how
            assert union.value(interval, ENT.anchoredTo) == ID["day-2015-12-18"], words
            assert union.value(interval, ENT.resolution).language == "en"


def test_events_fall_in_the_intervals_the_text_gives_them(union):
    expect = {"soleimani-visit-to-moscow-2015": "week-2015-w50", "paris-talks-on-syria-2015": "month-2015-11",
              "october-2015-talks-on-syria": "month-2015-10", "new-york-talks-on-syria-2015": "day-2015-12-18",
              "speech-act-jafari-last-month": "month-2015-11"}
    for event, interval in expect.items():
        t = union.value(ID[event], TIME.hasTime)
        assert t is not None and (t, TIME.intervalIn, ID[interval]) in union, event
    assert (ID["iranian-presidential-election-2013"], TIME.hasTime, ID["year-2013"]) in union   # "his 2013 election"
    # "now" in Jafari's words is when he spoke: last month
    assert (ID["time-of-jafari-statement-on-russia"], TIME.intervalIn, ID["month-2015-11"]) in union


def test_the_order_the_text_gives_is_data_with_its_words_and_speaker(ds, union):
    claims = graph(ds, "claims")
    for words, slug in ORDER_WORDS.items():
        c = URIRef(CLAIM + slug)
        g = ds.graph(c)
        assert any(True for _ in g.triples((None, TIME.after, None))) or \
            any(True for _ in g.triples((None, TIME.before, None))), slug
        evidence = " ".join(str(claims.value(s, NIF.anchorOf)) for s in claims.objects(c, ENT.evidence))
        assert words in evidence, slug
    # who orders: Kozhanov and Haghighatnejad in their own (paraphrased) words, the article otherwise
    assert claims.value(URIRef(CLAIM + "time-after-the-arab-spring"), ENT.assertedBy) == ID["nikolay-kozhanov"]
    assert claims.value(URIRef(CLAIM + "time-rouhani-outreach-after-the-nuclear-deal"), ENT.modality) == ENT.IndirectSpeech
    lavrov = union.value(ID["speech-act-lavrov-on-assads-fate"], TIME.hasTime)
    assert (lavrov, TIME.after, union.value(ID["paris-talks-on-syria-2015"], TIME.hasTime)) in union


# ---- speech acts ----

def test_every_attributed_claim_is_conveyed_by_a_speech_act_of_its_asserter(ds, union):
    claims = graph(ds, "claims")
    attributed = {c for c, m in claims.subject_objects(ENT.modality) if m in ATTRIBUTED}
    assert len(attributed) >= 25
    for c in attributed:
        acts = set(union.subjects(ENT.conveys, c))
        assert acts, f"{c} is conveyed by no speech act"
        assert {union.value(a, ENT.speaker) for a in acts} == {claims.value(c, ENT.assertedBy)}, c


def test_speech_act_claims_are_the_articles_report_of_the_act_only(ds):
    claims = graph(ds, "claims")
    acts = [c for c in claims.subjects(RDF.type, ENT.Claim) if str(c).startswith(CLAIM + "speech-act-")]
    assert len(acts) >= 14
    allowed = {RDF.type, RDFS.label, ENT.speaker, ENT.addressee, ENT.speechActType, ENT.inCapacity, ENT.conveys,
               ENT.takesPlaceIn, ENT.partOf, TIME.hasTime, TIME.intervalIn, TIME.after, TIME.before}
    for c in acts:
        assert claims.value(c, ENT.modality) == ENT.ArticleVoice, c
        assert {p for _, p, _ in ds.graph(c)} <= allowed, c


def test_putin_reassured_khamenei_in_tehran(union):
    act = ID["speech-act-putin-reassures-khamenei"]
    assert union.value(act, ENT.speaker) == ID["vladimir-putin"]
    assert union.value(act, ENT.addressee) == ID["ali-khamenei"]
    assert union.value(act, ENT.speechActType) == ENT.Reassuring
    assert union.value(act, ENT.takesPlaceIn) == ID.tehran
    assert union.value(act, ENT.partOf) == ID["putin-visit-to-tehran-2015"]
    assert (act, ENT.conveys, URIRef(CLAIM + "putin-russia-does-not-stab-allies-in-the-back")) in union


def test_speakers_speak_in_the_posts_the_text_gives(union):
    expect = {"speech-act-lavrov-on-assads-fate": "minister-of-foreign-affairs-of-russia",
              "speech-act-jafari-last-month": "commander-of-the-islamic-revolutionary-guard-corps",
              "speech-act-khamenei-on-the-us-plot": "supreme-leader-of-iran",
              "speech-act-ostovar": "senior-analyst-at-center-for-naval-analyses"}
    for act, post in expect.items():
        assert union.value(ID[act], ENT.inCapacity) == ID[post], act
        assert (union.value(ID[act], ENT.speaker), ENT.holdsPost, ID[post]) in union, act
    assert union.value(ID["speech-act-fars-reports-soleimani-visit"], ENT.speechActType) == ENT.Reporting


# ---- the competency questions answer on the built dataset ----

@pytest.fixture(scope="module")
def built_store(built_dataset) -> ox.Store:
    store = ox.Store()
    store.load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    return store


def ask(store, stem: str) -> list:
    [path] = sorted((ROOT / "docs" / "competency").glob(f"{stem}-*.rq"))
    return list(store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True))


def test_timeline_question_lists_events_in_calendar_order(built_store):
    rows = ask(built_store, "cq40")
    order = [r["event"].value.rsplit("/", 1)[1] for r in rows]
    assert order.index("iranian-presidential-election-2013") < order.index("october-2015-talks-on-syria") \
        < order.index("paris-talks-on-syria-2015") < order.index("soleimani-visit-to-moscow-2015") \
        < order.index("new-york-talks-on-syria-2015")
    soleimani = next(r for r in rows if r["event"].value.endswith("soleimani-visit-to-moscow-2015"))
    assert (soleimani["begin"].value, soleimani["end"].value) == ("2015-12-07", "2015-12-13")
    assert soleimani["expressions"].value == "last week"
    assert soleimani["granularity"].value == str(TIME.unitWeek)


def test_order_question_finds_what_the_text_orders(built_store):
    pairs = {(r["earlier"].value.rsplit("/", 1)[1], r["later"].value.rsplit("/", 1)[1], r["who"].value.rsplit("/", 1)[1])
             for r in ask(built_store, "cq41")}
    assert ("arab-spring", "russia-left-with-two-allies-in-the-region", "nikolay-kozhanov") in pairs
    assert ("iran-nuclear-deal", "rouhani-outreach-to-the-west", "reza-haghighatnejad") in pairs
    assert ("paris-talks-on-syria-2015", "speech-act-lavrov-on-assads-fate", "bloomberg-news") in pairs
    assert ("october-2015-talks-on-syria", "new-york-talks-on-syria-2015", "bloomberg-news") in pairs


def test_who_said_what_to_whom_question(built_store):
    rows = ask(built_store, "cq42")
    putin = [r for r in rows if r["speaker"].value == str(ID["vladimir-putin"])]
    assert {(r["addressee"].value, r["place"].value, r["how"].value) for r in putin} == \
        {(str(ID["ali-khamenei"]), str(ID.tehran), str(ENT.Reassuring))}
    assert len(putin) == 2   # Iran is Russia's ally (affirmed); Russia does not betray it (negated)
    jafari = [r for r in rows if r["speaker"].value == str(ID["mohammad-ali-jafari"])]
    assert {r["when"].value for r in jafari} == {str(ID["month-2015-11"])} and len(jafari) == 3  # s29; s30 gives two
    lavrov = next(r for r in rows if r["speaker"].value == str(ID["sergei-lavrov"]))
    assert lavrov["after"].value == str(ID["paris-talks-on-syria-2015"])
    assert lavrov["post"].value == str(ID["minister-of-foreign-affairs-of-russia"])
    speakers = {r["speaker"].value.rsplit("/", 1)[1] for r in rows}
    assert {"fars-news-agency", "us-congressional-reports", "several-countries", "turkey"} <= speakers


# ---- dates from reference works (graph:dates) ----

# event → (first day, last day or None, how the quoted page writes the day)
REFERENCE_DATES = {"putin-visit-to-tehran-2015": ("2015-11-23", "2015-11-23", "November 23, 2015"),
                   "iran-nuclear-deal": ("2015-07-14", "2015-07-14", "July 14, 2015"),
                   "iranian-presidential-election-2013": ("2013-06-14", "2013-06-14", "14 June 2013"),
                   "russian-military-intervention-in-syria": ("2015-09-30", None, "30 September 2015")}


def test_reference_dates_are_kept_apart_with_the_passage_that_gives_them(ds, union):
    dates = graph(ds, "dates")
    records = {dates.value(r, DCT.subject): r for r in dates.subjects(RDF.type, ENT.SourceVerification)}
    assert set(records) == {ID[e] for e in REFERENCE_DATES}
    for event, (begin, end, written) in REFERENCE_DATES.items():
        record = records[ID[event]]
        assert written in str(dates.value(record, ENT.verificationQuote)), event
        assert str(dates.value(record, DCT.source)).startswith("https://")
        times = [t for t in union.objects(ID[event], TIME.hasTime)
                 if (t, TIME.hasBeginning, None) in dates]
        assert len(times) == 1, event
        assert str(union.value(union.value(times[0], TIME.hasBeginning), TIME.inXSDDate)) == begin
        got_end = union.value(times[0], TIME.hasEnd)
        assert (str(union.value(got_end, TIME.inXSDDate)) if got_end else None) == end
    # no claim graph (the article's words) holds a day the article does not give
    for s, p, o, g in ds.quads((None, TIME.inXSDDate, None, None)):
        assert not str(g).startswith(CLAIM), (s, g)


def test_reference_dates_agree_with_the_articles_times(union):
    """The article's year of the election holds the reference day; the deal is before the outreach
    that follows it only in the text's order (no date for the outreach)."""
    election = ID["time-of-iranian-presidential-election-2013"]
    assert (election, TIME.intervalIn, ID["year-2013"]) in union
    outreach = union.value(ID["rouhani-outreach-to-the-west"], TIME.hasTime)
    assert (outreach, TIME.after, ID["time-of-iran-nuclear-deal"]) in union


def test_timeline_with_reference_dates_question(built_store):
    rows = ask(built_store, "cq43")
    seen = [(r["event"].value.rsplit("/", 1)[1], r["begin"].value, r["dateFrom"].value.rsplit("/", 1)[1]) for r in rows]
    assert ("putin-visit-to-tehran-2015", "2015-11-23", "dates") in seen
    assert ("soleimani-visit-to-moscow-2015", "2015-12-07", "time-soleimani-visit-last-week") in seen
    assert ("iranian-presidential-election-2013", "2013-01-01", "time") in seen      # the article's year
    assert ("iranian-presidential-election-2013", "2013-06-14", "dates") in seen     # the reference day
    begins = [b for _, b, _ in seen]
    assert begins == sorted(begins)
