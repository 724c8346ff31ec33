"""The article's facts in data/: evidence that matches the text, claim metadata, sentence coverage,
modalities that match the words of the text, and spot checks of facts the article states."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, RDFS, Literal, Namespace, URIRef

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEED = ROOT / "seeds" / "000_b47b345340b76534.txt"

ENT = Namespace("https://w3id.org/entente/ontology#")
ID = Namespace("https://w3id.org/entente/id/")
CLAIM = "https://w3id.org/entente/claim/"
SPAN = "https://w3id.org/entente/span/"
SENTENCE = "https://w3id.org/entente/sentence/"
GRAPH = "https://w3id.org/entente/graph/"
NIF = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
G_ARTICLE = URIRef(GRAPH + "article")
G_CLAIMS = URIRef(GRAPH + "claims")
# What is not in the article, each in a graph of its own with its provenance (data/source.trig,
# data/time.trig, data/names.trig, data/dates.trig): the article's address and date, the calendar
# intervals of its time expressions, canonical names, dates of events from reference works.
G_OUTSIDE = tuple(URIRef(GRAPH + n) for n in ("source", "time", "names", "dates"))
TIME = Namespace("http://www.w3.org/2006/time#")
ARTICLE = ID["bloomberg-iran-russia-2015"]
NEWSROOM = ID["bloomberg-news"]   # the publisher's newsroom: whose voice the article is
MODALITIES = {ENT.ArticleVoice, ENT.DirectQuote, ENT.IndirectSpeech, ENT.ReportedClaim, ENT.Hedged}


def _spans_module():
    spec = importlib.util.spec_from_file_location("entente_spans", ROOT / "scripts" / "spans.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["entente_spans"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


spans = _spans_module()


@pytest.fixture(scope="module")
def text() -> str:
    return SEED.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def claim_files() -> list[Path]:
    files = sorted(DATA.glob("claims*.trig"))
    assert files, "no data/claims*.trig file: nothing to check"
    return files


@pytest.fixture(scope="module")
def ds(claim_files) -> rdflib.Dataset:
    """data/article.trig and every claims file, in one dataset (named graphs kept apart)."""
    d = rdflib.Dataset()
    assert (DATA / "article.trig").exists()
    d.parse(DATA / "article.trig", format="trig")
    for f in claim_files:
        d.parse(f, format="trig")
    return d


@pytest.fixture(scope="module")
def claims_graph(ds) -> rdflib.Graph:
    return ds.graph(G_CLAIMS)


@pytest.fixture(scope="module")
def claim_graphs(ds) -> dict[URIRef, rdflib.Graph]:
    graphs = {g.identifier: g for g in ds.graphs() if str(g.identifier).startswith(CLAIM)}
    assert len(graphs) > 100, f"only {len(graphs)} claim graphs"
    return graphs


@pytest.fixture(scope="module")
def facts(claim_graphs) -> rdflib.Graph:
    """The union of all claim graphs: what a plain triple pattern on the default graph sees."""
    union = rdflib.Graph()
    for g in claim_graphs.values():
        for t in g:
            union.add(t)
    return union


def claims_with(claim_graphs, triple) -> list[URIRef]:
    return [name for name, g in claim_graphs.items() if triple in g]


# ---- evidence spans ----

def test_every_span_quotes_the_article_exactly(claims_graph, text):
    span_nodes = set(claims_graph.subjects(RDF.type, ENT.EvidenceSpan))
    assert len(span_nodes) > 150
    for span in span_nodes:
        b = int(claims_graph.value(span, NIF.beginIndex))
        e = int(claims_graph.value(span, NIF.endIndex))
        assert str(span) == f"{SPAN}{b}-{e}", span
        assert 0 <= b < e <= len(text), span
        assert str(claims_graph.value(span, NIF.anchorOf)) == text[b:e], span
        assert claims_graph.value(span, NIF.referenceContext) == ARTICLE, span
        for prop in (NIF.beginIndex, NIF.endIndex):
            assert claims_graph.value(span, prop).datatype == rdflib.XSD.nonNegativeInteger


def test_every_span_lies_in_the_sentence_it_names(ds, claims_graph):
    article = ds.graph(G_ARTICLE)
    for span in set(claims_graph.subjects(RDF.type, ENT.EvidenceSpan)):
        sentences = list(claims_graph.objects(span, ENT.inSentence))
        assert len(sentences) == 1, span
        s = sentences[0]
        sb, se = int(article.value(s, NIF.beginIndex)), int(article.value(s, NIF.endIndex))
        b, e = int(claims_graph.value(span, NIF.beginIndex)), int(claims_graph.value(span, NIF.endIndex))
        assert sb <= b and e <= se, f"{span} is not inside {s}"


def test_spans_tool_check_passes_on_the_real_files():
    result = subprocess.run([sys.executable, "scripts/spans.py", "check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_spans_tool_check_rejects_a_wrong_quote(tmp_path, text):
    bad = tmp_path / "claims-bad.trig"
    bad.write_text(spans.PREFIXES + "graph:claims {\n" + spans.span_block(
        text, spans.sentences(text), 347, 361).replace("Vladimir Putin", "Vladimir Putim") + "\n}\n",
        encoding="utf-8")
    errors = spans.check(text, [bad])
    assert len(errors) == 1 and "anchorOf" in errors[0] and "347" in errors[0]


def test_spans_tool_check_fails_on_no_spans(tmp_path, text):
    empty = tmp_path / "claims-empty.trig"
    empty.write_text(spans.PREFIXES, encoding="utf-8")
    assert spans.check(text, [empty])


def test_claims_files_are_filled_and_their_span_sections_current(claim_files, tmp_path, text):
    """No «quote» macro is left, and `spans.py fill` would not change a byte."""
    for f in claim_files:
        source = f.read_text(encoding="utf-8")
        code = [line for line in source.split("\n") if not line.lstrip().startswith("#")]
        assert not any(spans.MACRO.search(line) for line in code), f"{f.name}: unfilled «quote»"
        copy = tmp_path / f.name
        copy.write_text(source, encoding="utf-8")
        spans.fill(copy, text)
        assert copy.read_text(encoding="utf-8") == source, f"{f.name}: run scripts/spans.py fill"


def test_spans_tool_fills_quotes(tmp_path, text):
    f = tmp_path / "claims-new.trig"
    f.write_text(spans.PREFIXES + "graph:claims { claim:x ent:evidence «Putin|Vladimir Putin came» , «Iran»#2 . }\n",
                 encoding="utf-8")
    assert spans.fill(f, text) == 2
    b = text.index("Vladimir Putin came") + len("Vladimir ")
    second_iran = text.index("Iran", text.index("Iran") + 1)
    filled = f.read_text(encoding="utf-8")
    assert f"span:{b}-{b + 5}" in filled and f"span:{second_iran}-{second_iran + 4}" in filled
    assert not spans.check(text, [f])


def test_spans_tool_finds_offsets(text):
    b, e = spans.find(text, "$5 billion loan")
    assert text[b:e] == "$5 billion loan"
    s = spans.sentence_of(spans.sentences(text), b, e)
    assert s.n == 5
    with pytest.raises(ValueError):
        spans.find(text, "Vladimir Putin", 2)


# ---- claims and their metadata ----

def test_every_claim_has_one_modality_an_asserter_and_evidence(claims_graph, claim_graphs):
    claims = set(claims_graph.subjects(RDF.type, ENT.Claim))
    assert claims == set(claim_graphs), (
        f"metadata without graph: {sorted(claims - set(claim_graphs))[:5]}; "
        f"graph without metadata: {sorted(set(claim_graphs) - claims)[:5]}")
    for c in claims:
        modalities = list(claims_graph.objects(c, ENT.modality))
        assert len(modalities) == 1 and modalities[0] in MODALITIES, c
        assert len(list(claims_graph.objects(c, ENT.assertedBy))) == 1, c
        assert list(claims_graph.objects(c, ENT.reportedIn)) == [ARTICLE], c
        evidence = list(claims_graph.objects(c, ENT.evidence))
        assert evidence, c
        for span in evidence:
            assert (span, RDF.type, ENT.EvidenceSpan) in claims_graph, (c, span)


def test_every_claim_graph_holds_facts(claim_graphs):
    for name, g in claim_graphs.items():
        assert len(g) >= 1, name


def test_data_has_no_triple_outside_claim_article_claims_and_linkset_graphs():
    for f in sorted(DATA.glob("*.trig")):
        d = rdflib.Dataset()
        d.parse(f, format="trig")
        assert len(d.default_graph) == 0, f"{f.name}: triples in the default graph"
        for g in d.graphs():
            if g.identifier == d.default_graph.identifier:
                continue
            name = str(g.identifier)
            allowed = (name.startswith(CLAIM) or g.identifier in (G_ARTICLE, G_CLAIMS, *G_OUTSIDE)
                       or name.startswith(GRAPH + "linkset/"))
            assert allowed, f"{f.name}: triples in graph {name}"
            if f.name.startswith("claims"):
                assert g.identifier != G_ARTICLE, f"{f.name} writes into graph:article"


def test_asserters_fit_the_modality(ds, claims_graph, facts):
    """Article voice and hedges are the publisher's newsroom's (the article carries them); quotes and
    paraphrase are a person's or an agent's; reported claims are a source's — never the article itself."""
    for c in set(claims_graph.subjects(RDF.type, ENT.Claim)):
        modality = claims_graph.value(c, ENT.modality)
        who = claims_graph.value(c, ENT.assertedBy)
        assert who != ARTICLE, f"{c}: a document carries claims (ent:reportedIn), it does not assert them"
        if modality in (ENT.ArticleVoice, ENT.Hedged):
            assert who == NEWSROOM, c
        else:
            assert who != NEWSROOM, c
            types = set(facts.objects(who, RDF.type))
            assert types, f"{c}: asserter {who} has no type in the data"
        if modality in (ENT.DirectQuote, ENT.IndirectSpeech):
            assert types & {ENT.Person, ENT.SovereignState, ENT.OppositionMovement, ENT.StateBloc}, c
        if modality == ENT.ReportedClaim:
            assert types & {ENT.Report, ENT.NewsAgency, ENT.Document}, c


def _evidence_text(claims_graph, c) -> str:
    return " ".join(str(claims_graph.value(s, NIF.anchorOf)) for s in claims_graph.objects(c, ENT.evidence))


def test_attributed_words_are_never_article_voice(claims_graph):
    """A span that carries an attribution or a hedge cannot support an ArticleVoice claim."""
    markers = re.compile(r"according to|reported\b|reportedly|speculation|\bmay\b|\blikely\b| said\b|he said|"
                         r"insist|signaled")
    checked = 0
    for c in set(claims_graph.subjects(RDF.type, ENT.Claim)):
        if str(c).startswith(CLAIM + "speech-act-"):
            continue  # the article's report that someone spoke cites the reporting words (checked below)
        if markers.search(_evidence_text(claims_graph, c)):
            checked += 1
            assert claims_graph.value(c, ENT.modality) != ENT.ArticleVoice, c
    assert checked >= 5


def test_direct_quotes_cite_quoted_words(ds, claims_graph):
    article = ds.graph(G_ARTICLE)
    quotes = [c for c in claims_graph.subjects(ENT.modality, ENT.DirectQuote)]
    assert quotes
    for c in quotes:
        sentences = {claims_graph.value(s, ENT.inSentence) for s in claims_graph.objects(c, ENT.evidence)}
        assert any(re.search("[“”]", str(article.value(s, NIF.anchorOf))) for s in sentences), c


def test_hedged_claims_cite_a_hedge(claims_graph):
    hedged = list(claims_graph.subjects(ENT.modality, ENT.Hedged))
    assert len(hedged) >= 3
    for c in hedged:
        assert re.search(r"reportedly|speculation|\bmay\b|likely", _evidence_text(claims_graph, c)), c


# ---- sentences ----

def test_sentences_tile_the_text(ds, text):
    article = ds.graph(G_ARTICLE)
    rows = []
    for s in article.subjects(RDF.type, NIF.Sentence):
        n = int(str(s).rsplit("/", 1)[1])
        b, e = int(article.value(s, NIF.beginIndex)), int(article.value(s, NIF.endIndex))
        assert str(article.value(s, NIF.anchorOf)) == text[b:e], s
        assert article.value(s, NIF.referenceContext) == ARTICLE
        rows.append((n, b, e))
    rows.sort()
    assert [n for n, _, _ in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 40
    assert rows[0][1] == 0 and rows[-1][2] == len(text.rstrip())
    previous_end = 0
    for n, b, e in rows:
        assert b >= previous_end, f"sentence {n} overlaps the one before"
        gap = text[previous_end:b]
        assert gap.strip(" \n•") == "", f"text between sentences {n - 1} and {n} is not covered: {gap!r}"
        assert text[b:e] == text[b:e].strip(), f"sentence {n} starts or ends with blank space"
        previous_end = e


def test_every_sentence_has_facts_or_a_reason_never_both(ds, claims_graph):
    article = ds.graph(G_ARTICLE)
    cited = set(claims_graph.objects(None, ENT.inSentence))
    sentences = set(article.subjects(RDF.type, NIF.Sentence))
    without = set()
    for s in sentences:
        reasons = list(article.objects(s, ENT.noFactsReason))
        assert (s in cited) != bool(reasons), f"{s}: cited={s in cited}, reasons={reasons}"
        for r in reasons:
            assert r.language == "en" and len(str(r)) > 10
            without.add(s)
    assert len(without) <= 3, "most sentences of this article state something"


def test_article_trig_is_what_spans_py_generates(text):
    assert (DATA / "article.trig").read_text(encoding="utf-8") == spans.article_trig(text)


def test_sentence_splitter_keeps_abbreviations_and_quotes(text):
    sents = spans.sentences(text)
    by_start = {s.text.split()[0]: s for s in sents}
    assert sents[0].kind == "headline" and sents[0].begin == 0
    assert [s.kind for s in sents[1:3]] == ["bullet", "bullet"]
    congress = next(s for s in sents if "Congressional" in s.text)
    assert congress.text.startswith("Iran’s ruling clerics") and congress.text.endswith("reports.")
    assert by_start["At"].text == "At least not yet.”"
    assert any(s.kind == "caption" for s in sents) and any(s.kind == "credit" for s in sents)


# ---- the vocabulary ----

def test_every_term_used_is_in_the_ontology(ds):
    onto = rdflib.Graph().parse(ROOT / "ontology" / "entente.ttl")
    defined = set(onto.subjects())
    used = {t for q in ds.quads() for t in q[:3] if isinstance(t, URIRef) and str(t).startswith(str(ENT))}
    assert used and not used - defined, sorted(used - defined)


def test_every_entity_has_a_type_and_one_english_label(facts):
    """Labels of the facts, of the article's metadata (seeds/metadata.ttl) and of the graphs of what
    is not in the article (calendar intervals, canonical names) together: one per entity."""
    metadata = rdflib.Graph().parse(ROOT / "seeds" / "metadata.ttl")
    outside = rdflib.Dataset()
    for name in ("source", "time", "names", "dates"):
        if (DATA / f"{name}.trig").exists():
            outside.parse(DATA / f"{name}.trig", format="trig")
    for t in outside.quads((None, None, None, None)):
        metadata.add(t[:3])
    entities = {t for s, p, o in facts for t in (s, o)
                if isinstance(t, URIRef) and str(t).startswith(str(ID))}
    assert len(entities) > 100
    for x in entities - {ARTICLE}:
        assert list(facts.objects(x, RDF.type)) or list(metadata.objects(x, RDF.type)), f"{x} has no type"
        labels = set(facts.objects(x, RDFS.label)) | set(metadata.objects(x, RDFS.label))
        assert len(labels) == 1, f"{x} has labels {labels}"
        assert all(isinstance(l, Literal) and l.language == "en" for l in labels), x


def test_entity_descriptions_cite_the_mention(claim_graphs, claims_graph):
    c = URIRef(CLAIM + "entity-vladimir-putin")
    assert (ID["vladimir-putin"], RDF.type, ENT.Person) in claim_graphs[c]
    quotes = {str(claims_graph.value(s, NIF.anchorOf)) for s in claims_graph.objects(c, ENT.evidence)}
    assert "Vladimir Putin" in quotes


# ---- spot checks: what the article says, and who says it ----

def modality_and_asserter(claims_graph, c):
    return claims_graph.value(c, ENT.modality), claims_graph.value(c, ENT.assertedBy)


def test_hezbollah_financing_is_reported_by_congressional_reports_not_the_article(claim_graphs, claims_graph, facts):
    """s34: the reports name "Iran's ruling clerics" (who rule Iran, in the article's own words), not Iran;
    "through Damascus" is the Syrian state, as "influence in Damascus" (s37)."""
    assert (ID.iran, ENT.finances, ID.hezbollah) not in facts
    assert (ID["iran-ruling-clerics"], ENT.governs, ID.iran) in facts
    assert (ID["iranian-support-for-hezbollah"], ENT.via, ID.syria) in facts
    assert (ID["iranian-support-for-hezbollah"], ENT.via, ID.damascus) not in facts
    for triple in [(ID["iran-ruling-clerics"], ENT.finances, ID.hezbollah),
                   (ID["iran-ruling-clerics"], ENT.arms, ID.hezbollah)]:
        holders = claims_with(claim_graphs, triple)
        assert holders
        for c in holders:
            assert modality_and_asserter(claims_graph, c) == (ENT.ReportedClaim, ID["us-congressional-reports"])
    assert (ID["us-congressional-reports"], RDF.type, ENT.Report) in facts


def test_soleimani_in_moscow_is_reported_by_fars(claim_graphs, claims_graph):
    visit = ID["soleimani-visit-to-moscow-2015"]
    holders = claims_with(claim_graphs, (visit, ENT.takesPlaceIn, ID.moscow))
    assert holders
    for c in holders:
        assert modality_and_asserter(claims_graph, c) == (ENT.ReportedClaim, ID["fars-news-agency"])
    assert claims_with(claim_graphs, (visit, ENT.hasParticipant, ID["vladimir-putin"])) == holders


def test_losses_alongside_assad_are_hedged(claim_graphs, claims_graph):
    holders = claims_with(claim_graphs, (ID.hezbollah, ENT.sufferedLossesIn, ID["syrian-civil-war"]))
    assert holders
    for c in holders:
        assert modality_and_asserter(claims_graph, c) == (ENT.Hedged, NEWSROOM)


def test_speculation_about_a_syria_without_assad_is_hedged(claim_graphs, claims_graph, facts):
    """s27: "speculation that he envisages a future Moscow-backed administration": hedged, possible; the
    administration does not exist, so it is a prospect, never typed as a government body."""
    admin = ID["future-moscow-backed-administration-in-syria"]
    holders = claims_with(claim_graphs, (ID["vladimir-putin"], ENT.envisages, admin))
    assert holders and all(claims_graph.value(c, ENT.modality) == ENT.Hedged for c in holders)
    assert all(claims_graph.value(c, ENT.certainty) == ENT.Possible for c in holders)
    assert (admin, RDF.type, ENT.Prospect) in facts and (admin, ENT.prospectiveKind, ENT.GovernmentBody) in facts
    assert (admin, RDF.type, ENT.GovernmentBody) not in facts


def test_quotes_are_attributed_to_their_speakers(claim_graphs, claims_graph):
    """Each triple is said in quoted words by its speaker, and never by the article itself."""
    expect = {
        (ID.russia, ENT.allyOf, ID.iran): ID["vladimir-putin"],                  # "doesn't stab its allies"
        (ID.russia, ENT.friendlyWith, ID.israel): ID["mark-katz"],
        (ID.iran, ENT.concernedAbout, ID["russia-overtaking-iran-in-syria"]): ID["afshon-ostovar"],
        (ID.russia, ENT.concernedAbout, ID["iran-shift-toward-the-west"]): ID["nikolay-kozhanov"],
    }
    for triple, speaker in expect.items():
        holders = claims_with(claim_graphs, triple)
        assert (ENT.DirectQuote, speaker) in {modality_and_asserter(claims_graph, c) for c in holders}, triple
        assert NEWSROOM not in {claims_graph.value(c, ENT.assertedBy) for c in holders}, triple


def test_paraphrased_views_are_indirect_speech(claim_graphs, claims_graph):
    holders = claims_with(claim_graphs, (ID.russia, ENT.reliesOn, ID.syria))
    assert holders
    assert all(modality_and_asserter(claims_graph, c) == (ENT.IndirectSpeech, ID["nikolay-kozhanov"])
               for c in holders)
    holders = claims_with(claim_graphs, (ID["ali-khamenei"], ENT.concernedAbout, ID["iran-shift-toward-the-west"]))
    assert holders and all(modality_and_asserter(claims_graph, c) == (ENT.IndirectSpeech, ID["reza-haghighatnejad"])
                           for c in holders)


def test_the_visit_the_loan_and_the_gift(claim_graphs, claims_graph, facts):
    loan = ID["russian-loan-to-iran"]
    assert (loan, RDF.type, ENT.Loan) in facts
    assert (loan, ENT.lender, ID.russia) in facts and (loan, ENT.borrower, ID.iran) in facts
    assert facts.value(loan, ENT.amount) == Literal("5000000000", datatype=rdflib.XSD.decimal)
    assert str(facts.value(loan, ENT.currency)) == "USD"
    gift = ID["koran-replica-gift"]
    assert (gift, ENT.giver, ID["vladimir-putin"]) in facts
    assert (gift, ENT.recipient, ID["ali-khamenei"]) in facts
    assert (gift, ENT.giftObject, ID["koran-replica"]) in facts
    visit = ID["putin-visit-to-tehran-2015"]
    assert (visit, ENT.visitor, ID["vladimir-putin"]) in facts
    assert (visit, ENT.visitDestination, ID.tehran) in facts
    for triple in [(loan, ENT.lender, ID.russia), (gift, ENT.recipient, ID["ali-khamenei"])]:
        assert all(claims_graph.value(c, ENT.modality) == ENT.ArticleVoice for c in claims_with(claim_graphs, triple))


def test_posts_are_held_by_people(facts):
    held = {
        "ali-khamenei": "supreme-leader-of-iran", "hassan-rouhani": "president-of-iran",
        "bashar-al-assad": "president-of-syria", "sergei-lavrov": "minister-of-foreign-affairs-of-russia",
        "mohammad-ali-jafari": "commander-of-the-islamic-revolutionary-guard-corps",
        "qassem-soleimani": "commander-of-the-quds-force",
        "nikolay-kozhanov": "non-resident-scholar-at-carnegie-moscow-center",
        "mark-katz": "professor-of-government-and-politics-at-george-mason-university",
        "afshon-ostovar": "senior-analyst-at-center-for-naval-analyses",
    }
    for person, post in held.items():
        assert (ID[person], ENT.holdsPost, ID[post]) in facts, person
        assert (ID[post], RDF.type, ENT.Post) in facts
        assert facts.value(ID[post], ENT.postIn) is not None, post
    assert (ID["mark-katz"], ENT.employedBy, ID["george-mason-university"]) in facts
    assert (ID["afshon-ostovar"], ENT.employedBy, ID["center-for-naval-analyses"]) in facts
    assert (ID["ali-khamenei"], ENT.age, Literal(76, datatype=rdflib.XSD.nonNegativeInteger)) in facts


def test_the_war_and_what_it_caused(facts):
    war = ID["syrian-civil-war"]
    assert facts.value(war, ENT.deathToll) == Literal(250000, datatype=rdflib.XSD.nonNegativeInteger)
    assert (war, ENT.causes, ID["european-refugee-crisis"]) in facts
    assert (war, ENT.causes, ID["rise-of-islamic-state"]) in facts
    assert (ID.alawites, ENT.splitFrom, ID["shia-islam"]) in facts
    assert (ID["bashar-al-assad"], ENT.memberOf, ID.alawites) in facts
    assert (ID.iran, ENT.rivalOf, ID["saudi-arabia"]) in facts


def test_modalities_are_all_in_use(claims_graph):
    counts = defaultdict(int)
    for m in claims_graph.objects(None, ENT.modality):
        counts[m] += 1
    assert set(counts) == MODALITIES, counts


def test_stats_add_up(claim_files):
    figures = spans.stats(claim_files)
    assert figures["sentences"] == 40
    assert figures["sentences with facts"] + figures["sentences without facts"] == figures["sentences"]
    by_modality = sum(v for k, v in figures.items() if k.startswith("claims ") and k != "claims")
    assert by_modality == figures["claims"] > 100
    assert figures["entities"] > 100 and figures["fact triples"] > figures["claims"]


# ---- audit checks: each class of error found in the audit of every claim against its sentence ----

# Words by which a sentence gives its content to someone else ("statements signal", s22, is the
# article's own reading of statements, and "spoke approvingly", s6, its own report of a speech).
ATTRIBUTION = re.compile(r"according to|reported\b|reportedly|speculation|\bsaid\b|\bsays\b|insist|signaled|[“”]")

# What an ArticleVoice claim may say with evidence inside someone's words: who or what a name is.
DESCRIPTIVE = {RDF.type, RDFS.label, rdflib.SKOS.altLabel, RDFS.comment, ENT.basedIn, ENT.locatedIn, ENT.partOf,
               ENT.holdsPost, ENT.postIn, ENT.hasRole, ENT.commands, ENT.commandedBy, ENT.employedBy,
               ENT.affiliatedWith, ENT.occupation, ENT.nationality, ENT.age, ENT.governs, ENT.leads,
               ENT.specializesIn,
               URIRef("http://purl.org/dc/terms/creator")}
# ArticleVoice claims that say more than that, with a span in an attributing sentence, each reviewed:
REVIEWED_IN_ATTRIBUTED_SENTENCES = {
    "syrian-civil-war": "'Syria's war' (s36) is only the name; the facts come from s21",
    "departure-of-bashar-al-assad": "the event they insist on, named; that it must happen is theirs",
    "iran-nuclear-deal": "named in Haghighatnejad's paraphrase; that Iran is party to it is the article's",
    "paris-talks-on-syria": "'After talks … in Paris in November' frames Lavrov's words; it is not what he said",
    "us-and-turkey-back-syrian-opposition": "'leading supporters including the U.S. and Turkey': the article's apposition",
    "katz-specializes-in-russian-relations-in-the-middle-east": "apposition on Katz",
    "russian-military-intervention-in-syria": "s6 names what Khamenei spoke of; s4 places it in Syria",
    "khamenei-approves-of-russian-intervention": "how he spoke ('approvingly') is the article's report (modelling.md)",
    "khamenei-condemns-us-plot": "how he spoke ('darkly') is the article's report; the plot is his",
}


# The article's report that someone spoke (claims-06-speech-acts.trig): who, to whom, how, when,
# where, in which post, and which claims the words convey — never the content itself.
SPEECH_ACT_TERMS = {RDF.type, RDFS.label, ENT.speaker, ENT.addressee, ENT.speechActType, ENT.inCapacity,
                    ENT.conveys, ENT.takesPlaceIn, ENT.partOf, TIME.hasTime, TIME.intervalIn, TIME.after,
                    TIME.before}
# The article's own framing in time of someone's words ("After talks … in November, Lavrov said").
TIME_FRAMING = {RDF.type, RDFS.label, TIME.hasTime, TIME.intervalIn, TIME.after, TIME.before}


def _sentence_text(ds, s) -> str:
    return str(ds.graph(G_ARTICLE).value(s, NIF.anchorOf))


def test_article_voice_in_attributed_sentences_only_describes_names(ds, claims_graph, claim_graphs):
    """The article's voice inside someone's sentence is limited to naming (types, labels, posts,
    appositions). Caught: Iran-Russia relations cited from Ostovar's "Iran's ties with Russia"."""
    flagged = set()
    for c in claims_graph.subjects(ENT.modality, ENT.ArticleVoice):
        sentences = {claims_graph.value(s, ENT.inSentence) for s in claims_graph.objects(c, ENT.evidence)}
        if not any(ATTRIBUTION.search(_sentence_text(ds, s)) for s in sentences):
            continue
        slug = str(c)[len(CLAIM):]
        if slug.startswith("speech-act-"):
            assert {p for _, p, _ in claim_graphs[c]} <= SPEECH_ACT_TERMS, c
            continue
        if slug.startswith("time-"):
            assert {p for _, p, _ in claim_graphs[c]} <= TIME_FRAMING, c
            continue
        if slug.startswith(("entity-", "post-", "role-")):
            assert {p for _, p, _ in claim_graphs[c]} <= DESCRIPTIVE, c
            continue
        extra = {p for _, p, _ in claim_graphs[c]} - DESCRIPTIVE
        if extra:
            flagged.add(slug)
            assert slug in REVIEWED_IN_ATTRIBUTED_SENTENCES, f"{c} says {sorted(extra)} in someone's sentence"
    assert flagged == set(REVIEWED_IN_ATTRIBUTED_SENTENCES), "the reviewed list is out of date"


def test_attributed_claims_sit_in_sentences_that_attribute(ds, claims_graph):
    """Quotes, paraphrase and reports cite a sentence that attributes (said, according to, quotation
    marks…) — or, for a quotation that runs on (s38-39, s12), follows one."""
    for c in set(claims_graph.subjects(RDF.type, ENT.Claim)):
        if claims_graph.value(c, ENT.modality) not in (ENT.DirectQuote, ENT.IndirectSpeech, ENT.ReportedClaim):
            continue
        sentences = {claims_graph.value(s, ENT.inSentence) for s in claims_graph.objects(c, ENT.evidence)}
        assert any(ATTRIBUTION.search(_sentence_text(ds, s)) for s in sentences), c


def test_paraphrase_and_reports_never_cite_quoted_words(claims_graph):
    """Words in quotation marks are the speaker's own: a claim that cites them is a DirectQuote, so a
    sentence that mixes paraphrase and quotation gives two claims. Caught: Khamenei's U.S. plot, whose
    target "the whole region" is quoted while the rest is paraphrase."""
    for c in set(claims_graph.subjects(RDF.type, ENT.Claim)):
        if claims_graph.value(c, ENT.modality) in (ENT.IndirectSpeech, ENT.ReportedClaim):
            assert not re.search("[“”]", _evidence_text(claims_graph, c)), c


def test_the_us_plot_is_khameneis_paraphrase_and_quote(claim_graphs, claims_graph):
    plot = ID["us-plot-to-dominate-the-region"]
    expect = {(plot, ENT.target, ID["middle-east"]): ENT.DirectQuote,      # “the whole region”
              (plot, ENT.target, ID.syria): ENT.IndirectSpeech,            # starting with Syria
              (plot, ENT.plannedBy, ID["united-states"]): ENT.IndirectSpeech}
    for triple, modality in expect.items():
        holders = claims_with(claim_graphs, triple)
        assert holders, triple
        assert {modality_and_asserter(claims_graph, c) for c in holders} == {(modality, ID["ali-khamenei"])}, triple


# Relations that say more than cooperation, and the words their evidence must contain.
RELATION_WORDS = {
    ENT.allyOf: r"\ball(?:y|ies)\b",
    ENT.fightsAlongside: r"alongside|side by side",
    ENT.finances: r"financ",
    ENT.arms: r"\barm\b|\barms\b|\barming\b",
    ENT.fightsAgainst: r"fight",
    ENT.rivalOf: r"rival",
    ENT.friendlyWith: r"friend|praise|Praise",
    ENT.cooperatesMilitarilyWith: r"military|militaries",
    # what a claim may not add: a cause, a condition, a betrayal… only where the words say it
    ENT.causes: r"weighs on|impose limits|spurred|fueled",
    ENT.necessaryFor: r"must go for .* to have a chance",
    ENT.obstacleTo: r"obstacle",
    ENT.betrays: r"stab .* in the back|sold out",
    ENT.availableIn: r"found in",
    ENT.illustrates: r"encapsulates",
    ENT.demands: r"must go|has to go|has to stay",
    ENT.hasMinorRoleIn: r"minor role",
    ENT.decidedBy: r"decide",
    ENT.envisages: r"envisages",
    ENT.interestOf: r"interest",
    ENT.reliesOn: r"rely|depend|wedded|worried",
    ENT.mainExport: r"main export",
}


def test_strong_relations_are_in_the_words_of_their_evidence(claim_graphs, claims_graph):
    """No plain 'X allyOf Y' where the text only says they cooperate: each strong relation is
    carried by its own words in the claim's evidence."""
    checked = 0
    for name, g in claim_graphs.items():
        for prop, words in RELATION_WORDS.items():
            if any(True for _ in g.triples((None, prop, None))):
                checked += 1
                assert re.search(words, _evidence_text(claims_graph, name)), (name, prop)
    assert checked >= 10


def test_russia_backed_iran_in_the_nuclear_talks_without_taking_part(claim_graphs, claims_graph, facts):
    """s9: 'Russia backed Iran during two years of tough nuclear negotiations with world powers'
    says nothing of Russia at the table. Caught: ent:participatesIn the negotiations."""
    talks = ID["iran-nuclear-negotiations"]
    assert (ID.russia, ENT.participatesIn, talks) not in facts
    assert (talks, ENT.hasParticipant, ID.russia) not in facts
    holders = claims_with(claim_graphs, (ID.russia, ENT.backs, ID.iran))
    assert holders and all(modality_and_asserter(claims_graph, c) == (ENT.ArticleVoice, NEWSROOM) for c in holders)


def test_evidence_quotes_only_what_the_claim_needs(claim_graphs, claims_graph):
    """A span supports its own claim, not a neighbour's. Caught: the gift cited the $5 billion loan."""
    gift = claims_with(claim_graphs, (ID["koran-replica-gift"], ENT.giver, ID["vladimir-putin"]))
    assert gift and not any("loan" in _evidence_text(claims_graph, c) for c in gift)
    loan = claims_with(claim_graphs, (ID["russian-loan-to-iran"], ENT.lender, ID.russia))
    assert loan and not any("Koran" in _evidence_text(claims_graph, c) for c in loan)


def test_facts_the_audit_added(claim_graphs, claims_graph):
    """s4: the leaders lavish praise on each other (article voice); s35: Hezbollah fighters killed
    fighting alongside Assad's forces — in the war, hedged ('reportedly'); s21: both leaders seek
    the war's end."""
    holders = claims_with(claim_graphs, (ID["ali-khamenei"], ENT.friendlyWith, ID["vladimir-putin"]))
    assert holders and all(claims_graph.value(c, ENT.modality) == ENT.ArticleVoice for c in holders)
    holders = claims_with(claim_graphs, (ID.hezbollah, ENT.participatesIn, ID["syrian-civil-war"]))
    assert holders and all(modality_and_asserter(claims_graph, c) == (ENT.Hedged, NEWSROOM) for c in holders)
    for leader in ("vladimir-putin", "ali-khamenei"):   # s21: "a united front on ways to end a conflict"
        holders = claims_with(claim_graphs, (ID[leader], ENT.seeks, ID["end-of-the-syrian-civil-war"]))
        assert holders and all(claims_graph.value(c, ENT.modality) == ENT.ArticleVoice for c in holders)


# How the text refers to a state or a person besides its name (metonymy, descriptions, "Both").
REFERENCES = {
    ID.russia: ("Moscow", "Russian", "Our northern friend"),
    ID.iran: ("Tehran", "Iranian", "Islamic Republic", "our interest"),
    ID.syria: ("Damascus", "Syrian"),
    ID["ali-khamenei"]: ("ayatollah", "leaders of Iran", "Both want"),
    ID["vladimir-putin"]: ("leaders of Iran and Russia", "Both want", "he envisages"),
}


def test_evidence_names_who_the_relation_is_about(claim_graphs, claims_graph, facts):
    """A relation whose subject is a state or a person cites the words that name it, so the quote
    supports the fact on its own. Caught: "is a key ally in Iran's tussle" without Assad, Rouhani's
    needs without Rouhani, "darkly of a U.S. plot" without Khamenei, the hedged recession without it."""
    agents = {ENT.Person, ENT.SovereignState}
    checked = 0
    for name, g in claim_graphs.items():
        evidence = _evidence_text(claims_graph, name)
        for s, p, _ in g:
            if p in (RDF.type, RDFS.label, rdflib.SKOS.altLabel) or not set(facts.objects(s, RDF.type)) & agents:
                continue
            names = {str(x) for x in facts.objects(s, RDFS.label)} | {str(x) for x in facts.objects(s, rdflib.SKOS.altLabel)}
            names |= set(REFERENCES.get(s, ()))
            checked += 1
            assert any(n in evidence for n in names), f"{name}: {s} {p} — evidence does not name {s}"
    assert checked > 50
    neither = claims_with(claim_graphs, (ID["cash-to-rebuild-the-iranian-economy"], ENT.availableIn, ID.russia))
    assert neither and all("Neither is likely to be found in Russia" in _evidence_text(claims_graph, c) for c in neither)


def test_organizations_have_the_types_the_words_give(facts, claim_graphs, claims_graph):
    """'the Lebanon-based Hezbollah movement', 'the Guards' Quds Force', 'Iran's Revolutionary Guards',
    'Islamic State', 'Iran's Fars news agency' — named in the article's voice even in attributed sentences."""
    expect = [(ID.hezbollah, RDF.type, ENT.ArmedPoliticalMovement), (ID.hezbollah, ENT.basedIn, ID.lebanon),
              (ID["quds-force"], RDF.type, ENT.MilitaryUnit),
              (ID["quds-force"], ENT.partOf, ID["islamic-revolutionary-guard-corps"]),
              (ID["islamic-revolutionary-guard-corps"], RDF.type, ENT.ArmedForcesBranch),
              (ID["islamic-revolutionary-guard-corps"], ENT.partOf, ID.iran),
              (ID["islamic-state"], RDF.type, ENT.MilitantGroup),
              (ID["fars-news-agency"], RDF.type, ENT.NewsAgency), (ID["fars-news-agency"], ENT.basedIn, ID.iran)]
    for triple in expect:
        holders = claims_with(claim_graphs, triple)
        assert holders, triple
        assert all(claims_graph.value(c, ENT.modality) == ENT.ArticleVoice for c in holders), triple


# ---- qualifiers beside the modality: polarity, certainty, time reference ----

QUALIFIER_VALUES = {
    ENT.polarity: {ENT.Affirmed, ENT.Negated},
    ENT.certainty: {ENT.Certain, ENT.Probable, ENT.Possible},
    ENT.timeReference: {ENT.Past, ENT.Ongoing, ENT.Future, ENT.Hypothetical},
}


def test_every_claim_has_a_polarity_a_certainty_and_a_time_reference(claims_graph):
    claims = set(claims_graph.subjects(RDF.type, ENT.Claim))
    assert len(claims) > 150
    for c in claims:
        for prop, allowed in QUALIFIER_VALUES.items():
            values = set(claims_graph.objects(c, prop))
            assert len(values) == 1 and values <= allowed, (c, prop, values)


def test_negated_claims_cite_a_negation_and_hedges_cite_a_hedge(claims_graph):
    """The words decide: a negated claim's evidence says no; a probable or possible one hedges (also
    inside quotes: "may not share", "probably isn't", "could overtake"); a certain one does not."""
    negation = re.compile(r"\bNeither\b|\bNor\b|n[’']t\b|\bnot\b")
    hedges = {ENT.Probable: re.compile(r"likely|probably|reportedly"),
              ENT.Possible: re.compile(r"\bmay\b|\bcould\b|speculation")}
    negated = set(claims_graph.subjects(ENT.polarity, ENT.Negated))
    assert len(negated) >= 5
    for c in negated:
        assert negation.search(_evidence_text(claims_graph, c)), c
    for certainty, words in hedges.items():
        hedged = set(claims_graph.subjects(ENT.certainty, certainty))
        assert hedged
        for c in hedged:
            assert words.search(_evidence_text(claims_graph, c)), (c, certainty)
    for c in claims_graph.subjects(ENT.certainty, ENT.Certain):
        assert claims_graph.value(c, ENT.modality) != ENT.Hedged, c


def test_the_hard_cases_have_the_qualifiers_the_words_give(claims_graph):
    """The cases the review decided (docs/modelling.md, "Hard cases"): (polarity, certainty, time)."""
    expect = {
        "cash-and-technology-unlikely-in-russia": (ENT.Negated, ENT.Probable, ENT.Ongoing),   # "Neither is likely"
        "iran-cannot-depend-on-russia-in-the-middle-east": (ENT.Negated, ENT.Certain, ENT.Ongoing),  # "Nor can"
        "iran-not-worried-about-being-sold-out": (ENT.Negated, ENT.Probable, ENT.Ongoing),    # "probably isn't … not yet"
        "jafari-russia-may-not-share-interest-in-assad": (ENT.Negated, ENT.Possible, ENT.Ongoing),  # "may not share"
        "russia-could-overtake-iran-in-syria": (ENT.Affirmed, ENT.Possible, ENT.Future),     # "could overtake"
        "putin-russia-does-not-betray-allies": (ENT.Negated, ENT.Certain, ENT.Ongoing),      # "doesn't stab"
        "lavrov-not-saying-assad-must-go-or-stay": (ENT.Negated, ENT.Certain, ENT.Past),     # "wasn't saying"
        "turkey-assad-must-go-for-peace": (ENT.Affirmed, ENT.Certain, ENT.Hypothetical),     # "must go for … to have a chance"
        "several-countries-signal-assad-could-stay": (ENT.Affirmed, ENT.Possible, ENT.Hypothetical),
        "new-york-talks-on-syria": (ENT.Affirmed, ENT.Certain, ENT.Future),                  # "will again be present"
        "russian-loan-to-iran": (ENT.Affirmed, ENT.Certain, ENT.Past),
        "iranian-and-hezbollah-losses-in-syria": (ENT.Affirmed, ENT.Probable, ENT.Past),     # "have reportedly been killed"
    }
    for slug, qualifiers in expect.items():
        c = URIRef(CLAIM + slug)
        got = tuple(claims_graph.value(c, p) for p in (ENT.polarity, ENT.certainty, ENT.timeReference))
        assert got == qualifiers, slug


def test_assad_must_go_is_a_necessary_condition_not_a_cause(claim_graphs, facts):
    departure, peace = ID["departure-of-bashar-al-assad"], ID["peace-in-syria"]
    assert (departure, ENT.causes, peace) not in facts
    assert len(claims_with(claim_graphs, (departure, ENT.necessaryFor, peace))) == 3
    for who in ("syrian-opposition", "united-states", "turkey"):
        assert claims_with(claim_graphs, (ID[who], ENT.demands, departure)), who


def test_things_that_do_not_exist_yet_are_prospects_not_agreements_or_government_bodies(facts):
    prospects = {
        "syrian-peace-deal": ENT.Agreement, "syrian-cease-fire": ENT.Agreement,
        "future-moscow-backed-administration-in-syria": ENT.GovernmentBody,
        "syrian-power-sharing-administration": ENT.GovernmentBody,
    }
    for slug, kind in prospects.items():
        assert (ID[slug], RDF.type, ENT.Prospect) in facts, slug
        assert (ID[slug], ENT.prospectiveKind, kind) in facts, slug
        assert (ID[slug], RDF.type, kind) not in facts, slug
    for slug in ("departure-of-bashar-al-assad", "peace-in-syria", "iran-sold-out-at-the-negotiation-table",
                 "russia-overtaking-iran-in-syria", "iran-shift-toward-the-west"):
        assert (ID[slug], RDF.type, ENT.Prospect) in facts, slug
    assert (ID["iran-nuclear-deal"], RDF.type, ENT.Agreement) in facts   # the deal that was reached is real


def test_main_points_are_data_not_comments(claims_graph, claim_graphs):
    """A claim's rdfs:comment may add a nuance ("most concerned", "at least not yet"); it never carries
    the sentence's point: the comments are short and the claim graph holds triples of its own."""
    for c in claims_graph.subjects(RDFS.comment, None):
        comment = str(claims_graph.value(c, RDFS.comment))
        assert len(comment) <= 90, (c, comment)
        assert len(claim_graphs[c]) >= 1
    assert len(set(claims_graph.subjects(RDFS.comment, None))) <= 6


# ---- who speaks for the article, and when each claim was made ----

def test_each_claim_record_says_when_it_was_made_and_by_which_release(ds, claims_graph):
    """dcterms:created (and dcterms:modified when the claim changed since), prov:wasGeneratedBy a release
    described in graph:claims, issued on or after the claim's dates."""
    records = rdflib.Dataset().parse(DATA / "releases.trig", format="trig").graph(G_CLAIMS)
    releases = {r: str(records.value(r, rdflib.DCTERMS.issued)) for r in records.subjects(RDF.type, ENT.Release)}
    assert len(releases) >= 2 and all(releases.values())
    prov = Namespace("http://www.w3.org/ns/prov#")
    for c in claims_graph.subjects(RDF.type, ENT.Claim):
        created = [str(d) for d in claims_graph.objects(c, rdflib.DCTERMS.created)]
        modified = [str(d) for d in claims_graph.objects(c, rdflib.DCTERMS.modified)]
        made_by = list(claims_graph.objects(c, prov.wasGeneratedBy))
        hint = (f"{c}: a claim record says when it was made and by which release, e.g. dcterms:created "
                f'"2026-12-06"^^xsd:date ; prov:wasGeneratedBy rel:release-2026-12-06 (data/releases.trig)')
        assert len(made_by) == 1 and len(created) == 1 and len(modified) <= 1, hint
        release = made_by[0]
        assert release in releases, c
        assert releases[release] == max(created + modified), c


def test_the_article_voice_is_the_newsrooms_and_the_reports_are_the_primary_source(ds, claims_graph):
    metadata = rdflib.Graph().parse(ROOT / "seeds" / "metadata.ttl")
    assert (ARTICLE, rdflib.DCTERMS.publisher, NEWSROOM) in metadata
    assert (NEWSROOM, RDF.type, ENT.NewsAgency) in metadata
    prov = Namespace("http://www.w3.org/ns/prov#")
    clerics = URIRef(CLAIM + "clerics-finance-hezbollah")
    assert claims_graph.value(clerics, prov.hadPrimarySource) == ID["us-congressional-reports"]
    voice = set(claims_graph.subjects(ENT.assertedBy, NEWSROOM))
    assert len(voice) > 100 and all(claims_graph.value(c, ENT.reportedIn) == ARTICLE for c in voice)
