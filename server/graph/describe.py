"""What Entente knows about one IRI: for the resource pages (`describe`) and the RDF documents
(`description_quads`).

A description is the resource's outgoing statements, its incoming ones (capped), the labels of
the things it links to, and the evidence of each statement: the claim metadata of the named graph
that holds it (modality, asserter, spans with their quotes and offsets). Every quad returned by
`description_quads` is a quad of the store, kept in its own graph, so TriG/N-Quads documents show
which claim graph a triple comes from; triple formats flatten them.

Only the store API (`select`, `ask`, `quads`, `graph_names`) is used; queries ask the store's own
default graph and the named graphs separately (`union_default_graph=False`), so a triple is
reported once per graph that holds it, and page through the result limit (`select_all`).

Length: over 400 lines because a description is one flow of queries (outgoing, incoming, evidence,
labels) that share the paging and term helpers; it reads top to bottom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from . import iris, vocab

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
SKOS_DEFINITION = "http://www.w3.org/2004/02/skos/core#definition"
DCTERMS_DESCRIPTION = "http://purl.org/dc/terms/description"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
NIF = iris.PREFIXES["nif"]

INCOMING_LIMIT = 200        # incoming statements shown and put in documents; more → a link to a query
OUTGOING_LIMIT = 5000       # a safety cap far above any resource of the article
GRAPH_CONTENT_LIMIT = 20000  # a graph's own triples go into its document up to this size

@dataclass
class Node:
    """An IRI or a literal as the pages need it."""
    value: str
    kind: str                      # "iri" | "literal" | "bnode"
    label: str | None
    datatype: str | None = None
    language: str | None = None


@dataclass
class Evidence:
    claim: str                     # claim IRI (also a graph name)
    modality: str
    modality_label: str
    asserter: Node | None
    quote: str | None
    begin: int | None
    end: int | None
    span: str | None
    contribution: str | None       # set when the graph is a contribution (visibly contributed)
    qualifier_note: str = ""      # " — denied, probable": polarity, certainty, time that change the reading


@dataclass
class Statement:
    subject: Node
    predicate: Node
    object: Node
    evidence: list[Evidence]       # empty for graphs without claim metadata (ontology, linkset, …)
    graphs: list[str]              # named graphs holding the triple ("" = the store's default graph)


@dataclass
class Description:
    iri: str
    label: str | None
    types: list[Node]
    comment: str | None
    outgoing: list[Statement]
    incoming: list[Statement]
    same_as: list[Node]
    exists: bool
    incoming_total: int = 0        # incoming statements in the store (may exceed len(incoming))
    graph: str | None = None       # the named graph this IRI names or stands for, if any
    graph_size: int = 0            # triples in that graph


# --- public API -------------------------------------------------------------------------------

def describe(store, iri: str) -> Description:
    """Everything a resource page shows about `iri`; `exists` is False when the store knows nothing
    (or `iri` is not an IRI at all)."""
    try:
        subject = _named(iri)
    except ValueError:
        return Description(iri, None, [], None, [], [], [], exists=False)
    out_rows = _outgoing(store, subject)
    in_rows, in_total = _incoming(store, subject, INCOMING_LIMIT)
    graph, graph_size = _named_graph(store, iri)

    terms = {r[1] for r in out_rows} | {r[2] for r in out_rows} | {r[0] for r in in_rows} | {r[1] for r in in_rows}
    labels = labels_of(store, [t for t in terms if isinstance(t, ox.NamedNode)] + [subject])
    graphs = {g for *_, g in out_rows + in_rows if g}
    evidence = _evidence(store, graphs, labels)

    def node(term) -> Node:
        return _node(term, labels)

    outgoing = _statements([(subject, p, o, g) for p, o, g in out_rows], node, evidence)
    incoming = _statements([(s, p, subject, g) for s, p, g in in_rows], node, evidence)
    types = _unique(node(o) for p, o, _ in out_rows if p.value == RDF_TYPE)
    same_as = _unique(node(o) for p, o, _ in out_rows if p.value == OWL_SAME_AS)
    comment = vocab.best_label([o for p, o, _ in out_rows if p.value in (SKOS_DEFINITION, RDFS_COMMENT, DCTERMS_DESCRIPTION)
                          and isinstance(o, ox.Literal)])
    return Description(
        iri=iri, label=labels.get(iri), types=types, comment=comment, outgoing=outgoing, incoming=incoming,
        same_as=same_as, exists=bool(out_rows or in_rows or graph is not None),
        incoming_total=in_total, graph=graph, graph_size=graph_size,
    )


def description_quads(store, iri: str, *, incoming_limit: int = INCOMING_LIMIT,
                      more_link: str | None = None) -> list[ox.Quad]:
    """The quads of `iri`'s RDF document, each in the graph that holds it.

    Outgoing statements (with the blank nodes they lead to), incoming ones up to `incoming_limit`
    (a blank-node subject comes whole, e.g. the OWL restriction that names a class),
    rdfs:label of every IRI they mention, the claim metadata and evidence spans of the graphs
    they come from, and — for a graph name, the ontology IRI or its version IRI — the graph's own
    triples. When incoming statements were left out and `more_link` is given, the document says
    `<iri> rdfs:seeAlso <more_link>` (in the default graph).
    """
    subject = _named(iri)
    out_rows = _outgoing(store, subject)
    in_rows, in_total = _incoming(store, subject, incoming_limit)
    quads: list[ox.Quad] = [_quad(subject, p, o, g) for p, o, g in out_rows]
    quads += [_quad(s, p, subject, g) for s, p, g in in_rows]
    quads += _blank_closure(store, [(o, g) for _, o, g in out_rows if isinstance(o, ox.BlankNode)]
                            + [(s, g) for s, _, g in in_rows if isinstance(s, ox.BlankNode)])

    graph, graph_size = _named_graph(store, iri)
    if graph and 0 < graph_size <= GRAPH_CONTENT_LIMIT:
        quads += store.quads(graph)
        for fragment_graph in _fragment_graphs(store, iri):   # <iri#claim-1>: resolved through <iri>
            quads += store.quads(fragment_graph)

    mentioned = {t for q in quads for t in (q.subject, q.predicate, q.object) if isinstance(t, ox.NamedNode)}
    graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
    meta = _evidence_quads(store, graphs)
    mentioned |= {t for q in meta for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
    quads += meta
    quads += _label_quads(store, mentioned)
    if more_link and in_total > len(in_rows):
        quads.append(ox.Quad(subject, ox.NamedNode(iris.PREFIXES["rdfs"] + "seeAlso"), ox.NamedNode(more_link),
                             ox.DefaultGraph()))
    return _dedupe(quads)


def exists(store, iri: str) -> bool:
    """Whether the store says anything about `iri` (as subject, object or graph name)."""
    if iri in (iris.ONTOLOGY, iris.ONTOLOGY_VERSION) and iris.GRAPH_ONTOLOGY in store.graph_names():
        return True
    try:
        node = _named(iri)
    except ValueError:
        return False
    return store.ask(f"ASK {{ {{ GRAPH ?g {{ {node} ?p ?o }} }} UNION {{ GRAPH ?g {{ ?s ?p {node} }} }} "
                     f"UNION {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} UNION {{ GRAPH {node} {{ ?s ?p ?o }} }} }}",
                     **_OWN)


def incoming_query(iri: str) -> str:
    """The SPARQL query that lists every incoming statement of `iri` (linked from documents and pages)."""
    return f"SELECT ?subject ?property ?graph WHERE {{ GRAPH ?graph {{ ?subject ?property {_named(iri)} }} }}"


# --- queries ----------------------------------------------------------------------------------

def select_all(store, query: str, order: str, limit: int | None = None, **ds) -> list[dict]:
    """The rows of `query` (a SELECT without ORDER BY/LIMIT), up to `limit`, fetched in pages of the
    server's result limit — that limit guards what users ask, not the server's own bounded queries
    (a page, VoID), which must work under any --max-results. `order` names the variables to page by."""
    page = max(1, int(getattr(store.settings, "max_results", 10000)))
    rows: list[dict] = []
    while limit is None or len(rows) < limit:
        size = page if limit is None else min(page, limit - len(rows))
        batch = store.select(f"SELECT * WHERE {{ {{ {query} }} }} ORDER BY {order} LIMIT {size} OFFSET {len(rows)}",
                             **ds)
        rows += batch
        if len(batch) < size:
            break
    return rows


_OWN = {"union_default_graph": False}


def _named(iri: str) -> ox.NamedNode:
    """A NamedNode; raises ValueError for a string that is not an IRI (so it never reaches a query)."""
    return ox.NamedNode(iri)


def _graph_value(term) -> str:
    return term.value if term is not None else ""


def _outgoing(store, subject: ox.NamedNode) -> list[tuple]:
    rows = select_all(store, f"SELECT ?p ?o ?g WHERE {{ {{ GRAPH ?g {{ {subject} ?p ?o }} }} UNION {{ {subject} ?p ?o }} }}",
                      "?p ?o ?g", limit=OUTGOING_LIMIT, **_OWN)
    return sorted(((r["p"], r["o"], _graph_value(r.get("g"))) for r in rows), key=_row_key)


def _incoming(store, obj: ox.NamedNode, limit: int) -> tuple[list[tuple], int]:
    pattern = f"{{ GRAPH ?g {{ ?s ?p {obj} }} }} UNION {{ ?s ?p {obj} }}"
    rows = select_all(store, f"SELECT ?s ?p ?g WHERE {{ {pattern} }}", "?p ?s ?g", limit=limit + 1, **_OWN)
    found = [(r["s"], r["p"], _graph_value(r.get("g"))) for r in rows]
    if len(found) <= limit:
        return sorted(found, key=_row_key), len(found)
    total = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}", **_OWN)[0]["n"]
    return sorted(found[:limit], key=_row_key), int(total.value)


def _row_key(row) -> tuple:
    return tuple(str(t) for t in row)


def _values(terms) -> str:
    return " ".join(str(t) for t in terms)


def _chunks(items: list, size: int = 300):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def labels_of(store, terms) -> dict[str, str]:
    """IRI → the rdfs:label to show (vocab.best_label), from any graph. `terms`: IRIs as strings or
    NamedNodes; anything that is not an IRI is skipped. The one label lookup of pages, documents, pictures."""
    nodes = set()
    for t in terms:
        try:
            nodes.add(t if isinstance(t, ox.NamedNode) else ox.NamedNode(t))
        except (TypeError, ValueError):
            continue
    found: dict[str, list] = {}
    for chunk in _chunks(sorted(nodes, key=str)):
        rows = select_all(store, f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {_values(chunk)} }} ?x <{RDFS_LABEL}> ?l }}",
                          "?x ?l", union_default_graph=True)
        for r in rows:
            if isinstance(r["l"], ox.Literal):
                found.setdefault(r["x"].value, []).append(r["l"])
    return {k: vocab.best_label(v) for k, v in found.items()}


def _graph_set(store, iri: str) -> set[str]:
    return set(store.graph_names()) if iri.startswith(iris.BASE) else set()


def _named_graph(store, iri: str) -> tuple[str | None, int]:
    """The graph that `iri` names (the ontology IRIs stand for graph:ontology) and its size."""
    graph = iris.GRAPH_ONTOLOGY if iri in (iris.ONTOLOGY, iris.ONTOLOGY_VERSION) else iri
    if graph not in _graph_set(store, graph):
        return None, 0
    rows = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_named(graph)} {{ ?s ?p ?o }} }}", **_OWN)
    return graph, int(rows[0]["n"].value)


def _fragment_graphs(store, iri: str) -> list[str]:
    """Graphs named by hash IRIs of `iri` (a contribution's claim graphs <…/contribution/7#claim-1>)."""
    return [g for g in store.graph_names() if g.startswith(iri + "#")] if "#" not in iri else []


def _contribution_of(graph: str) -> str | None:
    """The contribution a graph belongs to: <…/contribution/7> for itself, <…#claim-1> and <…/x>."""
    if not graph.startswith(iris.CONTRIBUTION):
        return None
    return iris.CONTRIBUTION + re.split(r"[#/]", graph[len(iris.CONTRIBUTION):], maxsplit=1)[0]


def _metadata_rows(store, graphs) -> list[dict]:
    """Every statement about the given graph names (their claim metadata), with the graph holding it."""
    rows = []
    for chunk in _chunks(sorted(graphs)):
        values = _values(_named(g) for g in chunk)
        rows += select_all(store, f"SELECT ?c ?p ?o ?mg WHERE {{ VALUES ?c {{ {values} }} GRAPH ?mg {{ ?c ?p ?o }} }}",
                           "?c ?p ?o ?mg", **_OWN)
    return rows


def _span_rows(store, spans) -> list[dict]:
    rows = []
    for chunk in _chunks(sorted(spans, key=str)):
        rows += select_all(store, f"SELECT ?sp ?p ?o ?g WHERE {{ VALUES ?sp {{ {_values(chunk)} }} GRAPH ?g {{ ?sp ?p ?o }} }}",
                           "?sp ?p ?o ?g", **_OWN)
    return rows


def _evidence(store, graphs, labels: dict[str, str]) -> dict[str, list[Evidence]]:
    """graph name → the Evidence its metadata gives (one per span; one without a span if it has none)."""
    meta: dict[str, dict[str, list]] = {}
    for r in _metadata_rows(store, graphs):
        meta.setdefault(r["c"].value, {}).setdefault(r["p"].value, []).append(r["o"])
    spans = {s for m in meta.values() for s in m.get(iris.ENT + "evidence", []) if isinstance(s, ox.NamedNode)}
    span_props: dict[str, dict[str, list]] = {}
    for r in _span_rows(store, spans):
        span_props.setdefault(r["sp"].value, {}).setdefault(r["p"].value, []).append(r["o"])
    asserters = {a for m in meta.values() for a in m.get(iris.ENT + "assertedBy", []) if isinstance(a, ox.NamedNode)}
    labels.update(labels_of(store, [a for a in asserters if a.value not in labels]))

    result: dict[str, list[Evidence]] = {}
    for graph in graphs:
        m = meta.get(graph, {})
        contribution = _contribution_of(graph)
        modality = _first(m.get(iris.ENT + "modality"))
        if modality is None and contribution is None:
            continue
        asserter = _first(m.get(iris.ENT + "assertedBy"))
        asserter_node = _node(asserter, labels) if asserter is not None else None
        modality_iri = modality.value if modality is not None else ""
        base = dict(claim=graph, modality=modality_iri,
                    modality_label=_modality_label(modality_iri, asserter_node, contribution,
                                                   inferred=any(t.value == iris.ENT + "InferredGraph"
                                                                for t in m.get(RDF_TYPE, []))),
                    qualifier_note=_qualifier_note(m),
                    asserter=asserter_node, contribution=contribution)
        span_iris = sorted(s.value for s in m.get(iris.ENT + "evidence", []) if isinstance(s, ox.NamedNode))
        if not span_iris:
            result[graph] = [Evidence(quote=None, begin=None, end=None, span=None, **base)]
            continue
        result[graph] = [Evidence(quote=_literal(span_props.get(s, {}).get(NIF + "anchorOf")),
                                  begin=_int(span_props.get(s, {}).get(NIF + "beginIndex")),
                                  end=_int(span_props.get(s, {}).get(NIF + "endIndex")),
                                  span=s, **base) for s in span_iris]
    return result


def qualifier_note(values) -> str:
    """" — denied, possible" for a claim whose qualifier values (IRIs, in the order polarity, certainty,
    time reference) change how its plain triples read; "" for an affirmed, certain, past or ongoing one."""
    words = [vocab.QUALIFIER_WORDS[v] for v in values if v in vocab.QUALIFIER_WORDS]
    return " — " + ", ".join(words) if words else ""


def _qualifier_note(meta: dict[str, list]) -> str:
    return qualifier_note([v.value for q in vocab.QUALIFIERS for v in meta.get(q, [])])


def _modality_label(modality: str, asserter: Node | None, contribution: str | None, inferred: bool = False) -> str:
    """"reported by U.S. Congressional reports"; "inferred from what the article says"; "contributed"."""
    key = vocab.modality_key(modality) if modality.startswith(iris.ENT) else ""
    label = vocab.MODALITIES[key].label if key else "contributed" if contribution else modality.rsplit("#", 1)[-1]
    if key == "ReportedClaim":
        label += " " + ((asserter.label or asserter.value) if asserter is not None else "…")
    return f"inferred from what {label}" if inferred and key == "ArticleVoice" \
        else f"inferred ({label})" if inferred else label


def _evidence_quads(store, graphs) -> list[ox.Quad]:
    """The claim metadata of `graphs` and the spans it cites, as the store's quads."""
    rows = _metadata_rows(store, graphs)
    quads = [_quad(r["c"], r["p"], r["o"], r["mg"].value) for r in rows]
    spans = {r["o"] for r in rows if r["p"].value == iris.ENT + "evidence" and isinstance(r["o"], ox.NamedNode)}
    quads += [_quad(r["sp"], r["p"], r["o"], r["g"].value) for r in _span_rows(store, spans)]
    return quads


def _label_quads(store, terms) -> list[ox.Quad]:
    quads = []
    for chunk in _chunks(sorted(terms, key=str)):
        rows = select_all(store, f"SELECT ?x ?l ?g WHERE {{ VALUES ?x {{ {_values(chunk)} }} "
                          f"{{ GRAPH ?g {{ ?x <{RDFS_LABEL}> ?l }} }} UNION {{ ?x <{RDFS_LABEL}> ?l }} }}", "?x ?l ?g", **_OWN)
        quads += [_quad(r["x"], ox.NamedNode(RDFS_LABEL), r["l"], _graph_value(r.get("g"))) for r in rows]
    return quads


def _blank_closure(store, starts: list[tuple]) -> list[ox.Quad]:
    """The statements about blank nodes reachable from `starts` through blank nodes (as in a CBD).

    SPARQL cannot name a stored blank node, so the graphs holding them are read whole (they are
    small: OWL restrictions and lists in the ontology graph).
    """
    quads: list[ox.Quad] = []
    by_graph: dict[str, list] = {}
    for node, graph in starts:
        by_graph.setdefault(graph, []).append(node)
    for graph, nodes in by_graph.items():
        index: dict = {}
        for q in store.quads(graph):     # "" is the default graph
            if isinstance(q.subject, ox.BlankNode):
                index.setdefault(q.subject, []).append(q)
        seen, todo = set(), list(nodes)
        while todo:
            b = todo.pop()
            if b in seen:
                continue
            seen.add(b)
            for q in index.get(b, []):
                quads.append(q)
                if isinstance(q.object, ox.BlankNode):
                    todo.append(q.object)
    return quads


# --- building the result ----------------------------------------------------------------------

def _quad(s, p, o, graph: str) -> ox.Quad:
    return ox.Quad(s, p, o, ox.NamedNode(graph) if graph else ox.DefaultGraph())


def _dedupe(quads: list[ox.Quad]) -> list[ox.Quad]:
    return list(dict.fromkeys(quads))


def _node(term, labels: dict[str, str]) -> Node:
    if isinstance(term, ox.Literal):
        lang = term.language
        datatype = None if lang else term.datatype.value
        return Node(term.value, "literal", None, datatype=datatype, language=lang)
    if isinstance(term, ox.BlankNode):
        return Node(term.value, "bnode", None)
    return Node(term.value, "iri", labels.get(term.value))


def _statements(rows, node, evidence: dict[str, list[Evidence]]) -> list[Statement]:
    """One Statement per distinct triple, with every graph that holds it and all their evidence."""
    grouped: dict[tuple, list[str]] = {}
    for s, p, o, g in rows:
        grouped.setdefault((s, p, o), []).append(g)
    result = []
    for (s, p, o), graphs in grouped.items():
        graphs = sorted(set(graphs))
        result.append(Statement(node(s), node(p), node(o), [e for g in graphs for e in evidence.get(g, [])], graphs))
    return result


def _unique(nodes) -> list[Node]:
    seen, result = set(), []
    for n in nodes:
        if (n.value, n.kind) not in seen:
            seen.add((n.value, n.kind))
            result.append(n)
    return result


def _first(terms):
    return sorted(terms, key=str)[0] if terms else None


def _literal(terms) -> str | None:
    t = _first(terms)
    return t.value if t is not None else None


def _int(terms) -> int | None:
    t = _first(terms)
    try:
        return int(t.value) if t is not None else None
    except ValueError:
        return None
