"""RemoteStore: the store API (see embedded.py) on an existing SPARQL 1.1 engine, over HTTP.

Entente talks to the engine through three endpoints: query (SPARQL 1.1 Protocol), update and, when
there is one, the Graph Store Protocol (bulk loads and whole-graph reads). Credentials come from the
settings (ENTENTE_STORE_USER / ENTENTE_STORE_PASSWORD), sent as HTTP basic or digest auth. docs/remote-store.md
says how to run it on Virtuoso and what other engines lack.

What Entente keeps in the engine, besides the data:
- the graph settings.store_meta_graph (never served): the store's version (changed by every write
  Entente makes, so ETags and the per-version caches of VoID, dumps and pictures work as on the
  embedded store), the time of the last write, the record of the loaded dataset, the named graphs
  Entente created empty, and the graphs the engine held before Entente first wrote to it (Virtuoso's
  own system graphs): those are not Entente's and are never shown, counted or dropped;
- the graph settings.store_default_graph stands for Entente's default graph (engines such as Virtuoso
  have no separate one).
Every query names its dataset explicitly (default-graph-uri / named-graph-uri): the union of
Entente's graphs, or the stand-in default graph, as `union_default_graph` says; a query with its own
FROM / FROM NAMED keeps them.

Users' queries keep every guarantee of the embedded store: the SERVICE allowlist and the refusal of
LOAD are checked before anything is sent; Virtuoso's pragmas (DEFINE) and built-in function namespaces
(bif:, sql:) are refused; the time limit is sent to the engine where it takes one and enforced by
Entente's own deadline on the HTTP call; answers are parsed, counted against max_results (413, never
cut; an engine that says it cut an answer gets a 503, not a partial answer) and re-serialized in
the negotiated format. Writes happen only in the engine, so several Entente servers can share one.

Length: over 400 lines because it is the whole store interface for a remote engine, each engine quirk
kept next to the operation it affects.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import requests

from ..errors import BadGateway, BadRequest, EntenteError, ResultTooLarge, ServiceUnavailable
from ..formats import Format
from ..settings import Settings
from ..representations import prefixes_for, serialize
from .embedded import Store, _sha256, _too_large, check_federation_within, check_update_within
from .sparql_text import (check_nesting, graph_constants, has_dataset_clause, insert_data_as_template,
                          top_level_keywords)
from .writes import GraphWrites, data_updates, in_graph

log = logging.getLogger("entente")
# Virtuoso echoes every default-graph-uri / named-graph-uri of a query as a response header; Entente names
# each of its graphs, so an answer can carry more headers than http.client's default cap of 100.
http.client._MAXHEADERS = max(http.client._MAXHEADERS, 100000)

_XML = ox.QueryResultsFormat.XML
# Answers travel as SPARQL XML results: every engine writes them, and Virtuoso writes them 5-10x faster
# than JSON (measured: 2,000 rows in ~90 ms as XML, ~570 ms as JSON).
_RESULTS_XML = "application/sparql-results+xml"
_NTRIPLES = "application/n-triples"
_XML_BNODE = re.compile(rb"<(bnode|uri)>nodeID://([^<]*)</(?:bnode|uri)>")
_META = "urn:x-entente:store#"        # the properties of the meta graph
_VIRTUOSO_BNODE = "nodeID://"
_NO_GRAPH = "urn:x-entente:no-graph"    # named in a dataset that must be empty; never written
_DATASET = ox.NamedNode(_META + "dataset")              # the subject of the loaded dataset's graph list
_DATASET_GRAPH = ox.NamedNode(_META + "dataset-graph")
# Virtuoso's pragmas and SQL-function namespaces: a DEFINE can make it fetch URLs (get:soft, input:grab-*),
# bif: and sql: call server functions. Neither is SPARQL 1.1, so refusing them refuses no valid query.
_ENGINE_FUNCTION = re.compile(r"(?<![\w\-/.#:%])(bif|sql):", re.IGNORECASE)
# The graphs an engine holds. Not SELECT DISTINCT ?g: Virtuoso 7.2 answers that form only after its
# transaction timeout (it waits on a lock), while the grouped form is immediate.
_GRAPHS_QUERY = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
_TIMEOUT_WORDS = ("timed out", "timeout", "S1T00", "SR171")
_OWN_ANSWERS, _OWN_ANSWER_ROWS = 512, 2000    # own answers kept per version, and the largest one kept
# Virtuoso refuses, before running it, a query its optimiser expects to take longer than its
# MaxQueryCostEstimationTime: a time limit, not a fault of the query.
_ESTIMATE_WORDS = "The estimated execution time"

# How each engine takes a per-request time limit: (parameter, unit) — None where it has none.
ENGINES = {
    "virtuoso": ("timeout", "ms"),
    "fuseki": ("timeout", "s"),
    "graphdb": ("timeout", "s"),
    "qlever": ("timeout", "s-suffix"),
    "neptune": None,
    "generic": None,
}


def _bound(q: str, bind: dict | None) -> str:
    """`q` with `bind` ({variable: pyoxigraph term}) as a trailing VALUES clause: the engine has no
    substitution parameter, and a term's N-Triples form is a safe SPARQL term (the value is never text)."""
    if not bind:
        return q
    names = " ".join("?" + name for name in bind)
    values = " ".join(str(term) for term in bind.values())
    clause = f"VALUES ({names}) {{ ({values}) }}"
    where = [offset for word, offset in top_level_keywords(q) if word == "WHERE"]
    if where:
        # The values open the WHERE group, so that every pattern and FILTER of it sees them bound (what a
        # substitution means). Virtuoso 7 also needs it: it takes a trailing VALUES only after SELECT, and
        # there not on a variable it does not project ("No column g"), nor on a GRAPH variable.
        brace = q.find("{", where[0])
        if brace >= 0:
            return q[:brace + 1] + f" {clause} " + q[brace + 1:]
    return f"{q}\n{clause}"


class RemoteStore(GraphWrites):
    """The store API over a SPARQL engine's HTTP endpoints (one instance per worker process)."""

    def __init__(self, settings: Settings):
        if not settings.store_url:
            raise ValueError("RemoteStore needs settings.store_url")
        self.settings = settings
        self.query_url = settings.store_url
        self.update_url = settings.store_update_url or settings.store_url
        self.gsp_url = settings.store_gsp_url or None
        self.default_graph = settings.store_default_graph
        self.meta_graph = settings.store_meta_graph
        self._session_pid: int | None = None
        self._session: requests.Session | None = None
        self._lock = threading.Lock()
        self._cache: dict = {}              # (what, version) -> value
        self._answers: OrderedDict = OrderedDict()     # answers to own queries, of one version (_remembered)
        self.engine = settings.store_engine if settings.store_engine != "auto" else None
        self._ensure_meta()

    # --- HTTP ------------------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        """One keep-alive session per process (a forked worker must not share its parent's sockets)."""
        if self._session is None or self._session_pid != os.getpid():
            s = requests.Session()
            user, password = self.settings.store_user, self.settings.store_password
            if user:
                s.auth = (requests.auth.HTTPDigestAuth(user, password) if self.settings.store_auth == "digest"
                          else requests.auth.HTTPBasicAuth(user, password))
            self._session, self._session_pid = s, os.getpid()
        return self._session

    def _post(self, url: str, data, headers: dict, timeout: float, what: str) -> requests.Response:
        """POST with Entente's own deadline; engine failures become errors a user can act on."""
        deadline = time.monotonic() + timeout
        try:
            r = self.session.post(url, data=data, headers=headers, timeout=(min(5.0, timeout), timeout),
                                  stream=True)
            body = bytearray()
            for chunk in r.iter_content(65536):
                body += chunk
                if time.monotonic() > deadline:
                    r.close()
                    raise requests.Timeout
            r._content = bytes(body)
        except requests.Timeout:
            raise ServiceUnavailable(
                f"The {what} ran longer than {timeout:g} s, the server's time limit (ENTENTE_QUERY_TIMEOUT), "
                f"and was stopped. Make it more selective or add a LIMIT.") from None
        except requests.ConnectionError as e:
            log.error("SPARQL engine unreachable at %s: %s", url, e)
            raise ServiceUnavailable("The SPARQL engine behind this server cannot be reached; try again later.") \
                from None
        self._check(r, what, timeout)
        return r

    def _check(self, r: requests.Response, what: str, timeout: float) -> None:
        if r.status_code in (401, 403):
            log.error("SPARQL engine refused Entente's credentials (%s) at %s", r.status_code, r.url)
            raise EntenteError("The SPARQL engine behind this server refused its credentials; the error has "
                               "been logged.")
        text = r.text[:2000] if r.status_code >= 400 else ""
        if (r.status_code >= 500 and any(w in text for w in _TIMEOUT_WORDS)) or _ESTIMATE_WORDS in text:
            raise ServiceUnavailable(f"The {what} ran longer than the engine allows ({timeout:g} s) and was "
                                     f"stopped. Make it more selective or add a LIMIT.")
        if 400 <= r.status_code < 500 or (r.status_code == 500 and _looks_like_query_error(text)):
            raise BadRequest(f"The SPARQL engine refused the {what}: {_clean(text)}")
        if r.status_code >= 500:
            log.error("SPARQL engine failed (%s) at %s: %s", r.status_code, r.url, text)
            raise BadGateway(f"The SPARQL engine behind this server failed on the {what} (HTTP {r.status_code}).")
        # Virtuoso's "anytime" answers: cut at the time limit, flagged only by a header.
        if r.headers.get("X-SQL-State") == "S1TAT":
            raise ServiceUnavailable(f"The {what} ran longer than {timeout:g} s, the server's time limit "
                                     f"(ENTENTE_QUERY_TIMEOUT), and was stopped; no partial answer is given.")

    def _timeout_params(self, timeout: float) -> dict:
        spec = ENGINES.get(self.engine or "generic")
        if spec is None:
            return {}
        name, unit = spec
        value = {"ms": str(int(timeout * 1000)), "s": f"{timeout:g}", "s-suffix": f"{timeout:g}s"}[unit]
        return {name: value}

    def _detect_engine(self) -> None:
        if self.engine is None:
            try:
                server = self.session.get(self.query_url, params={"query": "ASK {}"}, timeout=10).headers.get(
                    "Server", "")
            except requests.RequestException:
                server = ""
            self.engine = "virtuoso" if "virtuoso" in server.lower() else "generic"

    # --- the SPARQL calls ------------------------------------------------------------------------
    def _dataset(self, q: str, union_default_graph=None, default_graphs=None, named_graphs=None,
                 own: bool = False) -> tuple[str, tuple[str, list[tuple[str, str]]]]:
        """The query and its dataset as (pragmas, protocol parameters): the caller's, or Entente's graphs
        (see the module docstring). Only the server's own queries (`own`) are ever rewritten."""
        if default_graphs or named_graphs:
            defaults = [self._engine_graph(g) for g in default_graphs or ()]
            named = [self._engine_graph(g) for g in named_graphs or ()]
        elif not own and has_dataset_clause(q):
            return q, ("", [])
        else:
            union = self.settings.union_default_graph if union_default_graph is None else union_default_graph
            self._detect_engine()
            constants = graph_constants(q) if self._excludes(union) else None
            if constants is not None and constants and own:
                q, constants = _graph_constants_as_values(q, constants), []
            if constants == []:
                return q, self._virtuoso_dataset(union)
            named = self.graph_names()
            defaults = [self.default_graph] + (named if union else [])
        # An empty list would mean "no restriction" to the engine: name a graph that never exists instead.
        return q, ("", [("default-graph-uri", g) for g in defaults or [_NO_GRAPH]] +
                   [("named-graph-uri", g) for g in named or [_NO_GRAPH]])

    def _excludes(self, union: bool) -> bool:
        """Whether Entente's graphs can be given to the engine by excluding the others (_virtuoso_dataset).
        Not when the default graph is Entente's stand-in alone and holds triples: Virtuoso 7.2 then drops
        the stand-in from the default graph too when it is excluded from the named graphs (with the
        union default graph, the stand-in stays in it)."""
        if self.engine != "virtuoso":
            return False
        return union or not self._cached("default-graph-used", lambda: bool(_rows(self._run_query(
            f"SELECT ?s WHERE {{ GRAPH <{self.default_graph}> {{ ?s ?p ?o }} }} LIMIT 1", _RESULTS_XML,
            max(self.settings.query_timeout, 10), ("", [("named-graph-uri", self.default_graph)]), None,
            "store lookup").content)))

    def _virtuoso_dataset(self, union: bool) -> tuple[str, list[tuple[str, str]]]:
        """Entente's graphs on Virtuoso: every graph but the few that are not Entente's, excluded by its
        pragmas (a DEFINE, never allowed in users' text). The same dataset as naming each graph, but
        naming the real dataset's 230 graphs costs Virtuoso 100-600 ms a query, excluding five ~1 ms
        (a describe of id:iran makes seven such queries). Virtuoso 7.2 finds nothing in `GRAPH <g>`
        under an exclusion, so the callers name a graph as a variable (_graph_constants_as_values) or
        keep the explicit dataset; see also _excludes."""
        hidden = sorted(set(self._meta_values().get("ignore", [])) | {self.meta_graph})
        pragmas = [f"DEFINE input:named-graph-exclude {ox.NamedNode(g)}" for g in hidden + [self.default_graph]]
        if union:
            pragmas += [f"DEFINE input:default-graph-exclude {ox.NamedNode(g)}" for g in hidden]
            return " ".join(pragmas), []
        # The default graph alone, known to be empty (_excludes): a graph that never exists (with the
        # stand-in there, Virtuoso 7.2 counts one solution where there is none).
        return " ".join(pragmas), [("default-graph-uri", _NO_GRAPH)]

    def _engine_graph(self, name: str) -> str:
        return self.default_graph if name == "" else name

    def _run_query(self, q: str, accept: str, timeout: float, dataset: tuple[str, list], base_iri: str | None,
                   what: str = "query") -> requests.Response:
        """`dataset` is (pragmas, protocol parameters), as _dataset gives it."""
        self._detect_engine()
        pragmas, params = dataset
        text = _with_base(q, base_iri)
        data = [("query", f"{pragmas} {text}" if pragmas else text)] + params + \
            list(self._timeout_params(timeout).items())
        return self._post(self.query_url, data, {"Accept": accept}, timeout, what)

    def _update_engine(self, u: str, timeout: float | None = None, params=(), blank_nodes: bool = True) -> None:
        """Entente's own updates name every graph (GRAPH <g>), so they go without dataset parameters:
        on Virtuoso a default-graph-uri would hide every named graph from their WHERE clauses.
        blank_nodes=False: the caller knows its INSERT DATA holds none (sent as it is, see _replace_graphs)."""
        self._detect_engine()
        timeout = timeout or max(self.settings.query_timeout, 30)
        if self.engine == "virtuoso" and blank_nodes:
            u = insert_data_as_template(u)      # Virtuoso refuses blank nodes in INSERT DATA
        data = [("update", u), *params]
        try:
            self._post(self.update_url, data, {"Accept": _RESULTS_XML}, timeout, "update")
        finally:
            self._cache.clear()
            holder = _request_cache()
            if holder is not None:
                holder.pop("entente_version", None)

    # --- versions ----------------------------------------------------------------------------------
    def _ensure_meta(self) -> None:
        """On first use of an engine: record the graphs it already holds as not Entente's, and a version."""
        if self._meta_values(cached=False).get("initialised"):
            return
        self._detect_engine()
        r = self._run_query(_GRAPHS_QUERY, _RESULTS_XML, 60, ("", []), None)
        existing = [row["g"].value for row in _rows(r.content) if isinstance(row.get("g"), ox.NamedNode)]
        ignore = " ".join(f"<{self.meta_graph}> <{_META}ignore> {ox.NamedNode(g)} ." for g in existing
                          if g not in (self.meta_graph, self.default_graph))
        m = f"<{self.meta_graph}>"
        self._update_engine(f"INSERT DATA {{ GRAPH {m} {{ {m} <{_META}initialised> \"true\" . {ignore} }} }} ;\n"
                            + self._bump())

    def _bump(self) -> str:
        """The update operations that give the store a new version (appended to every write)."""
        m = f"<{self.meta_graph}>"
        version = f"{time.time():.6f}-{os.urandom(4).hex()}"
        return (f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}version> ?v . }} }} ;\n"
                f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}modified> ?t . }} }} ;\n"
                f"INSERT DATA {{ GRAPH {m} {{ {m} <{_META}version> \"{version}\" . "
                f"{m} <{_META}modified> \"{time.time():.3f}\" . }} }}")

    def _meta_values(self, cached: bool = True) -> dict:
        """{property local name: [values]} of the meta graph (cached per version unless cached=False)."""
        if cached:
            return self._cached("meta", lambda: self._meta_values(cached=False))
        r = self._run_query(f"SELECT ?p ?o WHERE {{ GRAPH <{self.meta_graph}> {{ <{self.meta_graph}> ?p ?o }} }}",
                            _RESULTS_XML, max(self.settings.query_timeout, 10), ("", []), None, "store lookup")
        values: dict = {}
        for row in _rows(r.content):
            values.setdefault(row["p"].value[len(_META):], []).append(row["o"].value)
        return values

    def _version_info(self) -> tuple[str, float]:
        """(version, time of the last write): one small query, made once per request when in one."""
        holder = _request_cache()
        if holder is not None and "entente_version" in holder:
            return holder["entente_version"]
        m = f"<{self.meta_graph}>"
        r = self._run_query(f"SELECT ?v ?t WHERE {{ GRAPH {m} {{ {m} <{_META}version> ?v . "
                            f"OPTIONAL {{ {m} <{_META}modified> ?t }} }} }}",
                            _RESULTS_XML, max(self.settings.query_timeout, 10), ("", []), None, "store lookup")
        rows = _rows(r.content)
        info = (rows[0]["v"].value, float(rows[0]["t"].value) if "t" in rows[0] else 0.0) if rows else ("", 0.0)
        if holder is not None:
            holder["entente_version"] = info
        return info

    @property
    def version(self) -> str:
        return self._version_info()[0]

    @property
    def last_modified(self) -> float:
        return self._version_info()[1]

    def _cached(self, what: str, compute):
        key = (what, self.version)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._lock:
            for old in [k for k in self._cache if k[0] == what]:
                del self._cache[old]
            self._cache[key] = value
        return value

    # --- reads (the server's own bounded queries) --------------------------------------------------
    def _remembered(self, kind: str, q: str, dataset: tuple, base: str | None, compute):
        """The answer to one of the server's own queries, kept for the store's version (LRU, small answers
        only): a document is asked for in several formats and pages show the same things, and on a remote
        engine each query is a round trip (10-300 ms on Virtuoso; the embedded store answers in-process).
        Not in a request that may write (POST, PUT, …): its version is read once, at its start, and what it
        reads after taking a lock (a review reads the contribution's state) must be what the engine holds."""
        if not _read_only_request():
            return compute()
        key = (self.version, kind, q, dataset[0], tuple(dataset[1]), base)
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        value = compute()
        if isinstance(value, bool) or len(value) <= _OWN_ANSWER_ROWS:
            with self._lock:
                for old in [k for k in self._answers if k[0] != key[0]]:
                    del self._answers[old]
                self._answers[key] = value
                while len(self._answers) > _OWN_ANSWERS:
                    self._answers.popitem(last=False)
        return value

    def select(self, q: str, bind: dict | None = None, **ds) -> list[dict]:
        base = ds.pop("base_iri", None)
        q, dataset = self._dataset(_bound(q, bind), own=True, **ds)

        def run() -> list[dict]:
            rows = _rows(self._run_query(q, _RESULTS_XML, self.settings.query_timeout, dataset, base).content)
            if len(rows) > self.settings.max_results:
                raise ResultTooLarge(_too_large(self.settings.max_results, "rows"))
            return rows
        return [dict(row) for row in self._remembered("select", q, dataset, base, run)]

    def ask(self, q: str, bind: dict | None = None, **ds) -> bool:
        base = ds.pop("base_iri", None)
        q, dataset = self._dataset(_bound(q, bind), own=True, **ds)
        return self._remembered("ask", q, dataset, base, lambda: bool(_results(
            self._run_ask(q, self.settings.query_timeout, dataset, base).content)))

    def _run_ask(self, q: str, timeout: float, dataset: tuple[str, list], base: str | None) -> requests.Response:
        """An ASK; on Virtuoso run as SELECT … LIMIT 1, because Virtuoso 7 answers true for
        `ASK { GRAPH <g> { … } }` when <g> is outside the request's named graphs (its SELECT is right).
        The answer is rewritten as a boolean result."""
        self._detect_engine()
        select = _ask_as_select(q) if self.engine == "virtuoso" else None
        if select is None:
            return self._run_query(q, _RESULTS_XML, timeout, dataset, base)
        r = self._run_query(select, _RESULTS_XML, timeout, dataset, base)
        found = b"<result>" in r.content or b"<result/>" in r.content
        r._content = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                      b"<boolean>" + (b"true" if found else b"false") + b"</boolean></sparql>")
        return r

    def construct(self, q: str, bind: dict | None = None, **ds) -> list:
        base = ds.pop("base_iri", None)
        q, dataset = self._dataset(_bound(q, bind), own=True, **ds)

        def run() -> list:
            triples = _triples(self._run_query(q, _NTRIPLES, self.settings.query_timeout, dataset, base))
            if len(triples) > self.settings.max_results:
                raise ResultTooLarge(_too_large(self.settings.max_results, "triples"))
            return triples
        return list(self._remembered("construct", q, dataset, base, run))

    def quads(self, graph: str | None = None) -> list:
        if graph is None:
            return self._cached("quads", lambda: self._all_quads())
        term = ox.DefaultGraph() if graph == "" else ox.NamedNode(graph)
        return [ox.Quad(t.subject, t.predicate, t.object, term) for t in self._graph_triples(self._engine_graph(graph))]

    def _all_quads(self) -> list:
        names = [""] + self.graph_names()
        with ThreadPoolExecutor(4) as pool:
            parts = list(pool.map(self.quads, names))
        return [q for part in parts for q in part]

    def _graph_triples(self, name: str) -> list:
        """One graph's triples: GSP GET where there is a GSP endpoint (no result-size cap), else CONSTRUCT."""
        timeout = max(self.settings.query_timeout, 30)
        if self.gsp_url:
            try:
                r = self.session.get(self.gsp_url, params={"graph": name}, headers={"Accept": _NTRIPLES},
                                     timeout=timeout)
            except requests.RequestException as e:
                log.error("SPARQL engine GSP GET failed: %s", e)
                raise ServiceUnavailable("The SPARQL engine behind this server cannot be reached; try again "
                                         "later.") from None
            if r.status_code == 404:
                return []
            self._check(r, "graph read", timeout)
            return _triples(r)
        r = self._run_query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}", _NTRIPLES,
                            timeout, ("", [("named-graph-uri", name)]), None, "graph read")
        return _triples(r)

    def graph_names(self) -> list[str]:
        return self._cached("graphs", self._graph_names)

    def _graph_names(self) -> list[str]:
        meta = self._meta_values()
        r = self._run_query(_GRAPHS_QUERY, _RESULTS_XML,
                            max(self.settings.query_timeout, 30), ("", []), None, "graph listing")
        hidden = set(meta.get("ignore", [])) | {self.meta_graph, self.default_graph}
        found = {row["g"].value for row in _rows(r.content) if isinstance(row.get("g"), ox.NamedNode)}
        return sorted((found | set(meta.get("graph", []))) - hidden)

    def has_graph(self, name: str | None) -> bool:
        return not name or name in self.graph_names()

    def count(self) -> int:
        """Quads in Entente's graphs (/health asks it). On Virtuoso its named graphs by exclusion, then the
        default graph's stand-in: naming 60,000 graphs one by one took longer than the query time limit."""
        def compute():
            q = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
            self._detect_engine()
            if self.engine == "virtuoso":
                parts = self.select(q, union_default_graph=True) + self.select(q, named_graphs=[""])
            else:
                parts = self.select(q, named_graphs=[""] + self.graph_names())
            return sum(int(row["n"].value) for row in parts)
        return self._cached("count", compute)

    def dump(self, fmt: Format) -> bytes:
        from ..graph import iris

        quads = self.quads()
        if fmt.kind == "dataset":
            return ox.serialize(quads, format=fmt.oxigraph, prefixes=prefixes_for(fmt, iris.PREFIXES))
        return ox.serialize((q.triple for q in quads), format=fmt.oxigraph, prefixes=prefixes_for(fmt, iris.PREFIXES))


    # --- users' queries --------------------------------------------------------------------------
    def query_serialized(self, q: str, fmt, **ds) -> tuple[str, bytes]:
        """A user's query, with the embedded store's guarantees (module docstring); (kind, bytes)."""
        check_nesting(q)
        check_engine_extensions(q)
        check_federation_within(q, self.settings)
        timeout = self.settings.query_timeout
        if "service" in q.lower():
            timeout = min(timeout, self.settings.service_timeout)
        base = ds.pop("base_iri", None)
        # One media type, by the query's form: Virtuoso answers a list of them with 406 for CONSTRUCT.
        form = next((w for w, _ in top_level_keywords(q) if w in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")), "SELECT")
        accept = _NTRIPLES if form in ("CONSTRUCT", "DESCRIBE") else _RESULTS_XML
        q, dataset = self._dataset(q, **ds)
        if form == "ASK":
            r = self._run_ask(q, timeout, dataset, base)
        else:
            r = self._run_query(q, accept, timeout, dataset, base)
        limit = self.settings.max_results
        media = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media in (_RESULTS_XML, "application/xml", "text/xml"):
            result = _results(r.content)
            if isinstance(result, ox.QueryBoolean):
                return "boolean", result.serialize(format=(fmt("boolean") if callable(fmt) else fmt).oxigraph)
            rows = r.content.count(b"<result>")       # inside literals a "<" is always escaped
            if rows > limit or self._cut_by_engine(r, rows):
                raise ResultTooLarge(_too_large(limit, "rows") + f" (this query gives {rows}"
                                     f"{' or more' if rows <= limit else ''}.)")
            return "results", result.serialize(format=(fmt("results") if callable(fmt) else fmt).oxigraph)
        choice = fmt("graph") if callable(fmt) else fmt
        triples = _triples(r)
        if len(triples) > limit:
            raise ResultTooLarge(_too_large(limit, "triples"))
        from ..graph import iris

        return "graph", serialize(triples, choice)

    @staticmethod
    def _cut_by_engine(r: requests.Response, rows: int) -> bool:
        """Virtuoso says in a header when it cut an answer at its ResultSetMaxRows."""
        cap = r.headers.get("X-SPARQL-MaxRows")
        return bool(cap) and cap.isdigit() and rows >= int(cap)

    # --- writes ----------------------------------------------------------------------------------
    def update(self, u: str, base_iri: str | None = None, **_ds) -> None:
        """A user's SPARQL Update (the same checks as the embedded store, plus the engine's extensions)."""
        check_nesting(u)
        check_update_within(u, self.settings, base_iri)
        check_engine_extensions(u)
        self._apply_update(u, base_iri)

    def _apply_update(self, u: str, base_iri: str | None) -> None:
        text = _with_base(self._name_graphs(u), base_iri)
        # The update's default graph is Entente's (the stand-in graph), its named graphs Entente's graphs.
        dataset = [("default-graph-uri", self.default_graph)] + [("named-graph-uri", g) for g in self.graph_names()]
        self._update_engine(text, timeout=self.settings.query_timeout, params=dataset)
        self._update_engine(self._bump())

    def _name_graphs(self, u: str) -> str:
        """The update with DEFAULT, ALL and NAMED written as Entente's graphs: on the engine they would also
        reach graphs that are not Entente's (Virtuoso's own: DROP ALL would break it)."""
        words = top_level_keywords(u)
        out, last = [], 0
        for i, (word, offset) in enumerate(words):
            if word == "DEFAULT":
                out += [u[last:offset], f"GRAPH <{self.default_graph}>"]
                last = offset + len(word)
            elif word in ("ALL", "NAMED"):
                j = i - 1 if i and words[i - 1][0] != "SILENT" else i - 2
                if j < 0 or words[j][0] not in ("DROP", "CLEAR"):
                    continue                                   # not a graph reference: the engine reports it
                verb, start = words[j]
                graphs = ([self.default_graph] if word == "ALL" else []) + self.graph_names()
                ops = " ;\n".join(f"{verb} SILENT GRAPH <{g}>" for g in graphs) or "CLEAR SILENT GRAPH <" + \
                    _NO_GRAPH + ">"
                out += [u[last:start], ops]
                last = offset + len(word)
        out.append(u[last:])
        return "".join(out)

    def write(self, quads_to_add, graphs_to_drop=(), graphs_to_create=(), quads_to_remove=()) -> None:
        """Drop graphs, create (empty) graphs, remove and add quads in one update request."""
        m = f"<{self.meta_graph}>"
        ops = []
        for g in graphs_to_drop:
            ops.append(f"DROP SILENT GRAPH <{ox.NamedNode(self._engine_graph(g)).value}>")
            if g:
                ops.append(f"DELETE DATA {{ GRAPH {m} {{ {m} <{_META}graph> <{ox.NamedNode(g).value}> }} }}")
        created = [g for g in graphs_to_create if g]
        if created:
            ops.append("INSERT DATA { GRAPH " + m + " { " + " ".join(
                f"{m} <{_META}graph> <{ox.NamedNode(g).value}> ." for g in created) + " } }")
        ops += data_updates(quads_to_add, quads_to_remove, self.default_graph)
        ops.append(self._bump())
        self._update_engine(" ;\n".join(ops))

    # --- bulk load ---------------------------------------------------------------------------------
    # Graphs of up to this many triples go many to one SPARQL Update (INSERT DATA), larger ones one GSP PUT
    # each. Measured on Virtuoso 7.2 with the generated 1M-triple graph (60,240 claim graphs of 1-2 triples):
    # one PUT a graph, ~46 graphs/s; INSERT DATA of 1,000 / 2,000 / 4,000 triples, ~2,200 / 2,600 / 1,400
    # triples/s (docs/remote-store.md). Virtuoso refuses an update of ~8,000 triples (too many arguments).
    load_batch_triples = 2000

    def has_loaded_dataset(self) -> bool:
        return bool(self._meta_values(cached=False).get("dataset-sha256"))

    def load_dataset(self, path: Path) -> bool:
        """Put the built dataset into the engine unless the same file (sha256) is loaded already; True if
        it loaded. Each graph of the file replaces the engine's graph of that name: small graphs many to
        one update, large ones (and those with blank nodes) by a GSP PUT each. Graphs of the previously
        loaded dataset that the new one lacks are dropped; others stay. The record says "incomplete" until
        the last step, so an interrupted load is redone by the next one."""
        path = Path(path).resolve()
        digest = _sha256(path)
        meta = self._meta_values(cached=False)
        if meta.get("dataset-sha256") == [digest] and meta.get("dataset-complete") == ["true"]:
            return False
        fmt = ox.RdfFormat.N_QUADS if path.suffix == ".nq" else ox.RdfFormat.TRIG
        by_graph: dict[str, list] = {}
        for q in ox.parse(path=str(path), format=fmt):
            key = "" if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
            by_graph.setdefault(key, []).append(q.triple)
        m = f"<{self.meta_graph}>"
        previous = self._recorded_dataset_graphs()
        self._update_engine(f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}dataset-complete> ?c }} }} ;\n"
                            f"INSERT DATA {{ GRAPH {m} {{ {m} <{_META}dataset-complete> \"false\" }} }}")
        # Recorded before any graph is written: an interrupted load's graphs are dropped by the next load
        # of a file that lacks them.
        self._add_to_meta([ox.Triple(_DATASET, _DATASET_GRAPH, ox.NamedNode(g)) for g in by_graph if g])
        removed = sorted(previous - set(by_graph))
        for start in range(0, len(removed), 100):
            self._update_engine(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in removed[start:start + 100]),
                                timeout=600)
        existing = self._engine_graphs()
        self._batch_limit = self.load_batch_triples
        batch: dict[str, list] = {}
        for name, triples in by_graph.items():
            if len(triples) > self.load_batch_triples or _has_blank_nodes(triples):
                self._put_graph(name, triples)
                continue
            if sum(map(len, batch.values())) + len(triples) > self._batch_limit:
                self._replace_graphs(batch, existing)
                batch = {}
            batch[name] = triples
        self._replace_graphs(batch, existing)
        for start in range(0, len(removed), 1000):
            self._update_engine("DELETE DATA { GRAPH " + m + " { " + " ".join(
                f"{_DATASET} {_DATASET_GRAPH} <{g}> ." for g in removed[start:start + 1000]) + " } }")
        self._update_engine(
            f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}dataset-graph> ?g }} }} ;\n"     # where older loads kept it
            f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}dataset-sha256> ?s }} }} ;\n"
            f"DELETE WHERE {{ GRAPH {m} {{ {m} <{_META}dataset-complete> ?c }} }} ;\n"
            f"INSERT DATA {{ GRAPH {m} {{ {m} <{_META}dataset-sha256> \"{digest}\" . "
            f"{m} <{_META}dataset-complete> \"true\" . }} }} ;\n" + self._bump())
        return True

    def _recorded_dataset_graphs(self) -> set[str]:
        """The graphs of the loaded dataset (of every load since the last complete one), read as a whole
        graph: tens of thousands of them, more than an engine's result cap may allow. They are kept on
        their own subject, out of the small record _meta_values reads for every version."""
        return {t.object.value for t in self._graph_triples(self.meta_graph)
                if t.predicate == _DATASET_GRAPH and isinstance(t.object, ox.NamedNode)}

    def _add_to_meta(self, triples: list) -> None:
        """Add triples to the meta graph: one GSP POST, or INSERT DATA in batches without a GSP endpoint."""
        if not triples:
            return
        if self.gsp_url:
            self._gsp("post", self.meta_graph, triples)
            return
        for start in range(0, len(triples), self.load_batch_triples):
            self._update_engine(data_updates(in_graph(self.meta_graph, triples[start:start + self.load_batch_triples]))[0])

    def _engine_graphs(self) -> set[str] | None:
        """Every graph the engine holds (None when its answer was cut at its row cap: then unknown)."""
        r = self._run_query(_GRAPHS_QUERY, _RESULTS_XML, 600, ("", []), None, "graph listing")
        rows = _rows(r.content)
        if self._cut_by_engine(r, len(rows)):
            return None
        return {row["g"].value for row in rows if isinstance(row.get("g"), ox.NamedNode)}

    def _replace_graphs(self, graphs: dict[str, list], existing: set[str] | None) -> None:
        """Small graphs replaced in one update: those the engine holds are emptied (one DELETE naming them
        by VALUES: a DROP each makes Virtuoso's generated SQL too long), then one INSERT DATA of them all.
        Without blank nodes, so the INSERT DATA is sent as it is (Virtuoso's INSERT {…} WHERE {} form is
        about 5x slower)."""
        if not graphs:
            return
        held = [self._engine_graph(g) for g in graphs if existing is None or self._engine_graph(g) in existing]
        ops = [f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES ?g {{ {' '.join(f'<{g}>' for g in held)} }} "
               f"GRAPH ?g {{ ?s ?p ?o }} }}"] if held else []
        ops += data_updates([q for name, triples in graphs.items() for q in in_graph(name, triples)],
                            default_graph=self.default_graph)
        try:
            self._update_engine(" ;\n".join(ops), timeout=600, blank_nodes=False)
        except BadRequest:
            # Refused as too large: Virtuoso refuses an update whose generated SQL passes 10,000 lines,
            # which depends on the data's shape (800 graphs of two triples with their own subjects are
            # refused; the generated graph's 2,000-triple batches are not). Halves (the rest of this load
            # too), down to a PUT of the one graph.
            if len(graphs) == 1:
                self._put_graph(*next(iter(graphs.items())))
                return
            self._batch_limit = max(1, self._batch_limit // 2)
            names = list(graphs)
            for part in (names[:len(names) // 2], names[len(names) // 2:]):
                self._replace_graphs({name: graphs[name] for name in part}, existing)

    def _put_graph(self, name: str, triples: list) -> None:
        target = self._engine_graph(name)
        if not self.gsp_url:
            self._update_engine(f"DROP SILENT GRAPH <{target}> ;\n" + "INSERT DATA { GRAPH <" + target + "> {\n"
                                + "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples) + "\n} }",
                                timeout=600)
            return
        self._gsp("put", target, triples)

    def _gsp(self, method: str, graph: str, triples: list) -> None:
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        try:
            r = self.session.request(method.upper(), self.gsp_url, params={"graph": graph}, data=body,
                                     headers={"Content-Type": _NTRIPLES}, timeout=600)
        except requests.RequestException as e:
            raise ServiceUnavailable(f"The SPARQL engine's Graph Store endpoint cannot be reached: {e}") from None
        self._check(r, "graph load", 600)


def _has_blank_nodes(triples: list) -> bool:
    return any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)


# --- helpers ---------------------------------------------------------------------------------------

def check_engine_extensions(text: str) -> None:
    """Refuse engine pragmas (DEFINE) and SQL-function namespaces (bif:, sql:): not SPARQL 1.1, and
    some of them make Virtuoso fetch URLs or call server functions."""
    for word, offset in top_level_keywords(text):
        if word == "DEFINE":
            raise BadRequest("DEFINE pragmas are refused: they are not SPARQL 1.1, and some make the engine "
                             "fetch URLs.", where={"offset": offset})
    m = _ENGINE_FUNCTION.search(text)
    if m:
        raise BadRequest(f"The {m.group(1)}: namespace is refused: it calls the engine's built-in SQL "
                         f"functions, which are not SPARQL 1.1.", where={"offset": m.start()})


def _ask_as_select(q: str) -> str | None:
    """`ASK …` as `SELECT * … LIMIT 1` (None when that would not be the same query: GROUP BY or HAVING)."""
    words = top_level_keywords(q)
    names = [w for w, _ in words]
    if "ASK" not in names or "GROUP" in names or "HAVING" in names:
        return None
    ask = words[names.index("ASK")][1]
    text = q[:ask] + "SELECT *" + q[ask + 3:]
    shift = len("SELECT *") - 3
    values = [offset for word, offset in words if word == "VALUES" and offset > ask]
    if values:                         # a trailing VALUES clause comes after the solution modifiers
        at = values[-1] + shift
        return text[:at] + " LIMIT 1 " + text[at:]
    return text + "\nLIMIT 1"


def _graph_constants_as_values(q: str, spans: list[tuple[int, int, int]]) -> str:
    """`GRAPH <g> {…}` written as `VALUES ?entente_graph_1 { <g> } GRAPH ?entente_graph_1 {…}` (the same
    solutions, plus that variable in a SELECT *): for the server's own queries under Virtuoso's exclusion."""
    out, last = [], 0
    for n, (keyword, start, end) in enumerate(spans, 1):
        out += [q[last:keyword], f"VALUES ?entente_graph_{n} {{ {q[start:end]} }} GRAPH ?entente_graph_{n}"]
        last = end
    out.append(q[last:])
    return "".join(out)


def _with_base(text: str, base_iri: str | None) -> str:
    """The text with the protocol's base IRI as a BASE declaration, unless it declares its own (Virtuoso
    refuses a second BASE). On one line with the text, so that line numbers in errors stay right."""
    if not base_iri or any(word == "BASE" for word, _ in top_level_keywords(text)):
        return text
    return f"BASE {ox.NamedNode(base_iri)} {text}"


_QUERY_FAULT = re.compile(r"^Virtuoso (37000|22\w\w\w|42\w\w\w|S0002|S0022) Error")


def _looks_like_query_error(text: str) -> bool:
    """Virtuoso answers errors of the query itself with a 500: syntax (37000), data exceptions such as a
    division by zero or a wrong argument type (22xxx), unknown functions or names (42xxx, S0002, S0022)."""
    return bool(_QUERY_FAULT.match(text.strip()))


def _clean(text: str) -> str:
    text = text.strip()
    text = re.sub(r"\n\s*SPARQL query:.*", "", text, flags=re.S)       # Virtuoso echoes the query back
    return text[:1000]


def _map_bnode_value(value: str) -> str:
    """A blank node label the RDF syntaxes accept (Virtuoso's are `nodeID://b123`)."""
    if value.startswith(_VIRTUOSO_BNODE):
        value = value[len(_VIRTUOSO_BNODE):]
    return re.sub(r"[^A-Za-z0-9_]", "_", value) or "b"


def _xml(content: bytes) -> bytes:
    """SPARQL XML results with Virtuoso's blank nodes (`nodeID://b1`, sometimes given as <uri>) as blank nodes."""
    return _XML_BNODE.sub(lambda m: b"<bnode>" + re.sub(rb"[^A-Za-z0-9_]", b"_", m.group(2)) + b"</bnode>",
                          content)


def _results(content: bytes):
    """pyoxigraph's QuerySolutions or QueryBoolean of an XML answer."""
    try:
        return ox.parse_query_results(_xml(content), format=_XML)
    except SyntaxError as e:
        raise BadGateway(f"The SPARQL engine sent results that cannot be parsed: {e}") from None


def _rows(content: bytes) -> list[dict]:
    result = _results(content)
    if isinstance(result, ox.QueryBoolean):
        return []
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


def _triples(r: requests.Response) -> list:
    media = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
    fmt = {"text/turtle": ox.RdfFormat.TURTLE, "application/x-turtle": ox.RdfFormat.TURTLE,
           "application/rdf+xml": ox.RdfFormat.RDF_XML}.get(media, ox.RdfFormat.N_TRIPLES)
    try:
        triples = list(ox.parse(r.content, format=fmt))
    except SyntaxError as e:
        raise BadGateway(f"The SPARQL engine sent an RDF answer that cannot be parsed: {e}") from None
    return [ox.Triple(_map_term(t.subject), t.predicate, _map_term(t.object)) for t in triples]


def _map_term(term):
    if isinstance(term, ox.NamedNode) and term.value.startswith(_VIRTUOSO_BNODE):
        return ox.BlankNode(_map_bnode_value(term.value))
    return term


def _read_only_request() -> bool:
    """Outside a request (each version is read afresh), or in a GET or HEAD."""
    try:
        from flask import has_request_context, request
    except ImportError:
        return True
    return not has_request_context() or request.method in ("GET", "HEAD")


def _request_cache() -> dict | None:
    """flask.g when serving a request (the store's version is read once per request), else None."""
    try:
        from flask import g, has_request_context
    except ImportError:
        return None
    if not has_request_context():
        return None
    return g.__dict__.setdefault("_entente_store", {})
