"""QuickStatements: every line parses with QuickStatements' own V1 parser (the tool's PHP, vendored in
tests/data/quickstatements, run with php-cli), and the statements are the ones an independent SPARQL
query over the built dataset selects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from server.exports import quickstatements
from server.exports.dataset import Data, DatasetFile

ROOT = Path(__file__).resolve().parent.parent
QS = ROOT / "tests" / "data" / "quickstatements"
ARTICLE_URL = "https://www.bloomberg.com/news/articles/2015-12-18/gifts-and-praise-can-t-obscure-limits-to-iran-russia-relations"

# The statements the article asserts flatly, with both ends and the property linked to Wikidata:
# written here as SPARQL over the built dataset, independently of server/exports/quickstatements.py.
EXPECTED = """
PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
SELECT DISTINCT ?sq ?pq ?oq ?quote WHERE {
  GRAPH ?claim { ?s ?p ?o }
  GRAPH ?records { ?claim a ent:Claim ; ent:modality ent:ArticleVoice ; ent:evidence ?span }
  GRAPH ?spans { ?span nif:anchorOf ?quote }
  FILTER NOT EXISTS { GRAPH ?n { ?claim ent:polarity ent:Negated } }
  FILTER NOT EXISTS { GRAPH ?c { ?claim ent:certainty ?certainty } FILTER(?certainty != ent:Certain) }
  FILTER NOT EXISTS { GRAPH ?t { ?claim ent:timeReference ?time } FILTER(?time IN (ent:Future, ent:Hypothetical)) }
  GRAPH ?l1 { ?s owl:sameAs ?sw . ?r1 ent:linkSubject ?s ; ent:linkObject ?sw }
  GRAPH ?l2 { ?o owl:sameAs ?ow . ?r2 ent:linkSubject ?o ; ent:linkObject ?ow }
  GRAPH ?a { ?p skos:closeMatch ?pw . ?r3 ent:linkSubject ?p ; ent:linkObject ?pw }
  FILTER(STRSTARTS(STR(?sw), "http://www.wikidata.org/entity/Q") && STRSTARTS(STR(?ow), "http://www.wikidata.org/entity/Q"))
  FILTER(STRSTARTS(STR(?pw), "http://www.wikidata.org/prop/direct/P"))
  BIND(STRAFTER(STR(?sw), "entity/") AS ?sq) BIND(STRAFTER(STR(?pw), "direct/") AS ?pq) BIND(STRAFTER(STR(?ow), "entity/") AS ?oq)
}"""


def parse_v1(text: str) -> list[dict]:
    """QuickStatements' own parser (importData(..., 'v1')); its commands, failing on any error it reports."""
    if shutil.which("php") is None:
        pytest.fail("php-cli is needed (scripts/setup.sh installs it)")
    result = subprocess.run(["php", str(QS / "v1_parse.php"), str(QS / "quickstatements.php")], input=text,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["status"] == "OK", parsed
    commands = parsed["data"]["commands"]
    errors = [c for c in commands if "error" in c]
    assert not errors, errors
    # A reference or qualifier value the parser cannot read becomes type "unknown" (its error is not passed up).
    unknown = [c for c in commands for v in c.get("sources", []) + ([c["qualifier"]] if "qualifier" in c else [])
               if v["value"]["type"] == "unknown"]
    assert not unknown, unknown
    return commands


def statements_of(commands: list[dict]) -> list[tuple[dict, dict]]:
    """(statement command, its sources command) pairs, in order."""
    pairs = []
    for i, c in enumerate(commands):
        if c["what"] == "statement":
            following = commands[i + 1:i + 3]
            sources = next(x for x in following if x["what"] == "sources")
            qualifiers = [x for x in following if x["what"] == "qualifier"]
            pairs.append((c, sources, qualifiers))
    return pairs


def test_the_parser_rejects_broken_lines():
    """The check can fail: QuickStatements' parser flags what is not V1."""
    with pytest.raises(AssertionError):
        parse_v1('Q794\tP1344\tQ178810\tS1683\ten:"unterminated\n')
    with pytest.raises(AssertionError):
        parse_v1("Q794\tP1344\tQ178810\tS854\n")      # a reference without its value


@pytest.fixture(scope="module")
def expected(built_dataset) -> set[tuple[str, str, str, str]]:
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    rows = {(r["sq"].value, r["pq"].value, r["oq"].value, r["quote"].value) for r in store.query(EXPECTED)}
    return {row for row in rows if "\n" not in row[3]}


def test_every_line_parses_and_the_statements_are_the_flat_linked_ones(server, expected, built_dataset):
    r = requests.get(server.url + "/export/quickstatements.txt", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert len(lines) == len(expected) > 5
    commands = parse_v1(r.text)
    pairs = statements_of(commands)
    assert len(pairs) == len(lines)
    store = ox.Store()
    store.bulk_load(path=str(built_dataset), format=ox.RdfFormat.TRIG)
    article = list(store.query("SELECT ?t WHERE { GRAPH ?g { ?a <http://persistence.uni-leipzig.org/nlp2rdf/"
                               "ontologies/nif-core#isString> ?t } }"))[0]["t"].value
    got = set()
    for statement, sources, qualifiers in pairs:
        assert statement["datavalue"]["type"] == "wikibase-entityid" and not qualifiers
        refs = {s["prop"]: s["value"] for s in sources["sources"]}
        assert refs["P854"] == {"type": "string", "value": ARTICLE_URL}
        assert refs["P1683"]["type"] == "monolingualtext" and refs["P1683"]["value"]["language"] == "en"
        quote = refs["P1683"]["value"]["text"]
        assert quote in article
        assert refs["P577"]["value"]["time"] == "+2015-12-18T00:00:00Z" and refs["P577"]["value"]["precision"] == 11
        assert refs["P813"]["type"] == "time"
        got.add((statement["item"], statement["property"], statement["datavalue"]["value"]["id"], quote))
    assert got == expected
    # The hedged report of Hezbollah's losses in Syria is not among them.
    assert not any(s["item"] == "Q41053" and s["property"] == "P1344" for s, _, _ in pairs)
    assert int(r.headers["X-Entente-Claims-Left-Out"]) >= 1


def test_include_attributed_and_bad_parameters(server):
    r = requests.get(server.url + "/export/quickstatements.txt", params={"include": "attributed"}, timeout=60)
    assert r.status_code == 200
    parse_v1(r.text)
    bad = requests.get(server.url + "/export/quickstatements.txt", params={"include": "everything"}, timeout=60)
    assert bad.status_code == 400 and "include" in bad.text


def test_the_cli_writes_what_the_server_serves_and_reports_what_it_left_out(server, built_dataset):
    result = subprocess.run([sys.executable, "-m", "server.cli", "export", "quickstatements", "--dataset",
                             str(built_dataset)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == requests.get(server.url + "/export/quickstatements.txt", timeout=60).text
    assert "claim/iranian-and-hezbollah-losses-in-syria: " in result.stderr      # hedged: left out, and said so


SMALL = """
@prefix ent: <https://w3id.org/entente/ontology#> . @prefix id: <https://w3id.org/entente/id/> .
@prefix claim: <https://w3id.org/entente/claim/> . @prefix span: <https://w3id.org/entente/span/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix wd: <http://www.wikidata.org/entity/> .
@prefix wdt: <http://www.wikidata.org/prop/direct/> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .
@prefix schema: <https://schema.org/> . @prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/entente/graph/article> { id:bloomberg-iran-russia-2015 nif:isString "A said B. C said D. E may F. G not H." ;
  schema:url <https://example.org/article> ; dcterms:issued "2015-12-18"^^xsd:date . }
<https://w3id.org/entente/graph/ontology> { ent:partOf skos:closeMatch wdt:P361 .
  ent:r ent:linkSubject ent:partOf ; ent:linkObject wdt:P361 . }
<https://w3id.org/entente/graph/linkset/wikidata> {
  id:a owl:sameAs wd:Q1 . ent:ra ent:linkSubject id:a ; ent:linkObject wd:Q1 .
  id:b owl:sameAs wd:Q2 . ent:rb ent:linkSubject id:b ; ent:linkObject wd:Q2 .
  id:speaker owl:sameAs wd:Q3 . ent:rs ent:linkSubject id:speaker ; ent:linkObject wd:Q3 . }
claim:flat { id:a ent:partOf id:b . }
claim:quoted { id:b ent:partOf id:a . }
claim:quoted-unknown-speaker { id:a ent:partOf id:a . }
claim:negated { id:b ent:partOf id:b . }
<https://w3id.org/entente/graph/claims> {
  claim:flat a ent:Claim ; ent:modality ent:ArticleVoice ; ent:assertedBy id:bloomberg-iran-russia-2015 ; ent:evidence span:0-8 .
  claim:quoted a ent:Claim ; ent:modality ent:DirectQuote ; ent:assertedBy id:speaker ; ent:evidence span:10-18 .
  claim:quoted-unknown-speaker a ent:Claim ; ent:modality ent:IndirectSpeech ; ent:assertedBy id:nobody ; ent:evidence span:10-18 .
  claim:negated a ent:Claim ; ent:modality ent:ArticleVoice ; ent:polarity ent:Negated ; ent:evidence span:30-38 .
  span:0-8 nif:anchorOf "A said B" ; nif:beginIndex 0 ; nif:endIndex 8 .
  span:10-18 nif:anchorOf "C said D" ; nif:beginIndex 10 ; nif:endIndex 18 .
  span:30-38 nif:anchorOf "G not H." ; nif:beginIndex 30 ; nif:endIndex 38 . }
"""


def test_attributed_claims_name_the_speaker_and_negated_ones_never_export(tmp_path):
    path = tmp_path / "small.trig"
    path.write_text(SMALL)
    data = Data.load(DatasetFile(path))
    default = quickstatements.statements(data)
    assert [(s.subject, s.property, s.value) for s in default.statements] == [("Q1", "P361", "Q2")]
    reasons = dict(default.skipped)
    assert reasons["https://w3id.org/entente/claim/negated"].startswith("negated")
    assert reasons["https://w3id.org/entente/claim/quoted"].startswith("attributed")
    attributed = quickstatements.statements(data, include_attributed=True)
    lines = quickstatements.lines(data, attributed)
    assert len(lines) == 2 and lines[1].startswith("Q2\tP361\tQ1\tP3680\tQ3\tS854\t")
    pairs = statements_of(parse_v1("\n".join(lines)))
    assert pairs[1][2][0]["qualifier"] == {"prop": "P3680", "value": {"type": "wikibase-entityid",
                                                                      "value": {"entity-type": "item", "id": "Q3"}}}
    assert "no Wikidata item" in dict(attributed.skipped)["https://w3id.org/entente/claim/quoted-unknown-speaker"]
    assert "https://w3id.org/entente/claim/negated" in dict(attributed.skipped)
