"""VoID and dumps over real HTTP: /.well-known/void follows the 303 recipe, every statistic equals
a count computed independently (rdflib's SPARQL over the dataset file), the Wikidata linkset,
licence, endpoint and dump links are there, and every dump parses back to the dataset with the
size and SHA-256 the VoID and the headers advertise. The tests run on the embedded store and on
Virtuoso (conftest.py), but for the public-URL one and the real dataset's (EMBEDDED_ONLY)."""

from __future__ import annotations

import base64
import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from rdflib.compare import isomorphic

from conftest import EMBEDDED_ONLY, MAINTAINER_TOKEN, LiveServer
from server import formats
from server.graph import iris

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),   # rdflib's own ConjunctiveGraph notices
              pytest.mark.backends("embedded", "virtuoso")]     # run on the embedded store and on Virtuoso (conftest.py)

SAMPLE = Path(__file__).parent / "data" / "linked-data-sample.trig"
VOID = rdflib.Namespace(iris.PREFIXES["void"])
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SD = rdflib.Namespace(iris.PREFIXES["sd"])
ENT = rdflib.Namespace(iris.ENT)
DCTERMS = rdflib.Namespace(iris.PREFIXES["dcterms"])
RDF_REIFIES = iris.PREFIXES["rdf"] + "reifies"
DATASET = rdflib.URIRef(iris.DATASET)
DUMPS = {"entente.trig": "application/trig", "entente.nq": "application/n-quads", "entente.ttl": "text/turtle",
         "entente.nt": "application/n-triples", "entente.rdf": "application/rdf+xml",
         "entente.jsonld": "application/ld+json", "entente-rdf12.ttl": "text/turtle"}
TRIPLE_ONLY = ("entente.ttl", "entente.nt", "entente.rdf", "entente.jsonld")
PROV = rdflib.Namespace(iris.PREFIXES["prov"])
FIGURES = ("triples", "entities", "classes", "properties", "distinctSubjects", "distinctObjects")


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory, backend):
    live = LiveServer(tmp_path_factory.mktemp("void") / "store", SAMPLE, backend=backend).start()
    yield live
    live.stop()


INTEGERS = {rdflib.XSD[t] for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                            "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt",
                            "unsignedShort", "unsignedByte")}


def canonical(term):
    """The literal as the store keeps it: pyoxigraph's store turns every xsd integer type into
    xsd:integer and writes decimals canonically (5000000000.0 → 5000000000), so compare like that."""
    if isinstance(term, rdflib.Literal) and term.datatype in INTEGERS:
        return rdflib.Literal(str(int(str(term))), datatype=rdflib.XSD.integer)
    if isinstance(term, rdflib.Literal) and term.datatype == rdflib.XSD.decimal:
        text = format(Decimal(str(term)).normalize(), "f")
        return rdflib.Literal(text, datatype=rdflib.XSD.decimal)
    return term


def load(path: Path) -> rdflib.Dataset:
    """The dataset file, with literals as the store keeps them."""
    source = rdflib.Dataset()
    source.parse(str(path), format="trig")
    ds = rdflib.Dataset(default_union=True)
    for s, p, o, g in source.quads((None, None, None, None)):
        ds.add((s, p, canonical(o), g))
    return ds


def fetch_void(url: str) -> rdflib.Graph:
    r = requests.get(url + "/void.ttl", timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    return rdflib.Graph().parse(data=r.content, format="turtle")


def number(graph: rdflib.Graph, subject, prop) -> int:
    values = list(graph.objects(subject, prop))
    assert len(values) == 1, f"{subject} has {len(values)} values for {prop}"
    return int(values[0])


def one(ds: rdflib.Dataset, query: str) -> int:
    return int(next(iter(ds.query(query)))[0])


def expected_totals(ds: rdflib.Dataset) -> dict[str, int]:
    """The dataset's figures by rdflib's SPARQL over the RDF merge of all graphs."""
    merged = "{ SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    return {
        "triples": one(ds, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),   # every graph's triples
        "entities": one(ds, f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} '
                            f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iris.BASE}")) }}'),
        "classes": one(ds, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?g { ?s a ?c } }"),
        "properties": one(ds, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {merged}"),
        "distinctSubjects": one(ds, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {merged}"),
        "distinctObjects": one(ds, f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {merged}"),
    }


def expected_per_graph(ds: rdflib.Dataset) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for g in ds.graphs():
        if not len(g) or g.identifier == rdflib.Dataset().default_graph.identifier:
            continue
        triples = list(g)
        subjects = {s for s, _, _ in triples}
        result[str(g.identifier)] = {
            "triples": len(triples),
            "entities": len({s for s in subjects if isinstance(s, rdflib.URIRef) and str(s).startswith(iris.BASE)}),
            "classes": len({o for _, p, o in triples if p == rdflib.RDF.type}),
            "properties": len({p for _, p, _ in triples}),
            "distinctSubjects": len(subjects),
            "distinctObjects": len({o for _, _, o in triples}),
        }
    return result


def check_statistics(void: rdflib.Graph, ds: rdflib.Dataset) -> dict[str, int]:
    totals = expected_totals(ds)
    for name, value in totals.items():
        assert number(void, DATASET, VOID[name]) == value, f"void:{name}"
    per_graph = expected_per_graph(ds)
    assert totals["triples"] == sum(figures["triples"] for figures in per_graph.values())
    subsets = {str(void.value(s, SD.name)): s for s in void.objects(DATASET, VOID.subset) if void.value(s, SD.name)}
    assert set(subsets) == set(per_graph), "one void:subset per named graph"
    for graph, figures in per_graph.items():
        for name, value in figures.items():
            assert number(void, subsets[graph], VOID[name]) == value, f"void:{name} of {graph}"
    # class partitions: distinct instances per class; property partitions: distinct triples per property
    classes = {row.c: int(row.n) for row in ds.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } FILTER(isIRI(?c)) } GROUP BY ?c")}
    found = {void.value(p, VOID["class"]): number(void, p, VOID.entities) for p in void.objects(DATASET, VOID.classPartition)}
    assert found == classes
    properties = {row.p: int(row.n) for row in ds.query(
        "SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p")}
    found = {void.value(p, VOID.property): number(void, p, VOID.triples) for p in void.objects(DATASET, VOID.propertyPartition)}
    assert found == properties
    return totals


def attribution(ds: rdflib.Dataset) -> tuple[set, set]:
    """(triples the triple-only dumps may assert, triples of claims that are not asserted flatly), worked
    out here with rdflib from the dataset file: a claim is flat when it is in the article's voice,
    affirmed, certain, past or ongoing (each stated, as in CQ23); an inferred graph counts when all its
    sources are flat; every other graph (article, claim records, ontology, linkset) counts."""
    claims, flat = set(), set()
    for records in ds.graphs():
        for claim in records.subjects(rdflib.RDF.type, ENT.Claim):
            claims.add(claim)
            if ((claim, ENT.modality, ENT.ArticleVoice) in records
                    and set(records.objects(claim, ENT.polarity)) == {ENT.Affirmed}
                    and set(records.objects(claim, ENT.certainty)) == {ENT.Certain}
                    and len(set(records.objects(claim, ENT.timeReference))) == 1
                    and set(records.objects(claim, ENT.timeReference)) <= {ENT.Past, ENT.Ongoing}):
                flat.add(claim)
    allowed, attributed = set(), set()
    for g in ds.graphs():
        name = g.identifier
        if name in claims:
            (allowed if name in flat else attributed).update(g)
        elif (name, rdflib.RDF.type, ENT.InferredGraph) in g:
            sources = set(g.objects(name, PROV.wasDerivedFrom))
            if sources and sources <= flat:
                allowed.update(g)
        else:
            allowed.update(g)
    return allowed, attributed - allowed


def check_dumps(url: str, void: rdflib.Graph, ds: rdflib.Dataset) -> dict[str, int]:
    """Every dump: advertised in VoID with what it holds, size and SHA-256 as advertised; TriG and N-Quads
    parse back to the dataset, graph by graph; the triple-only dumps hold exactly what may be asserted
    plainly — no quoted, reported, hedged, negated, future or hypothetical claim's triple unless it is
    also asserted flatly; the RDF 1.2 dump holds that plus every claim triple as a reified triple term."""
    sizes = {}
    asserted_subset = rdflib.URIRef(iris.DATASET + "#asserted")
    assert (DATASET, VOID.subset, asserted_subset) in void
    advertised = {str(d) for d in void.objects(DATASET, VOID.dataDump)} | \
        {str(d) for d in void.objects(asserted_subset, VOID.dataDump)}
    assert advertised == {f"{url}/dumps/{name}" for name in DUMPS}
    assert {str(d) for d in void.objects(asserted_subset, VOID.dataDump)} == {f"{url}/dumps/{n}" for n in TRIPLE_ONLY}
    allowed, attributed = attribution(ds)
    assert attributed, "the data has claims that are not asserted flatly"
    for name, media_type in DUMPS.items():
        dump_url = rdflib.URIRef(f"{url}/dumps/{name}")
        r = requests.get(dump_url, headers={"Accept-Encoding": "identity"}, timeout=120)
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == media_type
        assert "Content-Encoding" not in r.headers
        digest = hashlib.sha256(r.content).digest()
        assert int(r.headers["Content-Length"]) == len(r.content) == number(void, dump_url, DCAT.byteSize)
        assert str(void.value(dump_url, ENT.sha256)) == digest.hex()
        assert r.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
        assert void.value(dump_url, DCTERMS.description), f"VoID says what {name} holds"
        zipped = requests.get(dump_url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=120)
        raw = zipped.raw.read(decode_content=False)
        assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(raw) == r.content
        assert zipped.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(raw).digest()).decode()}:"
        assert zipped.headers["ETag"] != r.headers["ETag"]
        assert str(void.value(dump_url, DCAT.mediaType)) == media_type
        fmt = formats.by_extension(name.rsplit(".", 1)[1])
        if name in TRIPLE_ONLY:    # parsed by rdflib, not by the library that wrote it
            parsed = rdflib.Graph()
            for s, p, o in rdflib.Graph().parse(data=r.content, format=fmt.rdflib):
                parsed.add((s, p, canonical(o)))
            assert isomorphic(parsed, graph_of(allowed)), name
            assert not set(parsed) & attributed, f"{name} asserts an attributed claim's triple"
            assert number(void, dump_url, VOID.triples) == len(parsed) == number(void, asserted_subset, VOID.triples)
        elif name == "entente-rdf12.ttl":   # RDF 1.2: rdflib cannot read it; Oxigraph's parser (W3C-tested) can
            parsed = [tuple(from_ox(t) for t in (x.subject, x.predicate, x.object))
                      for x in ox.parse(r.content, format=ox.RdfFormat.TURTLE)]
            plain = {t for t in parsed if not isinstance(t[2], tuple)}
            reified = {(s, o) for s, p, o in parsed if str(p) == RDF_REIFIES}
            assert len(plain) + len(reified) == len(set(parsed))
            assert isomorphic(graph_of(plain), graph_of(allowed | graph_descriptions(ds)))
            assert not plain & attributed, "the RDF 1.2 dump asserts an attributed claim's triple"
            for s, p, o, g in ds.quads((None, None, None, None)):   # every claim triple, reified by its claim
                if (g, rdflib.RDF.type, ENT.Claim) in ds:
                    assert (g, (s, p, o)) in reified, (g, s, p, o)
            assert number(void, dump_url, VOID.triples) == len(set(parsed))
        else:                      # every named graph kept
            parsed = rdflib.Dataset()
            parsed.parse(data=r.content, format=fmt.rdflib)
            # literals as load() keeps them: the embedded store writes xsd:nonNegativeInteger as xsd:integer,
            # Virtuoso keeps the datatype it was given
            got = {str(g.identifier): graph_of((s, p, canonical(o)) for s, p, o in g)
                   for g in parsed.graphs() if len(g)}
            want = {str(g.identifier): g for g in ds.graphs() if len(g)}
            assert set(got) == set(want), name
            for graph in want:
                assert isomorphic(got[graph], want[graph]), f"graph {graph} in {name}"
        again = requests.get(dump_url, headers={"If-None-Match": r.headers["ETag"], "Accept-Encoding": "identity"},
                             timeout=60)
        assert again.status_code == 304
        sizes[name] = len(r.content)
    return sizes


def graph_of(triples) -> rdflib.Graph:
    g = rdflib.Graph()
    for t in triples:
        g.add(t)
    return g


def graph_descriptions(ds: rdflib.Dataset) -> set:
    """What each inferred graph says about itself: the graph, its reasoning run, what the run used."""
    out = set()
    for g in ds.graphs():
        name = g.identifier
        if (name, rdflib.RDF.type, ENT.InferredGraph) in g:
            describers = {name} | set(g.objects(None, PROV.used))
            out |= {t for t in g if t[0] in describers or str(t[0]).startswith(str(name) + "#")}
    return out


def from_ox(term):
    """A pyoxigraph term as rdflib's (a triple term as a tuple), literals as the store keeps them."""
    if isinstance(term, ox.Triple):
        return tuple(from_ox(t) for t in (term.subject, term.predicate, term.object))
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    if term.datatype.value == str(rdflib.XSD.string):    # RDF 1.1: a simple literal is an xsd:string
        return rdflib.Literal(term.value)
    return canonical(rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value)))


# --- the sample -------------------------------------------------------------------------------------

def test_well_known_void_follows_the_303_recipe(sample_server):
    for path in ("/.well-known/void", "/void", "/dataset"):
        for fmt in formats.RDF:
            r = requests.get(sample_server.url + path, headers={"Accept": fmt.media_type}, allow_redirects=False,
                             timeout=30)
            assert r.status_code == 303 and r.headers["Location"] == f"{sample_server.url}/void.{fmt.extension}"
            assert "accept" in r.headers["Vary"].lower()
    r = requests.get(sample_server.url + "/.well-known/void", timeout=30)   # followed, with no Accept
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    assert requests.get(sample_server.url + "/.well-known/void", headers={"Accept": "image/png"},
                        timeout=30).status_code == 406


def test_void_parses_to_the_same_triples_in_every_format(sample_server):
    reference = fetch_void(sample_server.url)
    for fmt in formats.RDF:
        r = requests.get(f"{sample_server.url}/void.{fmt.extension}", timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == fmt.media_type
        if fmt.kind == "dataset":
            ds = rdflib.Dataset()
            ds.parse(data=r.content, format=fmt.rdflib)
            graph = rdflib.Graph()
            for s, p, o, _ in ds.quads((None, None, None, None)):
                graph.add((s, p, o))
        else:
            graph = rdflib.Graph().parse(data=r.content, format=fmt.rdflib)
        assert isomorphic(graph, reference), fmt.name
    assert requests.get(sample_server.url + "/void.csv", timeout=30).status_code == 404


def test_void_statistics_equal_independent_counts(sample_server):
    ds = load(SAMPLE)
    totals = check_statistics(fetch_void(sample_server.url), ds)
    assert totals["triples"] > 100 and totals["classes"] > 5   # the check saw real figures
    distinct = len({(s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))})
    assert totals["triples"] == distinct + 1       # the sample holds one triple in two graphs; both count
    health = requests.get(sample_server.url + "/health", timeout=30).json()
    assert health["triples"] == totals["triples"]  # one figure for the size of the dataset, everywhere


def test_void_describes_linkset_licence_endpoint_and_uri_space(sample_server):
    void = fetch_void(sample_server.url)
    url = sample_server.url
    assert (DATASET, rdflib.RDF.type, VOID.Dataset) in void
    assert (DATASET, rdflib.DCTERMS.license, rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")) in void
    assert (DATASET, VOID.sparqlEndpoint, rdflib.URIRef(url + "/sparql")) in void
    assert (DATASET, VOID.uriSpace, rdflib.Literal(iris.BASE)) in void
    assert (DATASET, VOID.exampleResource, rdflib.URIRef(iris.ID + "iran")) in void
    assert (DATASET, VOID.vocabulary, rdflib.URIRef(iris.ENT)) in void
    assert void.value(DATASET, rdflib.DCTERMS.title) is not None
    check_linkset(void, load(SAMPLE))


def check_linkset(void: rdflib.Graph, ds: rdflib.Dataset) -> int:
    """The Linkset is the linkset graph itself, with its links counted; what the data says of it agrees."""
    linkset = rdflib.URIRef(iris.GRAPH_LINKSET)
    assert list(void.subjects(rdflib.RDF.type, VOID.Linkset)) == [linkset]
    assert linkset in set(void.objects(DATASET, VOID.subset))
    assert void.value(linkset, VOID.linkPredicate) == rdflib.OWL.sameAs
    assert void.value(linkset, VOID.subjectsTarget) == DATASET
    wikidata = void.value(linkset, VOID.objectsTarget)
    assert void.value(wikidata, VOID.uriSpace) == rdflib.Literal(iris.WIKIDATA_ENTITY)
    links = {(s, o) for s, o in ds.subject_objects(rdflib.OWL.sameAs) if str(o).startswith(iris.WIKIDATA_ENTITY)}
    assert number(void, linkset, VOID.triples) == len(links)
    assert number(void, linkset, VOID.distinctSubjects) == len({s for s, _ in links})
    assert number(void, linkset, VOID.distinctObjects) == len({o for _, o in links})
    for prop in (VOID.triples, VOID.distinctSubjects, VOID.distinctObjects, VOID.objectsTarget):
        said = set(ds.objects(linkset, prop))          # the linkset graph's own description, if any
        assert not said or said == set(void.objects(linkset, prop)), prop
    return len(links)


def test_dumps_parse_and_match_their_advertised_size_and_checksum(sample_server):
    sizes = check_dumps(sample_server.url, fetch_void(sample_server.url), load(SAMPLE))
    assert set(sizes) == set(DUMPS)
    r = requests.get(sample_server.url + "/dumps/entente.xml", timeout=30)
    assert r.status_code == 404 and "/dumps/entente.ttl" in r.text


@EMBEDDED_ONLY      # the URL mapping is the web layer's
def test_void_links_point_at_the_public_url(make_server):
    live = make_server(dataset=SAMPLE, extra_args=["--public-url", "http://example.org/base"])
    r = requests.get(live.url + "/.well-known/void", headers={"Accept": "text/turtle"}, allow_redirects=False,
                     timeout=30)
    assert r.headers["Location"] == "http://example.org/base/void.ttl"
    void = fetch_void(live.url)
    assert (DATASET, VOID.sparqlEndpoint, rdflib.URIRef("http://example.org/base/sparql")) in void
    assert (DATASET, VOID.dataDump, rdflib.URIRef("http://example.org/base/dumps/entente.trig")) in void


# --- the real dataset -------------------------------------------------------------------------------

@EMBEDDED_ONLY      # ~60 s, mostly rdflib reading the dumps; on Virtuoso the sample's VoID and dumps are checked
def test_real_void_and_dumps(server, built_dataset):
    void = fetch_void(server.url)
    ds = load(built_dataset)
    totals = check_statistics(void, ds)
    sizes = check_dumps(server.url, void, ds)
    links = check_linkset(void, ds)
    assert links > 0
    # rights: the dataset's licence covers Entente's data; the article's words are Bloomberg's, per graph
    assert "Bloomberg" in str(void.value(DATASET, DCTERMS.rights))
    article = rdflib.URIRef(iris.DATASET + "#graph/article")
    assert (article, SD.name, rdflib.URIRef(iris.GRAPH_ARTICLE)) in void
    assert "not covered by the CC BY 4.0" in str(void.value(article, DCTERMS.rights))
    for subset in void.objects(DATASET, VOID.subset):
        graph = void.value(subset, SD.name)
        if graph is not None and str(graph).startswith(iris.BASE):   # every graph of the build
            assert void.value(subset, DCTERMS.license) is not None, graph
    print(f"VoID of the real dataset: {totals}, linkset {links} links, "
          f"{len(list(void.objects(DATASET, VOID.subset)))} graphs, dumps {sizes}")


def test_a_write_is_seen_at_once_in_void_dumps_and_documents(make_server):
    """Statistics and dumps are cached per store version: a write makes new ones."""
    live = make_server(dataset=SAMPLE)
    before = fetch_void(live.url)
    dump_before = requests.get(live.url + "/dumps/entente.nq", timeout=60).content
    new, graph = iris.ID + "written-thing", iris.GRAPH + "test-write"
    assert requests.get(live.url + "/id/written-thing.ttl", timeout=30).status_code == 404
    update = f'INSERT DATA {{ GRAPH <{graph}> {{ <{new}> <{rdflib.RDFS.label}> "Written"@en ; a <{iris.ENT}Person> }} }}'
    r = requests.post(live.url + "/sparql", data={"update": update},
                      headers={"Authorization": f"Bearer {MAINTAINER_TOKEN}"}, timeout=60)
    assert r.status_code in (200, 204), r.text
    after = fetch_void(live.url)
    assert number(after, DATASET, VOID.triples) == number(before, DATASET, VOID.triples) + 2
    assert number(after, DATASET, VOID.entities) == number(before, DATASET, VOID.entities) + 1
    assert graph in {str(g) for g in after.objects(None, SD.name)}
    dump_url = rdflib.URIRef(live.url + "/dumps/entente.nq")
    dump_after = requests.get(dump_url, headers={"Accept-Encoding": "identity"}, timeout=60).content
    assert dump_after != dump_before and f"<{new}>".encode() in dump_after
    assert str(after.value(dump_url, ENT.sha256)) == hashlib.sha256(dump_after).hexdigest()
    r = requests.get(live.url + "/id/written-thing", headers={"Accept": "text/turtle"}, allow_redirects=False,
                     timeout=30)
    assert r.status_code == 303


def test_void_does_not_depend_on_the_result_limit(make_server):
    live = make_server(dataset=SAMPLE, extra_args=["--max-results", "5"])
    check_statistics(fetch_void(live.url), load(SAMPLE))
