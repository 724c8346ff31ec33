"""Blueprint: the SPARQL 1.1 Protocol (/sparql), the Graph Store HTTP Protocol (/store), the Service
Description and /health.

Specs: https://www.w3.org/TR/sparql11-protocol/ · https://www.w3.org/TR/sparql11-http-rdf-update/ ·
https://www.w3.org/TR/sparql11-service-description/. The views read the request, pick the format
(negotiation.py over formats.py) and shape the response; evaluation, timeouts and limits are store.py's.
"""

from __future__ import annotations

import uuid

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, request

from . import auth

from .. import formats, representations
from ..representations import content_type

from ..graph import iris
from ..errors import BadRequest, NotAcceptable, NotFound, UnsupportedMediaType
from .negotiation import negotiate
from .urls import settings
from ..store import get_store, parse_rdf
from ..store.answers import cacheable

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
MULTIPART = "multipart/form-data"

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


# --- /health -------------------------------------------------------------------------------------

@bp.get("/health")
def health():
    store = get_store()
    response = jsonify({"status": "ok", "version": store.version, "triples": store.count(),
                        "writes": auth.writes_enabled()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health/cache")
def cache_figures():
    """The answering worker's response cache (web/response_cache.py): entries, bytes, hits. Not the
    data's state, so not in /health, whose body tests compare before and after refused writes."""
    kept = current_app.extensions.get("entente.responses")      # set by the gunicorn worker
    response = jsonify(kept.figures() if kept is not None else {"entries": 0, "hits": 0, "max_bytes": 0})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- /sparql: query and update --------------------------------------------------------------------

@bp.route("/sparql", methods=["GET", "POST"])
def endpoint():
    operation, text, params = _read_operation()
    if operation is None:
        return _describe_service()
    if operation == "update":
        return _update(text, params)
    return _query(text, params)


def _read_operation():
    """('query' | 'update' | None, text, parameters) from a request, per SPARQL 1.1 Protocol §2."""
    if request.method in ("GET", "HEAD"):
        params = request.args
        if "update" in params:
            raise BadRequest("SPARQL Update must be sent with POST (as application/sparql-update or a form "
                             "field update=), not with GET.", where="update")
        return _one_of(params)
    mimetype = request.mimetype
    if mimetype == FORM:
        _require_utf8()
        params = request.form.copy()
        for key, values in request.args.lists():
            for value in values:
                params.add(key, value)
        return _one_of(params)
    if mimetype in (QUERY_TYPE, UPDATE_TYPE):
        params = request.args
        for name in ("query", "update"):
            if name in params:
                raise BadRequest(f"A {mimetype} request carries the operation in its body; the URL must not "
                                 f"also have {name}=.", where=name)
        return ("query" if mimetype == QUERY_TYPE else "update"), _body_text(), params
    raise UnsupportedMediaType(
        f"POST to /sparql needs Content-Type {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}"
        f"{'' if not mimetype else f', not {mimetype}'}.", where="Content-Type")


def _one_of(params):
    queries, updates = params.getlist("query"), params.getlist("update")
    if len(queries) + len(updates) > 1:
        raise BadRequest("Send exactly one query= or one update= parameter.",
                         where="query" if len(queries) > 1 else "update")
    if queries:
        return "query", queries[0], params
    if updates:      # (a GET with update= was refused by _read_operation)
        return "update", updates[0], params
    if request.method == "POST":
        raise BadRequest("The request has neither query= nor update=.", where="query")
    return None, None, params


def _require_utf8() -> None:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"Only UTF-8 is accepted, not charset={charset}.", where="Content-Type")


def _body_text() -> str:
    _require_utf8()
    try:
        return request.get_data().decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"The body is not valid UTF-8 (byte {e.start}).", where={"byte": e.start}) from e


def _flag(params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes", "on", ""):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"{name} must be true or false, not {value!r}.", where=name)


def _query(text: str, params) -> Response:
    dataset = {
        "default_graphs": params.getlist("default-graph-uri") or None,
        "named_graphs": params.getlist("named-graph-uri") or None,
        "union_default_graph": _flag(params, "union-default-graph"),
        "base_iri": request.base_url,
    }
    accept = request.headers.get("Accept")
    override = [v for v in params.getlist("format") if v.strip()]

    chosen = {}            # negotiated once per kind of answer (the format or why none), reused below

    def choose(kind: str) -> formats.Format:
        if kind not in chosen:
            try:
                chosen[kind] = _choose(kind, accept, override)
            except NotAcceptable as e:
                chosen[kind] = e
        if isinstance(chosen[kind], NotAcceptable):
            raise chosen[kind]
        return chosen[kind]

    store = get_store()
    cache = current_app.extensions["entente.answers"]
    key = None
    compute = lambda: store.query_serialized(text, choose, **dataset)  # noqa: E731
    if cacheable(text):
        key = (text, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in dataset.items())),
               tuple(_format_name(choose, kind) for kind in ("results", "boolean", "graph")))
        answer = cache.answer(store.version, key, compute, wait=settings().query_timeout)
    else:
        answer = compute()
    kind, body = answer
    fmt = choose(kind)
    response = Response(body, 200, content_type=content_type(fmt))
    response.headers["X-Entente-Format"] = fmt.name
    if key is None:            # NOW(), RAND(), SERVICE…: the answer changes without a write; no cache keeps it
        response.headers["Cache-Control"] = "no-store"
    return response


def _choose(kind: str, accept: str | None, override: list[str]) -> formats.Format:
    if kind == "graph":
        candidates, default = formats.RDF, formats.by_name("turtle")
    elif kind == "boolean":
        candidates, default = formats.RESULTS[:2], formats.RESULTS[0]
    else:
        candidates, default = formats.RESULTS, formats.RESULTS[0]
    if override:
        fmt = formats.by_parameter(override, candidates)
        if fmt is None:
            raise NotAcceptable(f"format={', '.join(override)} cannot carry this answer; choose one of "
                                f"{', '.join(f.name for f in candidates)}.", where="format")
        return fmt
    return negotiate(accept, candidates, default)


def _format_name(choose, kind: str) -> str | None:
    try:
        return choose(kind).name
    except NotAcceptable:
        return None


def _update(text: str, params) -> Response:
    auth.authorize("maintainer")
    using = params.getlist("using-graph-uri")
    using_named = params.getlist("using-named-graph-uri")
    if using or using_named:
        from ..store.sparql_text import apply_using

        text = apply_using(text, using, using_named)
    get_store().update(text, base_iri=request.base_url)
    return Response(status=204)


# --- the Service Description (GET /sparql without a query) ----------------------------------------

def _describe_service() -> Response:
    candidates = formats.RDF + (formats.HTML,)
    fmt = negotiate(request.headers.get("Accept"), candidates, formats.by_name("turtle"))
    if fmt is formats.HTML:
        return Response(_query_page(), 200, content_type="text/html; charset=utf-8")
    body = representations.serialize(service_description(request.base_url), fmt)
    return Response(body, 200, content_type=content_type(fmt))


def _query_page() -> str:
    from . import pages

    render = getattr(pages, "render_query_page", None)
    if render is not None:
        return render(settings())
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>Entente SPARQL endpoint</title>"
            "<h1>Entente SPARQL endpoint</h1><form method=get action=''><textarea name=query rows=8 cols=80>"
            "SELECT * WHERE { ?s ?p ?o } LIMIT 10</textarea><br><button>Run query</button></form>"
            "<p><a href='/'>Home</a></p></html>")


def service_description(endpoint_url: str) -> list:
    """The SD triples: what this endpoint really does, built from formats.py and the config."""
    config = settings()
    store = get_store()
    n = ox.NamedNode
    sd = lambda local: n(SD + local)  # noqa: E731
    a = n(RDF_TYPE)
    service = n(endpoint_url)
    triples = [ox.Triple(service, a, sd("Service")),
               ox.Triple(service, sd("endpoint"), n(endpoint_url)),
               ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
               ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")),
               ox.Triple(service, sd("defaultEntailmentRegime"), n("http://www.w3.org/ns/entailment/Simple"))]
    for fmt in formats.ALL:
        triples.append(ox.Triple(service, sd("resultFormat"), n(fmt.w3c_iri)))
    for fmt in formats.GRAPHS:
        triples.append(ox.Triple(service, sd("inputFormat"), n(fmt.w3c_iri)))
    if config.union_default_graph:
        triples.append(ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")))
    if config.service_allowlist:
        triples.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    triples.append(ox.Triple(service, n(RDFS_COMMENT), ox.Literal(
        f"Entente's SPARQL 1.1 endpoint. Default graph: "
        f"{'the union of all named graphs (add union-default-graph=false for the store default graph)' if config.union_default_graph else 'the store default graph (add union-default-graph=true for the union of all graphs)'}. "
        f"Each query or update may run {config.query_timeout:g} s (then 503); answers over "
        f"{config.max_results} rows or triples are refused with 413, never cut; SERVICE may call only "
        f"{', '.join(config.service_allowlist) or 'no endpoint'} ({config.service_timeout:g} s); "
        f"updates and the Graph Store Protocol need a maintainer token.", language="en")))
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples += [ox.Triple(service, sd("defaultDataset"), dataset),
                ox.Triple(dataset, a, sd("Dataset")),
                ox.Triple(dataset, sd("defaultGraph"), default_graph),
                ox.Triple(default_graph, a, sd("Graph"))]
    counts = {row["g"].value: int(row["n"].value) for row in store.select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", union_default_graph=False)}
    in_default = store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")   # as a query sees it
    triples.append(ox.Triple(default_graph, n(VOID_TRIPLES), ox.Literal(in_default[0]["n"].value,
                                                                         datatype=n(XSD_INTEGER))))
    for name in store.graph_names():
        named, graph = ox.BlankNode(), ox.BlankNode()
        triples += [ox.Triple(dataset, sd("namedGraph"), named),
                    ox.Triple(named, a, sd("NamedGraph")),
                    ox.Triple(named, sd("name"), n(name)),
                    ox.Triple(named, sd("graph"), graph),
                    ox.Triple(graph, a, sd("Graph")),
                    ox.Triple(graph, n(VOID_TRIPLES), ox.Literal(str(counts.get(name, 0)), datatype=n(XSD_INTEGER)))]
    return triples


# --- /store: the Graph Store HTTP Protocol --------------------------------------------------------

@bp.route("/store", methods=["GET", "PUT", "POST", "DELETE"])
@bp.route("/store/<path:_rest>", methods=["GET", "PUT", "POST", "DELETE"])
def graph_store(_rest: str | None = None):
    """Indirect identification (/store?graph=…, /store?default) and direct (/store/<path>: the graph's
    name is the request URL itself, GSP §4.1)."""
    graph = _target_graph() if _rest is None else _direct_graph()
    store = get_store()
    if request.method in ("GET", "HEAD"):
        if graph is None:
            fmt = negotiate(request.headers.get("Accept"), formats.DATASETS, formats.by_name("trig"))
            return Response(store.dump(fmt), 200, content_type=content_type(fmt))
        if not store.has_graph(graph):
            raise NotFound(f"There is no graph <{graph}> in the store.", where="graph")
        fmt = negotiate(request.headers.get("Accept"), formats.GRAPHS, formats.by_name("turtle"))
        triples = [q.triple for q in store.quads(graph)]
        return Response(representations.serialize(triples, fmt), 200, content_type=content_type(fmt))

    auth.authorize("maintainer")
    if request.method == "DELETE":
        if graph is None:
            raise BadRequest("DELETE needs ?graph=<iri> or ?default.", where="graph")
        if not store.has_graph(graph):
            raise NotFound(f"There is no graph <{graph}> in the store.", where="graph")
        store.drop_graph(graph)
        return Response(status=204)

    if request.method == "PUT":
        if graph is None:
            raise BadRequest("PUT needs ?graph=<iri> or ?default.", where="graph")
        existed = store.has_graph(graph) if graph else True
        store.replace_graph(graph, _request_triples(graph))
        return Response(status=204 if existed else 201)

    created = graph is None
    if created:          # POST to the store itself: a new graph with a name the server chooses (GSP §5.5)
        graph = iris.GRAPH + "store/" + uuid.uuid4().hex
    existed = store.has_graph(graph) if graph else True
    store.add_to_graph(graph, _request_triples(graph))
    if created:
        response = Response(status=201)
        response.headers["Location"] = graph
        return response
    return Response(status=204 if existed else 201)


def _target_graph() -> str | None:
    """"" for ?default, the IRI for ?graph=, None for neither (the whole store)."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) > 1 or (graphs and default):
        raise BadRequest("Name one graph: either ?default or one ?graph=<iri>.", where="graph")
    if default:
        return ""
    if graphs:
        try:
            return ox.NamedNode(graphs[0]).value
        except ValueError as e:
            raise BadRequest(f"graph= must be an absolute IRI: {e}", where="graph") from e
    return None


def _direct_graph() -> str:
    if request.args:
        raise BadRequest("A graph URL under /store/ names the graph itself; it takes no ?graph= or ?default.",
                         where="graph")
    return request.base_url


def _request_triples(graph: str) -> list:
    """The triples of a PUT/POST body (one RDF document, or the parts of a multipart/form-data body)."""
    base = graph or request.base_url
    if request.mimetype == MULTIPART:
        triples = []
        for part in request.files.values():
            fmt = formats.by_media_type(part.mimetype or "", formats.GRAPHS) or \
                formats.by_extension((part.filename or "").rpartition(".")[2], formats.GRAPHS)
            if fmt is None:
                raise UnsupportedMediaType(f"Part {part.filename!r} is not in an RDF format this store reads "
                                           f"({', '.join(f.media_type for f in formats.GRAPHS)}).")
            triples += _parse(part.read(), fmt, base)
        return triples
    fmt = formats.by_media_type(request.mimetype or "", formats.GRAPHS)
    if fmt is None:
        raise UnsupportedMediaType(
            f"The body must be RDF in one of {', '.join(f.media_type for f in formats.GRAPHS)} "
            f"(or {MULTIPART}), not {request.mimetype or 'untyped'}.", where="Content-Type")
    _require_utf8()
    return _parse(request.get_data(), fmt, base)


def _parse(data: bytes, fmt: formats.Format, base: str) -> list:
    """A body parsed in a child process under the query time limit and the parse memory limit."""
    conf = settings()
    return parse_rdf(data, fmt, base, timeout=conf.query_timeout, memory=conf.parse_memory)
