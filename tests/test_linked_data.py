"""Dereferencing over real HTTP: the 303 recipe for every kind of IRI, document twins in every
format (each parses back to the same triples), 404/406, HEAD, the public-URL mapping, and — on
the real built dataset — every IRI Entente mints. The tests run on the embedded store and on
Virtuoso (conftest.py), but for two marked EMBEDDED_ONLY."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import rdflib
import requests
from rdflib.compare import isomorphic

from conftest import CONTRIBUTOR_TOKEN, EMBEDDED_ONLY, MAINTAINER_TOKEN, LiveServer
from server.graph import describe, iris
from server import formats
from server.web.linked_data import split_extension

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),   # rdflib's own ConjunctiveGraph notices
              pytest.mark.backends("embedded", "virtuoso")]     # run on the embedded store and on Virtuoso (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "data" / "linked-data-sample.trig"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDFS_LABEL = rdflib.RDFS.label
RDFS_LABEL_IRI = str(rdflib.RDFS.label)
ENT = rdflib.Namespace(iris.ENT)
ID = rdflib.Namespace(iris.ID)
NIF = rdflib.Namespace(iris.PREFIXES["nif"])
DOCUMENT_FORMATS = (formats.HTML,) + formats.RDF
MANY = 205   # incoming statements of id:middle-east in the sample: more than the 200 a document holds

# One IRI of every kind the sample holds: (data IRI, the server path of its thing URL).
KINDS = {
    "entity": iris.ID + "iran",
    "article": iris.ARTICLE,
    "class": iris.ENT + "SovereignState",
    "property": iris.ENT + "finances",
    "ontology": iris.ONTOLOGY,
    "ontology version": iris.ONTOLOGY_VERSION,
    "claim": iris.CLAIM + "clerics-finance-hezbollah",
    "span": iris.SPAN + "28-68",
    "sentence": iris.SENTENCE + "2",
    "graph (claims)": iris.GRAPH_CLAIMS,
    "graph (linkset)": iris.GRAPH_LINKSET,
    "graph (inferred)": iris.GRAPH_INFERRED + "/article",
    "contribution": iris.CONTRIBUTION + "c42",
}


def thing_path(iri: str) -> str:
    """The server path that names `iri` (hash IRIs are fetched without their fragment)."""
    return "/" + iri.split("#", 1)[0][len(iris.BASE):]


def parse(body: bytes, fmt: formats.Format) -> rdflib.Graph:
    """The triples of a document (a dataset's graphs merged)."""
    if fmt.kind == "dataset":
        ds = rdflib.Dataset()
        ds.parse(data=body, format=fmt.rdflib)
        merged = rdflib.Graph()
        for s, p, o, _ in ds.quads((None, None, None, None)):
            merged.add((s, p, o))
        return merged
    return rdflib.Graph().parse(data=body, format=fmt.rdflib)


def graphs_of(body: bytes, fmt: formats.Format) -> dict[str, rdflib.Graph]:
    ds = rdflib.Dataset()
    ds.parse(data=body, format=fmt.rdflib)
    return {str(g.identifier): g for g in ds.graphs() if len(g)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The sample dataset plus MANY incoming statements of id:middle-east."""
    path = tmp_path_factory.mktemp("sample") / "sample.trig"
    extra = "".join(f"<{iris.ID}place-{i}> <{iris.ENT}locatedIn> <{iris.ID}middle-east> .\n" for i in range(MANY))
    path.write_text(SAMPLE.read_text() + f"\n<{iris.CLAIM}places> {{\n{extra}}}\n")
    return path


@pytest.fixture(scope="module")
def ld(sample, tmp_path_factory, backend):
    live = LiveServer(tmp_path_factory.mktemp("ld") / "store", sample, backend=backend).start()
    yield live
    live.stop()


def get(url: str, accept: str | None = None, headers: dict | None = None) -> requests.Response:
    headers = {**({"Accept": accept} if accept else {}), **(headers or {})}
    return requests.get(url, headers=headers, allow_redirects=False, timeout=30)


# --- the recipe ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_iri_answers_303_to_its_document_by_accept(ld, kind):
    path = thing_path(KINDS[kind])
    for fmt in DOCUMENT_FORMATS:
        r = get(ld.url + path, fmt.media_type)
        assert r.status_code == 303, (path, fmt.name, r.text)
        assert r.headers["Location"] == f"{ld.url}{path}.{fmt.extension}"
        assert "accept" in r.headers["Vary"].lower()
        doc = get(r.headers["Location"])
        assert doc.status_code == 200, (r.headers["Location"], doc.text[:300])
        assert doc.headers["Content-Type"].split(";")[0] == fmt.media_type
        assert "accept" in doc.headers["Vary"].lower()


def test_browsers_and_wildcards_get_html_and_rdf_clients_their_format(ld):
    assert get(ld.url + "/id/iran", BROWSER).headers["Location"].endswith("/id/iran.html")
    assert get(ld.url + "/id/iran", "*/*").headers["Location"].endswith("/id/iran.html")
    assert get(ld.url + "/id/iran").headers["Location"].endswith("/id/iran.html")
    assert get(ld.url + "/id/iran", "text/turtle;q=0.9, application/ld+json").headers["Location"].endswith(".jsonld")
    assert get(ld.url + "/id/iran", "text/html;q=0.1, text/turtle").headers["Location"].endswith(".ttl")
    assert get(ld.url + "/id/iran", "application/n-quads").headers["Location"].endswith(".nq")


@pytest.mark.parametrize("kind", KINDS)
def test_every_format_of_a_document_parses_to_the_same_triples(ld, kind):
    path = thing_path(KINDS[kind])
    graphs = {}
    for fmt in formats.RDF:
        r = get(f"{ld.url}{path}.{fmt.extension}")
        assert r.status_code == 200
        graphs[fmt.name] = parse(r.content, fmt)
    reference = graphs["turtle"]
    assert len(reference) > 0
    for name, graph in graphs.items():
        assert isomorphic(graph, reference), f"{path}.{name} differs from {path}.ttl"


def test_description_has_outgoing_incoming_labels_and_evidence(ld):
    g = parse(get(ld.url + "/id/hezbollah.ttl").content, formats.by_name("turtle"))
    clerics, claim, span = ID["iran-ruling-clerics"], rdflib.URIRef(KINDS["claim"]), rdflib.URIRef(KINDS["span"])
    assert (ID.hezbollah, rdflib.RDF.type, ENT.Organization) in g                   # outgoing
    assert (clerics, ENT.finances, ID.hezbollah) in g                               # incoming
    assert (clerics, RDFS_LABEL, rdflib.Literal("Iran's ruling clerics", lang="en")) in g  # label of a linked thing
    assert (claim, ENT.assertedBy, ID["us-congressional-reports"]) in g             # evidence: claim metadata
    assert (claim, ENT.modality, ENT.ReportedClaim) in g
    assert (claim, ENT.evidence, span) in g
    assert (span, NIF.anchorOf, rdflib.Literal("Iran’s ruling clerics finance Hezbollah")) in g
    assert (span, NIF.beginIndex, rdflib.Literal(28)) in g
    assert (ID["us-congressional-reports"], RDFS_LABEL, None) in g                 # the asserter's label


def test_dataset_formats_keep_the_claim_graphs(ld):
    for fmt in formats.DATASETS:
        graphs = graphs_of(get(f"{ld.url}/id/hezbollah.{fmt.extension}").content, fmt)
        assert (ID["iran-ruling-clerics"], ENT.finances, ID.hezbollah) in graphs[KINDS["claim"]]
        assert (rdflib.URIRef(KINDS["claim"]), ENT.modality, ENT.ReportedClaim) in graphs[iris.GRAPH_CLAIMS]
        assert (ID.hezbollah, ENT.backs, ID.iran) in graphs[iris.CONTRIBUTION + "c42#claim-1"]
        assert (rdflib.URIRef(iris.CONTRIBUTION + "c42#claim-1"), ENT.modality, ENT.IndirectSpeech) \
            in graphs[iris.CONTRIBUTION + "c42"]
        default = graphs.pop(str(rdflib.graph.DATASET_DEFAULT_GRAPH_ID))
        assert all(g.startswith(iris.BASE) for g in graphs), "every named graph of a description is one of ours"
        # the default graph holds every triple once, for clients that read only it (Comunica; issue 10 item 11)
        assert set(default) == set().union(*(set(g) for g in graphs.values()))


def test_a_graph_document_holds_the_graph(ld):
    graphs = graphs_of(get(ld.url + "/claim/clerics-finance-hezbollah.trig").content, formats.by_name("trig"))
    assert set(graphs[KINDS["claim"]]) == {(ID["iran-ruling-clerics"], ENT.finances, ID.hezbollah)}
    linkset = parse(get(ld.url + "/graph/linkset/wikidata.nt").content, formats.by_name("nt"))
    assert (ID.russia, rdflib.OWL.sameAs, rdflib.URIRef("http://www.wikidata.org/entity/Q159")) in linkset


def test_a_contribution_document_holds_its_record_metadata_and_claim_graphs(ld):
    graphs = graphs_of(get(ld.url + "/contribution/c42.trig").content, formats.by_name("trig"))
    claim = rdflib.URIRef(iris.CONTRIBUTION + "c42#claim-1")
    assert (rdflib.URIRef(iris.CONTRIBUTION + "c42"), ENT.state, ENT.Accepted) in graphs[iris.GRAPH + "contributions"]
    assert (claim, ENT.assertedBy, ID["us-congressional-reports"]) in graphs[iris.CONTRIBUTION + "c42"]
    assert set(graphs[str(claim)]) == {(ID.hezbollah, ENT.backs, ID.iran)}


def test_hash_iris_resolve_through_the_ontology_document(ld):
    r = get(ld.url + "/ontology", "text/turtle")
    assert r.headers["Location"] == ld.url + "/ontology.ttl"
    g = parse(get(r.headers["Location"]).content, formats.by_name("turtle"))
    assert (ENT.SovereignState, RDFS_LABEL, rdflib.Literal("sovereign state", lang="en")) in g
    assert (ENT.finances, rdflib.RDFS.subPropertyOf, ENT.backs) in g
    restriction = g.value(ENT.SovereignState, rdflib.RDFS.subClassOf)          # blank nodes come whole
    assert (restriction, rdflib.OWL.someValuesFrom, ENT.Organization) in g
    version = parse(get(ld.url + "/ontology/1.0.0.ttl").content, formats.by_name("turtle"))
    assert isomorphic(version, g)


def test_many_incoming_statements_are_capped_with_a_link_to_the_query(ld, sample):
    g = parse(get(ld.url + "/id/middle-east.ttl").content, formats.by_name("turtle"))
    incoming = set(g.subjects(ENT.locatedIn, ID["middle-east"]))
    assert len(incoming) == 200
    link = g.value(ID["middle-east"], rdflib.RDFS.seeAlso)
    assert link is not None and str(link).startswith(ld.url + "/sparql?")
    query = parse_qs(urlsplit(str(link)).query)["query"][0]
    result = rdflib.Dataset().parse(str(sample), format="trig").query(query)
    assert len(result) == MANY + 6   # the link gives the full list: every incoming statement
    answer = requests.get(str(link), headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert answer.status_code == 200 and len(answer.json()["results"]["bindings"]) == MANY + 6


# --- describe(): what the pages are handed ------------------------------------------------------------

@pytest.fixture(scope="module")
def store(sample, tmp_path_factory):
    """The sample in a store of our own, in this process (describe() is a function over the store API)."""
    from server.settings import Settings
    from server.store import Store

    s = Store(Settings(data_dir=tmp_path_factory.mktemp("describe") / "store"))
    s.load_dataset(sample)
    return s


def statement(description, predicate: str, value: str):
    found = [s for s in description.outgoing + description.incoming
             if s.predicate.value == predicate and value in (s.subject.value, s.object.value)]
    assert len(found) == 1, (predicate, value, found)
    return found[0]


def test_describe_gives_label_types_comment_and_wikidata(store):
    d = describe.describe(store, iris.ID + "iran")
    assert d.exists and d.label == "Iran"                               # @en preferred over @de
    assert [t.value for t in d.types] == [iris.ENT + "SovereignState"] and d.types[0].label == "sovereign state"
    assert d.comment == "A country in western Asia."
    assert [n.value for n in d.same_as] == ["http://www.wikidata.org/entity/Q794"]


def test_describe_gives_each_statement_its_evidence(store):
    d = describe.describe(store, iris.ID + "hezbollah")
    reported = statement(d, iris.ENT + "finances", iris.ID + "iran-ruling-clerics")
    assert reported.subject.label == "Iran's ruling clerics" and reported.graphs == [KINDS["claim"]]
    [evidence] = reported.evidence
    assert (evidence.claim, evidence.modality, evidence.modality_label) == \
        (KINDS["claim"], iris.ENT + "ReportedClaim", "reported by U.S. Congressional reports")
    assert (evidence.quote, evidence.begin, evidence.end, evidence.span) == \
        ("Iran’s ruling clerics finance Hezbollah", 28, 68, KINDS["span"])
    assert evidence.asserter.label == "U.S. Congressional reports" and evidence.contribution is None
    [contributed] = statement(d, iris.ENT + "backs", iris.ID + "iran").evidence
    assert contributed.contribution == iris.CONTRIBUTION + "c42"
    assert contributed.modality_label == "said (paraphrased)" and contributed.quote.startswith("Iran’s")
    label = statement(d, RDFS_LABEL_IRI, "Hezbollah")
    assert label.object.kind == "literal" and label.object.language == "en"


def test_describe_marks_inferred_statements_and_plain_graphs(store):
    d = describe.describe(store, iris.ID + "russia")
    inferred = [s for s in d.outgoing if s.graphs == [iris.GRAPH_INFERRED + "/article"]]
    assert [e.modality_label for s in inferred for e in s.evidence] == ["inferred from what the article says"]
    assert statement(d, str(rdflib.OWL.sameAs), "http://www.wikidata.org/entity/Q159").evidence == []


def test_describe_caps_incoming_and_knows_graphs(store):
    d = describe.describe(store, iris.ID + "middle-east")
    assert len(d.incoming) == describe.INCOMING_LIMIT and d.incoming_total == MANY + 6
    claim = describe.describe(store, KINDS["claim"])
    assert (claim.graph, claim.graph_size) == (KINDS["claim"], 1)
    ontology = describe.describe(store, iris.ONTOLOGY_VERSION)
    assert ontology.exists and ontology.graph == iris.GRAPH_ONTOLOGY and ontology.graph_size > 20
    assert not describe.describe(store, iris.ID + "nothing").exists
    assert not describe.describe(store, "not an <iri>").exists


# --- errors, HEAD, links ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/id/no-such-thing", "/id/no-such-thing.ttl", "/claim/nothing.html",
                                  "/span/1-2", "/sentence/999", "/graph/nothing", "/contribution/none",
                                  "/id/a%20b", "/id/a%3Eb.ttl", "/ontology/9.9.9"])
def test_unknown_iris_are_404(ld, path):
    r = get(ld.url + path, "text/turtle")
    assert r.status_code == 404
    assert "accept" in r.headers["Vary"].lower()


def test_an_unknown_extension_is_404_naming_the_documents_there_are(ld):
    r = get(ld.url + "/id/iran.xyz", "text/plain")
    assert r.status_code == 404 and "/id/iran.ttl" in r.text and "/id/iran.jsonld" in r.text


def test_unknown_iri_gives_an_html_page_to_browsers(ld):
    r = get(ld.url + "/id/no-such-thing", BROWSER)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "Nothing is known about" in r.text


def test_unacceptable_accept_is_406(ld):
    r = get(ld.url + "/id/iran", "image/png")
    assert r.status_code == 406
    assert "text/turtle" in r.text       # says what is acceptable
    assert "accept" in r.headers["Vary"].lower()
    assert get(ld.url + "/id/iran", "text/turtle;q=0, text/html;q=0, */*;q=0").status_code == 406


def test_head_answers_like_get_without_a_body(ld):
    r = requests.head(ld.url + "/id/iran", headers={"Accept": "text/turtle"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"].endswith("/id/iran.ttl") and not r.content
    plain = {"Accept-Encoding": "identity"}
    r = requests.head(ld.url + "/id/iran.ttl", headers=plain, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle") and not r.content
    assert int(r.headers["Content-Length"]) == len(get(ld.url + "/id/iran.ttl", headers=plain).content)


def test_documents_link_their_other_formats_and_the_licence(ld):
    links = requests.utils.parse_header_links(get(ld.url + "/id/iran.ttl").headers["Link"])
    assert {"url": "https://creativecommons.org/licenses/by/4.0/", "rel": "license"} in links
    assert {"url": ld.url + "/dataset", "rel": "http://rdfs.org/ns/void#inDataset"} in links
    alternates = {link["type"]: link["url"] for link in links if link["rel"] == "alternate"}
    assert alternates["application/ld+json"] == ld.url + "/id/iran.jsonld"
    assert alternates["text/html"] == ld.url + "/id/iran.html"


def test_documents_revalidate_with_their_etag(ld):
    first = get(ld.url + "/id/iran.nt")
    assert first.headers.get("ETag")
    again = get(ld.url + "/id/iran.nt", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.content


def test_html_document_escapes_literals(ld):
    r = get(ld.url + "/id/tehran.html")
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;" in r.text


# --- public URL mapping ----------------------------------------------------------------------------

@EMBEDDED_ONLY      # the URL mapping is the web layer's
def test_public_url_maps_the_base_iri_onto_the_server(make_server):
    live = make_server(dataset=SAMPLE, extra_args=["--public-url", "http://example.org/base"])
    r = get(live.url + "/id/iran", "text/turtle")
    assert r.status_code == 303 and r.headers["Location"] == "http://example.org/base/id/iran.ttl"
    r = get(live.url + "/ontology/1.0.0", "application/ld+json")
    assert r.headers["Location"] == "http://example.org/base/ontology/1.0.0.jsonld"
    # RDF keeps the data IRIs (they are the identifiers); links for people point at the server.
    g = parse(get(live.url + "/id/iran.ttl").content, formats.by_name("turtle"))
    assert (ID.iran, ENT.allyOf, ID.russia) in g
    page = get(live.url + "/id/iran.html").text
    assert "http://example.org/base/id/russia" in page
    links = requests.utils.parse_header_links(get(live.url + "/id/iran.ttl").headers["Link"])
    assert {"url": "http://example.org/base/id/iran.nt", "rel": "alternate", "type": "application/n-triples"} in links


# --- the real dataset -------------------------------------------------------------------------------

def minted_iris(dataset: Path) -> dict[str, set[str]]:
    """Every IRI under the base in the built dataset (subjects, predicates, objects, graph names), by kind."""
    ds = rdflib.Dataset()
    ds.parse(str(dataset), format="trig")
    found: set[str] = set()
    for s, p, o, g in ds.quads((None, None, None, None)):
        for term in (s, p, o, g):
            if isinstance(term, rdflib.URIRef) and str(term).startswith(iris.BASE):
                found.add(str(term))
    kinds: dict[str, set[str]] = {}
    for iri in found:
        kind = "ontology" if "#" in iri else iri[len(iris.BASE):].split("/", 1)[0]
        kinds.setdefault(kind, set()).add(iri)
    return kinds


def sample_of_every_kind(paths: list[str], per_kind: int = 4) -> list[str]:
    """A deterministic sample with every kind of IRI: per kind (the first path segment, the second for
    graphs: claims, linkset, inferred, …, and the article), the first, the last and evenly spaced ones."""
    kinds: dict[str, list[str]] = {}
    for path in sorted(paths):
        parts = path.strip("/").split("/")
        kind = "article" if path == thing_path(iris.ARTICLE) else "/".join(parts[:2 if parts[0] == "graph" else 1])
        kinds.setdefault(kind, []).append(path)
    chosen = set()
    for found in kinds.values():
        step = max(1, (len(found) - 1) / (per_kind - 1))
        chosen |= {found[min(len(found) - 1, round(i * step))] for i in range(per_kind)}
    return sorted(chosen)


def test_every_iri_of_the_real_dataset_dereferences(server, built_dataset, backend):
    """On the embedded store every IRI; on Virtuoso a deterministic sample that has every kind of IRI
    (sample_of_every_kind, ~50 of the ~700 URLs): the whole sweep takes minutes there (each document is
    several engine queries), and the code that answers is the same for every IRI of one kind."""
    kinds = minted_iris(built_dataset)
    for kind in ("id", "claim", "span", "sentence", "graph", "ontology"):
        assert kinds.get(kind), f"the built dataset has no {kind} IRIs"
    paths = sorted({thing_path(iri) for found in kinds.values() for iri in found})
    if backend != "embedded":
        paths = sample_of_every_kind(paths)
        kinds = {kind: {iri for iri in found if thing_path(iri) in paths} for kind, found in kinds.items()}
    session = requests.Session()

    def dereference(path: str) -> tuple[str, rdflib.Graph]:
        r = requests.get(server.url + path, headers={"Accept": "text/turtle"}, allow_redirects=False, timeout=60)
        assert r.status_code == 303, (path, r.status_code, r.text[:200])
        document_path = "/void" if path == "/dataset" else path     # the dataset's document is its VoID
        assert r.headers["Location"] == f"{server.url}{document_path}.ttl", (path, r.headers["Location"])
        assert "accept" in r.headers["Vary"].lower()
        doc = requests.get(r.headers["Location"], timeout=60)
        assert doc.status_code == 200 and doc.headers["Content-Type"].startswith("text/turtle"), path
        graph = rdflib.Graph().parse(data=doc.content, format="turtle")
        assert len(graph) > 0, path
        return path, graph

    with ThreadPoolExecutor(max_workers=4) as pool:     # the server runs several workers
        documents = dict(pool.map(dereference, paths))
    # The document reached from an IRI speaks about it (hash IRIs: the document of their base).
    # A graph name that nothing speaks about is present as its graph in the TriG twin.
    every = [iri for found in kinds.values() for iri in found]
    for iri in every:
        term, graph = rdflib.URIRef(iri), documents[thing_path(iri)]
        if (term, None, None) in graph or (None, None, term) in graph:
            continue
        trig = session.get(f"{server.url}{thing_path(iri)}.trig", timeout=30).content
        assert iri in graphs_of(trig, formats.by_name("trig")), f"{thing_path(iri)} says nothing of <{iri}>"
    print(f"dereferenced {len(paths)} URLs for {len(every)} IRIs of the real dataset")


@EMBEDDED_ONLY      # on Virtuoso every format of every kind of IRI is compared on the sample (above)
def test_real_documents_agree_across_formats(server, built_dataset):
    kinds = minted_iris(built_dataset)
    for kind, found in sorted(kinds.items()):
        path = thing_path(sorted(found)[0])
        path = "/void" if path == "/dataset" else path
        reference = parse(get(f"{server.url}{path}.ttl").content, formats.by_name("turtle"))
        for fmt in formats.RDF:
            other = parse(get(f"{server.url}{path}.{fmt.extension}").content, fmt)
            assert isomorphic(other, reference), f"{path}.{fmt.extension} differs from {path}.ttl"


# --- a contribution, end to end -----------------------------------------------------------------------

def test_a_contribution_dereferences_before_and_after_it_is_accepted(make_server):
    live = make_server(dataset=SAMPLE)
    body = (Path(__file__).parent / "data" / "contributions" / "good-katz-friendly.trig").read_bytes()
    r = requests.post(live.url + "/contributions", data=body, timeout=120,
                      headers={"Content-Type": "application/trig", "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"})
    assert r.status_code == 201, r.text
    location, contribution = r.headers["Location"], r.json()["iri"]
    assert location == live.url + thing_path(contribution)
    seen = get(location, "application/trig")
    assert seen.status_code == 303 and seen.headers["Location"] == location + ".trig"
    pending = graphs_of(get(location + ".trig").content, formats.by_name("trig"))
    pending.pop(str(rdflib.graph.DATASET_DEFAULT_GRAPH_ID))       # (every triple again, for default-graph readers)
    assert set(pending) == {iris.GRAPH + "contributions"}         # the record only: pending data is not served
    claim = rdflib.URIRef(contribution + "#katz-russia-israel")
    assert (ID.russia, ENT.friendlyWith, ID.israel) not in parse(get(live.url + "/id/russia.ttl").content,
                                                                 formats.by_name("turtle"))

    r = requests.post(f"{live.url}/contributions/{r.json()['id']}/accept", data={"reason": "checked"}, timeout=120,
                      headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"})
    assert r.status_code == 200, r.text
    accepted = graphs_of(get(location + ".trig").content, formats.by_name("trig"))
    assert set(accepted[str(claim)]) == {(ID.russia, ENT.friendlyWith, ID.israel)}
    assert (claim, ENT.assertedBy, ID["mark-katz"]) in accepted[contribution]
    russia = graphs_of(get(live.url + "/id/russia.trig").content, formats.by_name("trig"))
    assert (ID.russia, ENT.friendlyWith, ID.israel) in russia[str(claim)]      # in the entity's document,
    assert (claim, ENT.modality, ENT.DirectQuote) in russia[contribution]       # with its evidence


def test_the_curl_examples_of_the_docs_work_on_the_real_dataset(server):
    """docs/linked-data.md (and the README's linked-data line) stay true: each curl line gets the status
    its comment or form implies."""
    lines = [line for line in (ROOT / "docs" / "linked-data.md").read_text().splitlines() if line.startswith("curl ")]
    assert len(lines) >= 8
    lines += [line for line in (ROOT / "README.md").read_text().splitlines()
              if line.startswith("curl ") and "http://127.0.0.1:8000/id/" in line]
    for line in lines:
        command, _, comment = line.partition("#")
        path = re.search(r"(?:\$S|http://127\.0\.0\.1:8000)(/\S*)", command).group(1)
        headers = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", command))
        follow = re.search(r"\s-s?L\b|\s-sL", command) is not None
        expected = next((int(code) for code in ("404", "406") if code in comment), None)
        if expected is None:
            expected = 303 if not follow and split_extension(path.lstrip("/"))[1] is None \
                and not path.startswith("/dumps/") else 200
        r = requests.get(server.url + path, headers=headers, allow_redirects=follow, timeout=60)
        assert r.status_code == expected, (line, r.status_code, r.text[:200])


def test_description_quads_bring_blank_nodes_whole(store):
    """An OWL restriction pointing at a class comes with its other statements, in its graph."""
    quads = describe.description_quads(store, iris.ENT + "Organization")
    restriction = [q.subject for q in quads if q.object.value == iris.ENT + "Organization"
                   and q.predicate.value == str(rdflib.OWL.someValuesFrom)]
    assert len(restriction) == 1
    about = {(q.predicate.value, q.object.value, q.graph_name.value) for q in quads if q.subject == restriction[0]}
    assert (str(rdflib.OWL.onProperty), iris.ENT + "governedBy", iris.GRAPH_ONTOLOGY) in about
    assert (str(rdflib.RDF.type), str(rdflib.OWL.Restriction), iris.GRAPH_ONTOLOGY) in about


def test_documents_do_not_depend_on_the_result_limit(ld, sample, make_server):
    """--max-results guards users' queries; the server's own queries page through it."""
    small = make_server(dataset=sample, extra_args=["--max-results", "5"])
    for path in ("/id/iran", "/id/hezbollah", "/id/middle-east", "/ontology", "/claim/clerics-finance-hezbollah",
                 "/graph/claims", "/contribution/c42"):
        for fmt in (formats.by_name("turtle"), formats.by_name("nquads")):
            mine = get(f"{small.url}{path}.{fmt.extension}")
            assert mine.status_code == 200, (path, mine.text[:300])
            reference = get(f"{ld.url}{path}.{fmt.extension}").content.replace(ld.url.encode(), small.url.encode())
            if fmt.kind == "dataset":
                assert graphs_of(mine.content, fmt).keys() == graphs_of(reference, fmt).keys(), path
            assert isomorphic(parse(mine.content, fmt), parse(reference, fmt)), path
    assert get(small.url + "/id/iran.html").status_code == 200
