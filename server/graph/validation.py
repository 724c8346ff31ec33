"""SHACL validation of Entente data (the article's and contributions), with reports people can read.

pySHACL does the checking with `shapes/*.ttl`. What SHACL cannot see is added here as explicitly
named extra checks (source shape `shapes:ClaimGraphRule`): pySHACL validates one graph, so we hand
it the *union* of a dataset (facts and their metadata live in different graphs), and a constraint
on the union cannot see graph names. The rule "every fact lives in a claim graph that has claim
metadata" is therefore checked on the dataset itself, before the union is taken.

The evidence rule (a span's quote equals the article text at its offsets) needs the article text
in the data graph. A contribution citing the article does not carry that text, so `validate()`
always adds the article's `nif:isString` from `seeds/` (a contribution that gives the article
another text then breaks the at-most-one-text rule).
It also adds the article's publisher (`iris.PUBLISHER`): a claim in the article's own voice is
attributed to that newsroom, and the shapes check it against `dcterms:publisher`.

Length: over 400 lines because pySHACL's run, the named checks SHACL cannot express and the readable
report are one flow; each check is a short function of its own.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pyshacl
import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, SH, NamespaceManager
from rdflib.plugins.sparql import prepareQuery

from .. import children, formats

from . import iris
from .. import resources

SHAPES_DIR = resources.SHAPES
# SHACL validation runs at a lower CPU priority than queries: on a 2-core machine a few validations
# would otherwise hold the cores while queries wait (issue 11: 32 mixed clients).
VALIDATION_NICE = 10
ONTOLOGY_DIR = resources.ONTOLOGY
SEED_PATH = resources.SEEDS / Path(iris.SEED_FILE).name
SHAPES = iris.BASE + "shapes#"              # namespace of our shapes: shapes:ClaimShape, …
CLAIM_GRAPH_RULE = URIRef(SHAPES + "ClaimGraphRule")
ONTOLOGY_SHAPES = {URIRef(SHAPES + "OntologyShape"), URIRef(SHAPES + "TermShape")}  # shapes about the ontology itself

ENT = rdflib.Namespace(iris.ENT)
NIF = rdflib.Namespace(iris.PREFIXES["nif"])
ARTICLE = URIRef(iris.ARTICLE)
DCTERMS_PUBLISHER = URIRef("http://purl.org/dc/terms/publisher")

# Named graphs that are not claim graphs (prefixes end with "/").
SPECIAL_GRAPHS = (iris.GRAPH_ARTICLE, iris.GRAPH_CLAIMS, iris.GRAPH_ONTOLOGY, iris.GRAPH_CONTRIBUTIONS,
                  iris.GRAPH_SOURCE, iris.GRAPH_TIME, iris.GRAPH_NAMES, iris.GRAPH_RIGHTS, iris.GRAPH_DATES)
SPECIAL_GRAPH_PREFIXES = (iris.GRAPH + "linkset/", iris.GRAPH_INFERRED + "/")
# Classes whose nodes are metadata (allowed outside claim graphs): claims, spans, documents, contributions.
METADATA_CLASSES = tuple(ENT[c] for c in ("Claim", "EvidenceSpan", "Document", "NewsArticle", "Report",
                                          "Contribution", "InferredGraph", "LinkVerification", "Release")) + (NIF.Context,)


@dataclass(frozen=True)
class Result:
    """One validation result, as pySHACL (or an extra check) reported it."""

    focus_node: rdflib.term.Node
    result_path: rdflib.term.Node | None
    value: rdflib.term.Node | None
    message: str
    severity: URIRef
    source_shape: rdflib.term.Node | None
    component: URIRef | None = None
    node_shape: rdflib.term.Node | None = None   # the named shape that holds an anonymous source shape
    constraint: rdflib.term.Node | None = None   # sh:sourceConstraint (e.g. shapes:EvidenceRule)

    @property
    def shape(self) -> rdflib.term.Node | None:
        """The shape to name in a report: a named SPARQL constraint (shapes:EvidenceRule), else the
        named node shape that holds the source shape, else the source shape."""
        if isinstance(self.constraint, URIRef):
            return self.constraint
        return self.node_shape or self.source_shape

    def to_json(self) -> dict:
        def s(term):
            return None if term is None else (f"_:{term}" if isinstance(term, BNode) else str(term))
        return {"focusNode": s(self.focus_node), "resultPath": s(self.result_path), "value": s(self.value),
                "message": self.message, "severity": s(self.severity), "sourceShape": s(self.source_shape),
                "sourceConstraintComponent": s(self.component), "nodeShape": s(self.shape),
                "sourceConstraint": s(self.constraint)}

    def sort_key(self):
        return (str(self.focus_node), str(self.result_path), str(self.source_shape), self.message)


class Report:
    """A SHACL validation report: `conforms`, `results`, `checked` (focus nodes checked)."""

    def __init__(self, results: list[Result], checked: int, shapes: int, graph: rdflib.Graph):
        self.results = sorted(results, key=Result.sort_key)
        self.checked = checked
        self.shapes = shapes
        self._graph = graph

    @property
    def conforms(self) -> bool:
        return not any(r.severity == SH.Violation for r in self.results)

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == SH.Violation]

    def __getstate__(self):
        """Pickled to cross from the validation process: the report graph travels as its triples."""
        return {**self.__dict__, "_graph": list(self._graph)}

    def __setstate__(self, state):
        graph = rdflib.Graph()
        for triple in state.pop("_graph"):
            graph.add(triple)
        self.__dict__.update(state, _graph=graph)

    def to_json(self) -> dict:
        return {"conforms": self.conforms, "checked": self.checked, "shapes": self.shapes,
                "results": [r.to_json() for r in self.results]}

    def to_graph(self) -> rdflib.Graph:
        """The `sh:ValidationReport` (pySHACL's results plus our extra checks' results)."""
        g = rdflib.Graph(namespace_manager=_namespaces())
        for triple in self._graph:
            g.add(triple)
        report = next(g.subjects(RDF.type, SH.ValidationReport), None) or BNode()
        g.add((report, RDF.type, SH.ValidationReport))
        g.set((report, SH.conforms, Literal(self.conforms)))
        for r in self.results:
            if r.source_shape != CLAIM_GRAPH_RULE:
                continue
            node = BNode()
            g.add((report, SH.result, node))
            g.add((node, RDF.type, SH.ValidationResult))
            g.add((node, SH.focusNode, r.focus_node))
            g.add((node, SH.resultSeverity, r.severity))
            g.add((node, SH.resultMessage, Literal(r.message)))
            g.add((node, SH.sourceShape, r.source_shape))
            if r.value is not None:
                g.add((node, SH.value, r.value))
        return g

    def to_text(self) -> str:
        """One line per result, then a summary line; IRIs written with our prefixes."""
        nm = _namespaces()

        def short(term):
            if term is None:
                return "-"
            if isinstance(term, URIRef):
                return term.n3(nm)
            if isinstance(term, Literal):
                text = str(term)
                return repr(text if len(text) <= 80 else text[:77] + "...")
            return f"_:{term}"

        lines = []
        for r in self.results:
            level = str(r.severity).rsplit("#", 1)[-1]
            where = short(r.focus_node) + (f" {short(r.result_path)}" if r.result_path is not None else "")
            value = f" = {short(r.value)}" if r.value is not None and r.value != r.focus_node else ""
            lines.append(f"{level}: {where}{value}: {r.message} [{short(r.shape)}]")
        verdict = "conforms" if self.conforms else f"does NOT conform: {len(self.violations)} violation(s)"
        lines.append(f"SHACL: {verdict}; {self.checked} focus nodes checked against {self.shapes} shapes.")
        return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def _namespaces() -> NamespaceManager:
    nm = NamespaceManager(rdflib.Graph(), bind_namespaces="none")
    for prefix, ns in {**iris.PREFIXES, "shapes": SHAPES}.items():
        nm.bind(prefix, ns, override=True)
    return nm


@functools.lru_cache(maxsize=None)
def _load_turtle_dir(directory: Path) -> rdflib.Graph:
    """Every *.ttl of a folder in one graph, parsed once per process (callers get copies)."""
    g = rdflib.Graph()
    for path in sorted(directory.glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


def _copy(source: rdflib.Graph) -> rdflib.Graph:
    g = rdflib.Graph()
    for triple in source:
        g.add(triple)
    return g


def _load_shapes_cached() -> rdflib.Graph:
    return _load_turtle_dir(SHAPES_DIR)


def _load_ontology_cached() -> rdflib.Graph:
    return _load_turtle_dir(ONTOLOGY_DIR)


def load_shapes() -> rdflib.Graph:
    """All of shapes/*.ttl in one graph (a copy: callers may change it)."""
    return _copy(_load_shapes_cached())


def load_ontology() -> rdflib.Graph:
    """All of ontology/*.ttl in one graph (a copy)."""
    return _copy(_load_ontology_cached())


@functools.lru_cache(maxsize=1)
def load_article_text() -> str:
    """The article, exactly as in seeds/ (bytes decoded as UTF-8; no newline translation)."""
    return SEED_PATH.read_bytes().decode("utf-8")


def _named_node_shapes(shapes: rdflib.Graph) -> list[URIRef]:
    return sorted(s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef))


def shape_count(shapes: rdflib.Graph) -> int:
    """Node and property shapes (named or not) in the shapes graph."""
    nodes = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(RDF.type, SH.PropertyShape))
    nodes |= set(shapes.objects(None, SH.property))
    return len(nodes)


def validate(data: rdflib.Dataset | rdflib.Graph, *, with_ontology: bool = True,
             article_text: str | None = None) -> Report:
    """Validate `data` (a dataset is validated as the union of its graphs) against shapes/*.ttl.

    with_ontology: mix the ontology's triples into the data graph, so an instance of a subclass
    meets the shapes of its superclasses (SHACL's class semantics follow rdfs:subClassOf). We do not
    ask pySHACL for inference="rdfs": owlrl's RDFS closure took 55 s on the 4.5k-triple dataset
    (1.6 s without) and adds nothing the shapes need. article_text: the article's text for the evidence rule
    (default: the text in seeds/).
    """
    if not isinstance(data, rdflib.Dataset):  # a plain graph is a dataset with only a default graph
        ds = rdflib.Dataset()
        for triple in data:
            ds.add(triple)
        data = ds
    extra = claim_graph_results(data)
    union = _CachingGraph()
    for q in data.quads((None, None, None, None)):    # `data` is a Dataset by now
        union.add(q[:3])
    text = load_article_text() if article_text is None else article_text
    union.add((ARTICLE, NIF.isString, Literal(text)))
    union.add((ARTICLE, DCTERMS_PUBLISHER, URIRef(iris.PUBLISHER)))   # whose voice the article is
    shapes = _load_shapes_cached()
    use_shapes = None
    if with_ontology:
        if not any(str(s).startswith((iris.ENT, iris.ONTOLOGY)) for s in union.subjects(unique=True)):
            # The ontology comes from us, not from the data: don't re-check its own terms
            # (a third of the time of checking a small contribution).
            use_shapes = [str(s) for s in _named_node_shapes(shapes) if s not in ONTOLOGY_SHAPES]
        for triple in _load_ontology_cached():
            union.add(triple)

    _, results_graph, _ = pyshacl.validate(union, shacl_graph=shapes, inference=None, advanced=True,
                                           inplace=True, allow_warnings=True, use_shapes=use_shapes)
    return Report(_results(results_graph, shapes) + extra, checked=_focus_node_count(shapes, union, use_shapes),
                  shapes=shape_count(shapes), graph=results_graph)


TimedOut = children.TimedOut       # validation ran past its time limit; the process doing it was killed


def validate_within(data: rdflib.Dataset | rdflib.Graph, timeout: float, **options) -> Report:
    """`validate(data, **options)` in a child forked for it, killed after `timeout` seconds (TimedOut).

    pySHACL cannot be interrupted; a killed child costs nothing. The child inherits the loaded shapes,
    ontology and prepared queries (warmed here once per process), so the fork adds milliseconds, not
    the seconds of a cold start."""
    warm()
    try:
        return children.run(validate, data, timeout=timeout, nice=VALIDATION_NICE, **options)
    except children.Failed as e:
        raise RuntimeError(f"validation failed: {e}") from None


_WARM_LOCK = threading.Lock()
_warmed = False


def warm() -> None:
    """Load shapes, ontology and article, and prepare the shapes' SPARQL, in this process: a child
    forked afterwards starts warm (cold, the first validation takes ~1 s longer). Under a lock: rdflib's
    SPARQL parser is not thread-safe, and this is the only validation that runs in a worker's threads."""
    global _warmed
    with _WARM_LOCK:
        if not _warmed:
            validate(rdflib.Graph().parse(data=_WARM_UP, format="turtle"), with_ontology=True)
            _warmed = True


_WARM_UP = f"""@prefix ent: <{iris.ENT}> . @prefix nif: <{iris.PREFIXES["nif"]}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<urn:x:claim> a ent:Claim ; ent:modality ent:ArticleVoice ; ent:assertedBy <urn:x:a> ;
  ent:reportedIn <{iris.ARTICLE}> ; ent:evidence <urn:x:span> .
<urn:x:span> a ent:EvidenceSpan ; nif:referenceContext <{iris.ARTICLE}> ; nif:anchorOf "x" ;
  nif:beginIndex "0"^^xsd:nonNegativeInteger ; nif:endIndex "1"^^xsd:nonNegativeInteger .
<urn:x:a> a ent:Person ; rdfs:label "a" .
"""


class _CachingGraph(rdflib.Graph):
    """A graph that parses each SPARQL text once. pySHACL runs a SPARQL constraint once per focus
    node with the same text (the focus node is an initial binding); rdflib re-parses it every time,
    which made validation 30x slower (45 s instead of 1.6 s on the dataset)."""

    _prepared: dict[str, object] = {}

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            prepared = self._prepared.get(query_object)
            if prepared is None:
                prepared = self._prepared[query_object] = prepareQuery(query_object)
            query_object = prepared
        return super().query(query_object, *args, **kwargs)


def _named_shape(shapes: rdflib.Graph, node):
    """The named shape an anonymous property shape or SPARQL constraint belongs to."""
    for _ in range(5):
        if node is None or isinstance(node, URIRef):
            return node
        node = next((s for p in (SH.property, SH.sparql, SH.node) for s in shapes.subjects(p, node)), None)
    return None


def _results(g: rdflib.Graph, shapes: rdflib.Graph) -> list[Result]:
    out = []
    for node in g.subjects(RDF.type, SH.ValidationResult):
        source = g.value(node, SH.sourceShape)
        out.append(Result(
            focus_node=g.value(node, SH.focusNode), result_path=g.value(node, SH.resultPath),
            value=g.value(node, SH.value), message=str(g.value(node, SH.resultMessage) or ""),
            severity=g.value(node, SH.resultSeverity), source_shape=g.value(node, SH.sourceShape),
            component=g.value(node, SH.sourceConstraintComponent),
            node_shape=_named_shape(shapes, source) or _named_shape(shapes, g.value(node, SH.sourceConstraint)),
            constraint=g.value(node, SH.sourceConstraint)))
    return out


def _focus_node_count(shapes: rdflib.Graph, data: rdflib.Graph, use_shapes=None) -> int:
    """Distinct focus nodes the (used) shapes' targets select in the data graph."""
    from pyshacl.shapes_graph import ShapesGraph

    focus = set()
    for shape in ShapesGraph(shapes).shapes:
        if use_shapes is not None and str(shape.node) not in use_shapes:
            continue
        focus.update(shape.focus_nodes(data))
    return len(focus)


def is_claim_graph_name(name: str) -> bool:
    return name not in SPECIAL_GRAPHS and not name.startswith(SPECIAL_GRAPH_PREFIXES)


def claim_graph_results(data: rdflib.Dataset) -> list[Result]:
    """The claim-graph rule, which needs graph names: every named graph other than the known ones is
    a claim with metadata (or holds only Wikidata links with their verification records); every claim
    has a non-empty graph; the default graph and graph:claims hold only metadata (claims, spans,
    documents, link records), never bare facts."""
    union = rdflib.Graph()
    for q in data.quads((None, None, None, None)):
        union.add(q[:3])
    claims = set(union.subjects(RDF.type, ENT.Claim))
    metadata_nodes = set(claims)
    for cls in METADATA_CLASSES:
        metadata_nodes.update(union.subjects(RDF.type, cls))
    results = []

    def add(focus, message, value=None, path=None):
        results.append(Result(focus, path, value, message, SH.Violation, CLAIM_GRAPH_RULE))

    graphs = {}
    for g in data.graphs():
        if isinstance(g.identifier, URIRef) and g.identifier != rdflib.graph.DATASET_DEFAULT_GRAPH_ID:
            graphs[g.identifier] = len(g)
    def is_link(triple):
        return triple[1] == OWL.sameAs or triple[0] in metadata_nodes

    for name, size in sorted(graphs.items()):
        if size and is_claim_graph_name(str(name)) and name not in claims \
                and not all(is_link(t) for t in data.graph(name)):
            add(name, f"named graph holds {size} triple(s) but is not a claim: add `<{name}> a ent:Claim` "
                      "with its modality, asserter and evidence")
    for claim in sorted(claims):
        if isinstance(claim, URIRef) and not graphs.get(claim):
            add(claim, "claim has no facts: its named graph is missing or empty")
    outside = [rdflib.graph.DATASET_DEFAULT_GRAPH_ID, URIRef(iris.GRAPH_CLAIMS)]
    for graph_name in outside:
        for s, p, o in data.graph(graph_name) if graph_name in graphs or graph_name == outside[0] else ():
            if not is_link((s, p, o)):
                where = "the default graph" if graph_name == outside[0] else "graph:claims"
                add(s, f"fact outside a claim graph (in {where}): put it in a claim's named graph", o, p)
    return results


def parse_file(path: Path, rdf_format: str | None = None) -> rdflib.Dataset | rdflib.Graph:
    """Parse an RDF file into a Dataset (triple formats fill its default graph)."""
    fmt = formats.by_name(rdf_format) if rdf_format else formats.by_extension(path.suffix)
    if fmt is None or fmt.rdflib is None:
        raise ValueError(f"{path}: unknown RDF format {rdf_format or path.suffix!r}; "
                         "use --format turtle|ntriples|rdfxml|jsonld|trig|nquads")
    target = rdflib.Dataset()
    target.parse(path, format=fmt.rdflib)
    return target


def main(file: Path | None, rdf_format: str | None = None, dataset: Path | None = None,
         parse_user_file=None, article: Path | None = None) -> int:
    """`entente validate [FILE] [--article COPY]`: validate FILE (or the built dataset); 0 if it conforms,
    1 if not (or if COPY is not the article the dataset quotes), 2 on errors.
    FILE is read by `parse_user_file` (the CLI hands in the server's contribution parser: no remote
    contexts or entities, errors with their line and column)."""
    path = file or dataset
    if path is None or not Path(path).exists():
        print(f"entente validate: no dataset at {path}; run `entente build` first or give a FILE", file=sys.stderr)
        return 2
    try:
        data = parse_user_file(Path(path), rdf_format) if file else parse_file(Path(path), rdf_format)
    except Exception as e:  # rdflib raises many kinds; its message names the line
        where = getattr(e, "where", None)
        at = "".join(f", {k} {v}" for k, v in where.items()) if isinstance(where, dict) else ""
        print(f"entente validate: cannot parse {path}{at}: {getattr(e, 'message', e)}", file=sys.stderr)
        return 2
    text, problems = None, []
    if article is None and file is None and SEED_PATH.exists() and not any(data.quads((ARTICLE, NIF.isString, None, None))):
        article = SEED_PATH   # built with --no-full-text: check the spans against the copy in seeds/
        print(f"entente validate: the dataset has no article text; checking it against {SEED_PATH}", file=sys.stderr)
    if article is not None:
        try:
            text = article.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            print(f"entente validate: {article} is not UTF-8 text ({e})", file=sys.stderr)
            return 2
        problems = check_article_copy(data, article.read_bytes(), text)
    report = validate(data, with_ontology=True, article_text=text)
    print(report.to_text())
    for problem in problems:
        print(f"entente validate: {article}: {problem}", file=sys.stderr)
    if report.checked == 0:
        print("entente validate: nothing was checked (no node matched any shape's target)", file=sys.stderr)
        return 1
    return 0 if report.conforms and not problems else 1


def check_article_copy(data: rdflib.Dataset, raw: bytes, text: str) -> list[str]:
    """Whether `raw` is the article the dataset quotes (its ent:sha256 and nif:endIndex, the length in
    code points); what differs, or []. A sentence whose quote was withheld (--no-full-text) gets it back
    from the copy, so that the shapes check it as they check a full dataset; the spans keep their own
    quotes, which the evidence rule compares with the copy."""
    problems = []
    union = {q[:3] for q in data.quads((None, None, None, None))}
    digests = {str(o) for s, p, o in union if s == ARTICLE and p == ENT.sha256}
    lengths = {int(o) for s, p, o in union if s == ARTICLE and p == NIF.endIndex}
    digest = hashlib.sha256(raw).hexdigest()
    if not digests:
        problems.append("the dataset records no ent:sha256 of the article to compare the copy with")
    elif digest not in digests:
        problems.append(f"SHA-256 {digest} is not the article's ({', '.join(sorted(digests))})")
    if lengths and len(text) not in lengths:
        problems.append(f"{len(text)} code points long; the article is {', '.join(map(str, sorted(lengths)))}")
    for graph in data.graphs():
        for sentence in set(graph.subjects(RDF.type, NIF.Sentence)):
            begin, end = graph.value(sentence, NIF.beginIndex), graph.value(sentence, NIF.endIndex)
            if graph.value(sentence, NIF.anchorOf) is None and begin is not None and end is not None:
                graph.add((sentence, NIF.anchorOf, Literal(text[int(begin):int(end)])))
    return problems
