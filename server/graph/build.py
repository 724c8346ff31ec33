"""`entente build`: seeds/ + data/ + ontology/ → validate (shapes/) → reason (HermiT) → one TriG file.

Sources are parsed with rdflib (pySHACL and the reasoner need rdflib graphs anyway); the output is
written with pyoxigraph's TriG serializer from quads sorted by (graph, subject, predicate, object),
with blank nodes relabelled canonically per graph, so rebuilding unchanged sources gives the same bytes.
Nothing is written to the default graph.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF

from . import iris, validation
from .freshness import DEFAULT_LICENSE, digest_path, is_current, sources_digest  # noqa: F401 — build.is_current etc.
from .. import durable, resources

SEEDS_DIR = resources.SEEDS
DATA_DIR = resources.DATA
ONTOLOGY_DIR = resources.ONTOLOGY
NIF = rdflib.Namespace(iris.PREFIXES["nif"])
ENT = rdflib.Namespace(iris.ENT)
DCTERMS = rdflib.Namespace(iris.PREFIXES["dcterms"])
DEFAULT = rdflib.graph.DATASET_DEFAULT_GRAPH_ID


class BuildError(Exception):
    """A source problem the build cannot go past; the message says which file and what."""


def load_sources(seeds: Path | None = None, data: Path | None = None, ontology: Path | None = None) -> rdflib.Dataset:
    """All sources in one dataset: graph:article (seed text + metadata.ttl), data/*.trig as they name
    their graphs, and ontology/*.ttl in graph:ontology."""
    seeds, data, ontology = seeds or SEEDS_DIR, data or DATA_DIR, ontology or ONTOLOGY_DIR
    ds = rdflib.Dataset()
    article = ds.graph(URIRef(iris.GRAPH_ARTICLE))
    text_path = seeds / Path(iris.SEED_FILE).name
    if not text_path.exists():
        raise BuildError(f"{text_path}: the article text is missing")
    raw = text_path.read_bytes()
    text = raw.decode("utf-8")
    subject = URIRef(iris.ARTICLE)
    article.add((subject, RDF.type, NIF.Context))
    article.add((subject, RDF.type, ENT.NewsArticle))
    article.add((subject, NIF.isString, Literal(text)))
    article.add((subject, ENT.sha256, Literal(hashlib.sha256(raw).hexdigest())))
    metadata = seeds / "metadata.ttl"
    if metadata.exists():
        _parse(article, metadata, "turtle")

    for path in sorted(data.glob("*.trig")):
        part = rdflib.Dataset()
        _parse(part, path, "trig")
        for s, p, o, g in part.quads((None, None, None, None)):
            name = g if isinstance(g, URIRef) else getattr(g, "identifier", DEFAULT)
            if name == DEFAULT:
                raise BuildError(f"{path}: triple in the default graph ({s.n3()} {p.n3()} …); "
                                 "every triple belongs in a named graph")
            if str(name) in (iris.GRAPH_ONTOLOGY, iris.GRAPH_RIGHTS) or str(name).startswith(iris.GRAPH_INFERRED):
                raise BuildError(f"{path}: writes into {name}, which the build owns")
            ds.graph(name).add((s, p, o))

    onto = ds.graph(URIRef(iris.GRAPH_ONTOLOGY))
    for path in sorted(ontology.glob("*.ttl")):
        _parse(onto, path, "turtle")
    return ds


def _parse(target, path: Path, fmt: str) -> None:
    try:
        target.parse(path, format=fmt)
    except Exception as e:  # rdflib's parsers raise many kinds; their messages give the line
        raise BuildError(f"{path}: cannot parse as {fmt}: {e}") from e


BLOOMBERG_WORDS = ("The article's words are Bloomberg's: its text (nif:isString of {article}), its sentences "
                   "(their nif:anchorOf), headline, standfirst and photo caption, published by Bloomberg News. "
                   "They are not covered by the CC BY 4.0 licence of Entente's own data; Entente publishes them "
                   "as the evidence its claims quote.")
WITHHELD = ("The article's text is withheld (built with --no-full-text): the article keeps its SHA-256 (ent:sha256) "
            "and length in code points (nif:endIndex), the sentences their offsets; the headline, standfirst and "
            "photo caption are Bloomberg's words, not covered by the CC BY 4.0 licence of Entente's own data. "
            "`entente validate --article FILE` checks every span against a copy you hold.")
QUOTES = ("The quotes of the evidence spans (nif:anchorOf) are short excerpts of Bloomberg's article, quoted as "
          "evidence; their words remain Bloomberg's and are not covered by the CC BY 4.0 licence of Entente's "
          "own data.")


def add_rights(ds: rdflib.Dataset, license: str, full_text: bool = True) -> None:
    """graph:rights: for every named graph, the licence of Entente's own data (`dcterms:license`), and
    for the graphs that carry Bloomberg's words, a statement (`dcterms:rights`) of whose they are."""
    rights = ds.graph(URIRef(iris.GRAPH_RIGHTS))
    names = {g.identifier for g in ds.graphs() if g.identifier != DEFAULT and len(g)} | {rights.identifier}
    for name in sorted(names):
        rights.add((name, DCTERMS.license, URIRef(license)))
    article = BLOOMBERG_WORDS.format(article=iris.ARTICLE) if full_text else WITHHELD
    rights.add((URIRef(iris.GRAPH_ARTICLE), DCTERMS.rights, Literal(article, lang="en")))
    rights.add((URIRef(iris.GRAPH_CLAIMS), DCTERMS.rights, Literal(QUOTES, lang="en")))
    rights.add((URIRef(iris.ARTICLE), DCTERMS.rights, Literal(
        "The article is Bloomberg's work, published by Bloomberg News; not covered by Entente's licence.", lang="en")))


def withhold_text(ds: rdflib.Dataset) -> int:
    """--no-full-text: drop the article's text and its sentences' quotes (together they are the whole text);
    spans keep their quotes and offsets, the article its SHA-256 and length. The number of literals dropped."""
    article = ds.graph(URIRef(iris.GRAPH_ARTICLE))
    drop = list(article.triples((URIRef(iris.ARTICLE), NIF.isString, None)))
    for sentence in set(article.subjects(RDF.type, NIF.Sentence)):
        drop += list(article.triples((sentence, NIF.anchorOf, None)))
    for triple in drop:
        article.remove(triple)
    if (URIRef(iris.ARTICLE), ENT.sha256, None) not in article or (URIRef(iris.ARTICLE), NIF.endIndex, None) not in article:
        raise BuildError("--no-full-text needs the article's ent:sha256 and nif:endIndex (seeds/metadata.ttl)")
    return len(drop)


def to_quads(ds: rdflib.Dataset) -> list[ox.Quad]:
    """Sorted pyoxigraph quads; blank nodes get labels derived from their graph's canonical form."""
    quads = []
    for g in ds.graphs():
        if g.identifier == DEFAULT or not len(g):
            continue
        graph_name = ox.NamedNode(str(g.identifier))
        source = g
        if any(isinstance(t, BNode) for triple in g for t in triple):
            tag = hashlib.sha256(str(g.identifier).encode()).hexdigest()[:8]
            source = [tuple(BNode(f"g{tag}{t}") if isinstance(t, BNode) else t for t in triple)
                      for triple in to_canonical_graph(g)]
        for s, p, o in source:
            quads.append(ox.Quad(_term(s), _term(p), _term(o), graph_name))
    quads.sort(key=lambda q: (q.graph_name.value, _key(q.subject), q.predicate.value, _key(q.object)))
    return quads


def _term(t):
    if isinstance(t, URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, BNode):
        return ox.BlankNode(str(t))
    if t.language:
        return ox.Literal(str(t), language=t.language)
    if t.datatype:
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)))
    return ox.Literal(str(t))


def _key(term) -> tuple:
    if isinstance(term, ox.Literal):
        return (2, term.value, term.language or "", term.datatype.value)
    return (0 if isinstance(term, ox.NamedNode) else 1, term.value)


def write_trig(quads: list[ox.Quad], out: Path) -> int:
    """Write durably and atomically, so a failed build never leaves half a dataset."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=iris.PREFIXES)
    durable.write(out, data, mode=0o666)     # the dataset is public
    return len(data)


def sources_time() -> datetime.datetime:
    """The time recorded for this build: $SOURCE_DATE_EPOCH (reproducible-builds.org) if set, else the
    newest modification time of the sources, so that rebuilding unchanged sources gives the same bytes."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        stamp = int(os.environ["SOURCE_DATE_EPOCH"])
    else:
        paths = [p for d in (SEEDS_DIR, DATA_DIR, ONTOLOGY_DIR, validation.SHAPES_DIR) if d.exists()
                 for p in d.iterdir() if p.is_file()]
        stamp = max((p.stat().st_mtime for p in paths), default=0)
    return datetime.datetime.fromtimestamp(int(stamp), datetime.timezone.utc)


def graph_kind(name: str) -> str:
    if name.startswith(iris.CLAIM):
        return "claim graphs"
    if name.startswith(iris.GRAPH_INFERRED + "/"):
        return "inferred graphs"
    return name.replace(iris.GRAPH, "graph:")


def summary(quads: list[ox.Quad]) -> list[str]:
    per_graph = Counter(q.graph_name.value for q in quads)
    kinds: dict[str, list[int]] = {}
    for name, n in per_graph.items():
        k = kinds.setdefault(graph_kind(name), [0, 0])
        k[0] += 1
        k[1] += n
    lines = [f"  {kind:<28} {graphs:>4} graph(s) {triples:>7} triples" for kind, (graphs, triples) in sorted(kinds.items())]
    lines.append(f"  {'total':<28} {len(per_graph):>4} graph(s) {len(quads):>7} triples")
    return lines


def main(out: Path, reason: bool = True, full_text: bool = True, license: str = DEFAULT_LICENSE) -> int:
    """Build the dataset into `out`; 0 on success, 1 on invalid sources, violations or reasoner failure.
    full_text=False publishes the article without its text (validated with it first)."""
    timings = {}
    t = time.perf_counter()
    try:
        ds = load_sources()
    except BuildError as e:
        print(f"entente build: {e}", file=sys.stderr)
        return 1
    timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    report = validation.validate(ds, with_ontology=True)
    timings["validate"] = time.perf_counter() - t
    warnings = [r for r in report.results if r.severity != validation.SH.Violation]
    if not report.conforms or report.checked == 0:
        print(report.to_text())
        print("entente build: the sources do not conform to the shapes; nothing written", file=sys.stderr)
        return 1

    if reason:
        from . import reasoning

        t = time.perf_counter()
        try:
            result = reasoning.reason(ds, when=sources_time())
        except reasoning.ReasoningError as e:
            print(f"entente build: reasoning failed: {e}", file=sys.stderr)
            return 1
        for name, triples in result.graphs.items():
            graph = ds.graph(URIRef(name))
            for triple in triples:
                graph.add(triple)
        timings["reason"] = time.perf_counter() - t

    if not full_text:
        try:
            withheld = withhold_text(ds)
        except BuildError as e:
            print(f"entente build: {e}", file=sys.stderr)
            return 1
    add_rights(ds, license, full_text)

    t = time.perf_counter()
    quads = to_quads(ds)
    size = write_trig(quads, out)
    digest_path(out).write_text(sources_digest(full_text, license) + "\n")
    timings["write"] = time.perf_counter() - t

    print(f"entente build: wrote {out} ({size:,} bytes)")
    print("\n".join(summary(quads)))
    print(f"  SHACL: conforms; {report.checked} focus nodes checked against {report.shapes} shapes; "
          f"{len(warnings)} warning(s)" + "".join("\n    " + line for line in report.to_text().splitlines()[:-1]))
    if reason:
        print(f"  HermiT: {result.describe()}")
    if not full_text:
        print(f"  --no-full-text: {withheld} literals left out (the article's text, its sentences' quotes); "
              "check the spans with `entente validate --article FILE`")
    print("  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    return 0
