"""The store: the only module that opens pyoxigraph's Store (formats.py names its format enums).

API (stable):
    Store(settings)                              open (or create) the persistent store under settings.data_dir
    store.version -> str                         changes on every write (ETag, caches)
    store.version_stamp() -> tuple               a stat of the version file: cheap, changes on every write
    store.last_modified -> float                 POSIX time of the last write
    store.select(q, bind=None, **ds) -> list[dict[str, Term]]   rows as {var: pyoxigraph term}; raises on >max_results;
        bind={"x": term} has the engine substitute ?x (select, ask and construct): request values never
        go into query text
    store.ask(q, **ds) -> bool
    store.construct(q, **ds) -> list[Triple]             CONSTRUCT / DESCRIBE
    store.query_serialized(q, fmt, **ds) -> (kind, bytes)   for /sparql: forked, hard timeout, result limit.
        kind is "results" (SELECT), "boolean" (ASK) or "graph" (CONSTRUCT/DESCRIBE); `fmt` is a Format
        or a function kind -> Format (called once the kind is known; may raise NotAcceptable).
    store.update(u, base_iri=None)               SPARQL Update: one transaction, durable on return
    store.quads(graph=None) -> list[Quad]        all quads, or one graph's ("" = the default graph)
    store.graph_names() -> list[str]
    store.has_graph(name) -> bool                ("" = the default graph, which always exists)
    store.replace_graph(name, triples) / add_to_graph(name, triples) / drop_graph(name)   atomic
    store.write(quads_to_add, graphs_to_drop=(), graphs_to_create=())  one transaction (contributions use this)
    store.load_dataset(path)                     idempotent: reloads only when the file's sha256 changed
    store.has_loaded_dataset() -> bool           whether any dataset file was ever loaded
    store.dump(fmt: Format) -> bytes
    store.count() -> int
  `**ds` is the query dataset: union_default_graph: bool | None, default_graphs: list[str] | None,
  named_graphs: list[str] | None, base_iri: str | None.

select/ask/construct run in-process: they are for the server's own bounded queries. Whatever a user
sends goes through query_serialized/update, which run in another process that is killed at the
timeout (pyoxigraph cannot interrupt a running query, and a signal does not reach into it):
queries in the worker's *query process* (forked from the worker once its read-only snapshot is open,
kept between queries so that caches stay warm, replaced after a kill or a write), updates in a
writer process.

Errors raised: errors.BadRequest (syntax, with the parser's message and `where` = line/column; SERVICE
or LOAD refused), errors.ServiceUnavailable (timeout), errors.ResultTooLarge (413) for answers over
max_results — an answer is never cut short.

On disk (<data_dir>/oxigraph/):
    primary/          the read-write RocksDB; opened only by a writer process holding write.lock
    snapshots/<n>/    immutable checkpoints (hard links) of primary, one per committed write
    VERSION           JSON {version, snapshot, last_modified}, replaced atomically after each write
    dataset.json      sha256 and graph names of the last loaded dataset file
Readers (every worker) open the current snapshot read-only and switch when VERSION changes, so a
reader sees the state before a write or after it, never a mix. Writers are separate processes (from
multiprocessing's fork server: a clean process that never opened RocksDB), serialized by an flock.

Length: over 400 lines because the snapshot reader, the query process and the writer process share
the locking and version protocol described above; the write text lives in writes.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import signal
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from .. import children, durable
from ..durable import fsync_dir
from ..errors import BadGateway, BadRequest, EntenteError, PayloadTooLarge, ResultTooLarge, ServiceUnavailable
from ..formats import Format
from ..representations import prefixes_for, serialize
from ..settings import Settings
from .sparql_text import check_nesting, has_dataset_clause, top_level_keywords
from .writes import GraphWrites, write_request

log = logging.getLogger("entente")
_JSON = ox.QueryResultsFormat.JSON
_POSITION = re.compile(r"error at (\d+):(\d+)")
_UNKNOWN_FUNCTION = re.compile(r"custom function <([^>]+)> is not supported")
_RDF_POSITION = re.compile(r"at line (\d+) (?:column|between columns) (\d+)")


class Store(GraphWrites):
    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = Path(settings.data_dir) / "oxigraph"
        self._version_path = str(self.root / "VERSION")
        self._reader: ox.Store | None = None
        self._reader_key = None
        self._reader_lock_fd: int | None = None
        self._meta: dict = {}
        self._lock = threading.RLock()           # worker threads share the snapshot and the query processes
        self._idle: list[_QueryProcess] = []     # query processes not running a query
        if not (self.root / "VERSION").exists():
            self._write("init", None)

    # --- versions and the read-only snapshot ---------------------------------------------------
    @property
    def version(self) -> str:
        self._snapshot()
        return self._meta["version"]

    def version_stamp(self) -> tuple:
        """A stat of VERSION, which every write replaces: equal stamps, same data. A few microseconds and no
        lock, for the worker's response cache (web/response_cache.py), which asks on every answer it sends."""
        st = os.stat(self._version_path)
        return st.st_ino, st.st_mtime_ns, st.st_size

    @property
    def last_modified(self) -> float:
        self._snapshot()
        return self._meta["last_modified"]

    def _snapshot(self) -> ox.Store:
        """The read-only store of the current snapshot, reopened when another process has written."""
        with self._lock:
            return self._open_snapshot()

    def _open_snapshot(self) -> ox.Store:
        version_file = self.root / "VERSION"
        for _attempt in range(20):
            st = version_file.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if key == self._reader_key and self._reader is not None:
                return self._reader
            meta = json.loads(version_file.read_text())
            snap = self.root / "snapshots" / meta["snapshot"]
            fd = _lock_snapshot(snap)
            if fd is None:          # collected between reading VERSION and locking it: read VERSION again
                continue
            try:
                reader = ox.Store.read_only(str(snap))
            except OSError:
                os.close(fd)
                continue
            if self._reader_lock_fd is not None:
                os.close(self._reader_lock_fd)
            self._reader, self._reader_key, self._reader_lock_fd, self._meta = reader, key, fd, meta
            return reader
        raise ServiceUnavailable("The store is being rewritten; try again in a moment.")

    # --- reads (in-process) ----------------------------------------------------------------------
    def _query(self, q: str, bind: dict | None = None, **ds):
        """`bind`: {variable name: pyoxigraph term}, substituted by the engine (values never enter the text)."""
        substitutions = {ox.Variable(k): v for k, v in bind.items()} if bind else None
        try:
            return self._snapshot().query(q, substitutions=substitutions, **_dataset_kwargs(self.settings, q, **ds))
        except SyntaxError as e:
            raise _syntax_error("SPARQL syntax error", e) from e

    def select(self, q: str, **ds) -> list[dict]:
        result = self._query(q, **ds)
        names = [v.value for v in result.variables]
        rows = []
        for solution in result:
            rows.append({n: solution[n] for n in names if solution[n] is not None})
            if len(rows) > self.settings.max_results:
                raise ResultTooLarge(_too_large(self.settings.max_results, "rows"))
        return rows

    def ask(self, q: str, **ds) -> bool:
        return bool(self._query(q, **ds))

    def construct(self, q: str, **ds) -> list:
        triples = []
        for t in self._query(q, **ds):
            triples.append(t)
            if len(triples) > self.settings.max_results:
                raise ResultTooLarge(_too_large(self.settings.max_results, "triples"))
        return triples

    def quads(self, graph: str | None = None) -> list:
        return list(self._snapshot().quads_for_pattern(None, None, None, _graph_term(graph)))

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self._snapshot().named_graphs() if isinstance(g, ox.NamedNode))

    def has_graph(self, name: str | None) -> bool:
        if not name:
            return True
        return self._snapshot().contains_named_graph(ox.NamedNode(name))

    def count(self) -> int:
        return len(self._snapshot())

    def dump(self, fmt: Format) -> bytes:
        from ..graph import iris

        if fmt.kind == "dataset":
            return self._snapshot().dump(format=fmt.oxigraph, prefixes=prefixes_for(fmt, iris.PREFIXES))
        return ox.serialize((q.triple for q in self._snapshot()), format=fmt.oxigraph,
                            prefixes=prefixes_for(fmt, iris.PREFIXES))

    # --- user queries (in the query process, hard timeout) ---------------------------------------
    def query_serialized(self, q: str, fmt, **ds) -> tuple[str, bytes]:
        """Run a user's query in this worker's query process; (kind, serialized answer). See the module
        docstring: a query that overruns is killed with its process (503), an answer over the limit is
        refused (413)."""
        check_nesting(q)
        # The SERVICE check (rdflib's parser: seconds for a long query) runs in the query process, under
        # the time limit, not here where nothing could stop it.
        timeout = self.settings.query_timeout
        if "service" in q.lower():
            timeout = min(timeout, self.settings.service_timeout)
        with self._lock:
            reader, version = self._open_snapshot(), self._meta["version"]
        choices = {}
        for kind in ("results", "boolean", "graph"):   # the format for each kind of answer, or why none
            try:
                choices[kind] = (fmt(kind) if callable(fmt) else fmt).name
            except EntenteError as e:
                choices[kind] = _error_to_json(e)
        request = (q, _dataset_kwargs(self.settings, q, **ds), choices, self.settings.max_results,
                   tuple(self.settings.service_allowlist))
        helper = self._take_query_process(reader, version)
        try:
            out = helper.run(request, timeout)
        except TimeoutError:
            helper.stop()
            raise ServiceUnavailable(
                f"The query ran longer than {timeout:g} s, the server's time limit "
                f"({'ENTENTE_QUERY_TIMEOUT' if timeout == self.settings.query_timeout else 'ENTENTE_SERVICE_TIMEOUT'}), "
                f"and was stopped. Make it more selective or add a LIMIT.") from None
        except (EOFError, OSError):
            status = helper.stop()
            if status is not None and os.WIFSIGNALED(status) and os.WTERMSIG(status) in _CRASH_SIGNALS:
                raise BadRequest(_TOO_COMPLEX.format(what="query")) from None
            raise EntenteError("The query process ended without an answer.") from None
        self._give_back(helper)
        if out[:1] == b"1":
            raise _error_from_json(json.loads(out[1:]))
        if out[:1] != b"0":
            log.error("query failed in the query process: %s", out[1:].decode("utf-8", "replace"))
            raise EntenteError("The query failed inside the store; the error has been logged.")
        kind, _, data = out[1:].partition(b"\n")
        return kind.decode(), data

    def _take_query_process(self, reader, version: str) -> "_QueryProcess":
        """An idle query process forked from the current snapshot, or a new one. Each runs one query at a
        time, so a worker's threads each get their own; those of an older snapshot are stopped."""
        stale = []
        with self._lock:
            helper = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.version == version and candidate.pid_owner == os.getpid():
                    helper = candidate
                    break
                stale.append(candidate)
            stale += [h for h in self._idle if h.version != version or h.pid_owner != os.getpid()]
            self._idle = [h for h in self._idle if h not in stale]
            if helper is None:
                helper = _QueryProcess(reader, version)
        for old in stale:
            old.stop()
        return helper

    def _give_back(self, helper: "_QueryProcess") -> None:
        with self._lock:
            if helper.version == self._meta.get("version") and len(self._idle) < _IDLE_QUERY_PROCESSES:
                helper.idle_since = time.monotonic()
                self._idle.append(helper)          # taken back last in, first out: the oldest idle at the front
                return
        helper.stop()

    def stop_idle_query_processes(self) -> int:
        """Stop the query processes idle for _IDLE_SECONDS, all but the most recently used one, so a
        quiet worker holds one (its memory) and a busy one as many as it uses. The worker's event loop
        calls this about once a second. How many were stopped."""
        cutoff = time.monotonic() - _IDLE_SECONDS
        with self._lock:
            stale = [h for h in self._idle[:-1] if h.idle_since < cutoff and h.pid_owner == os.getpid()]
            self._idle = [h for h in self._idle if h not in stale]
        for helper in stale:
            helper.stop()
        return len(stale)

    def _stop_query_process(self) -> None:
        """Stop every idle query process (running ones are stopped by the thread that waits on them)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for helper in idle:
            helper.stop()

    def __del__(self):
        try:
            self._stop_query_process()
        except Exception:  # noqa: BLE001 — interpreter shutdown
            pass

    # --- writes (separate process, one transaction each) ---------------------------------------
    def update(self, u: str, base_iri: str | None = None, **_ds) -> None:
        """A user's SPARQL Update: checked (LOAD, SERVICE) on its parsed form in a child process under the
        time limit, then killed (and nothing written) when it has held the write lock for query_timeout seconds."""
        check_nesting(u)
        check_update_within(u, self.settings, base_iri)
        timeout = self.settings.query_timeout
        self._write("update", {"update": u, "base_iri": base_iri}, timeout=timeout)

    def write(self, quads_to_add, graphs_to_drop=(), graphs_to_create=(), quads_to_remove=()) -> None:
        """Drop graphs, create (empty) graphs, remove and add quads, in one transaction; durable on return."""
        self._write("update", {"update": write_request(quads_to_add, graphs_to_drop, graphs_to_create,
                                                       quads_to_remove), "base_iri": None})

    def has_loaded_dataset(self) -> bool:
        return (self.root / "dataset.json").exists()

    def load_dataset(self, path: Path) -> bool:
        """Load the built dataset unless the same file (sha256) is loaded already; True if it loaded."""
        path = Path(path).resolve()
        record_file = self.root / "dataset.json"
        if record_file.exists():
            record = json.loads(record_file.read_text())
            if record.get("complete") and record.get("sha256") == _sha256(path):
                return False
        return self._write("load", {"path": str(path)}, timeout=600)

    def _write(self, op: str, payload, timeout: float | None = None):
        result = _run_writer(str(self.root), op, payload, timeout or max(self.settings.query_timeout, 30))
        self._reader_key = None          # see our own write at once
        return result


_XML_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)\b")


def parse_rdf(data: bytes, fmt: Format, base_iri: str | None = None, *, timeout: float | None = None,
              memory: int | None = None) -> list:
    """The triples of an RDF document (for the Graph Store Protocol); BadRequest with line/column.

    With a `timeout`, parsed in a child process (server/children.py) killed at the limit (503) or past
    `memory` bytes (413). RDF/XML with a document type or entity declaration is refused: pyoxigraph
    expands internal entities, and a 51 kB body became 20 MB in the store."""
    match = _XML_DECLARATION.search(data) if fmt.name == "rdfxml" else None
    if match:
        raise BadRequest(f"RDF/XML with a <!{match.group(1).decode()}> declaration is refused: an internal entity can "
                         "expand to gigabytes, an external DTD or entity names files and URLs. Write the IRIs and "
                         "text out in full.", where={"line": data[:match.start()].count(b"\n") + 1})
    if timeout is None:
        return _parse_triples(data, fmt, base_iri)
    try:
        return children.run(_parse_triples, data, fmt, base_iri, timeout=timeout, memory=memory)
    except children.TimedOut:
        raise ServiceUnavailable(f"Parsing the body took longer than {timeout:g} s, the server's time limit "
                                 "(ENTENTE_QUERY_TIMEOUT); nothing was written.") from None
    except children.OutOfMemory:
        raise PayloadTooLarge(f"Parsing the body needed more than {memory} bytes of memory, the server's limit "
                              "(ENTENTE_PARSE_MEMORY); nothing was written.") from None


def _parse_triples(data: bytes, fmt: Format, base_iri: str | None) -> list:
    try:
        return [q.triple for q in ox.parse(data, format=fmt.oxigraph, base_iri=base_iri)]
    except SyntaxError as e:
        m = _RDF_POSITION.search(str(e))
        where = {"line": int(m.group(1)), "column": int(m.group(2))} if m else None
        raise BadRequest(f"The {fmt.name} body cannot be parsed: {e}", where=where) from e


# --- helpers for queries ---------------------------------------------------------------------------

def _dataset_kwargs(settings: Settings, query: str | None = None, union_default_graph=None, default_graphs=None,
                    named_graphs=None, base_iri=None) -> dict:
    """pyoxigraph's query options for a protocol dataset (architecture.md, 'The default graph')."""
    union = settings.union_default_graph if union_default_graph is None else union_default_graph
    kwargs: dict = {"base_iri": base_iri}
    if default_graphs:
        kwargs["default_graph"] = [_graph_term(g) for g in default_graphs]
    elif named_graphs:
        kwargs["default_graph"] = []
    elif union and not (query and has_dataset_clause(query)):
        kwargs["use_default_graph_as_union"] = True
    if named_graphs:
        kwargs["named_graphs"] = [_iri(g) for g in named_graphs]
    elif default_graphs:
        kwargs["named_graphs"] = []
    return kwargs


def _graph_term(graph: str | None):
    if graph is None:
        return None
    return ox.DefaultGraph() if graph == "" else _iri(graph)


def _iri(value: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(value)
    except ValueError as e:
        raise BadRequest(f"<{value}> is not an absolute IRI: {e}", where=value) from e


def _too_large(limit: int, what: str) -> str:
    return (f"The answer has more than {limit} {what}, the server's result limit (ENTENTE_MAX_RESULTS). "
            f"Nothing was cut: ask for fewer with LIMIT and page with OFFSET (with ORDER BY for a stable order).")


def _syntax_error(prefix: str, e: SyntaxError) -> BadRequest:
    message = str(e)
    where = None
    m = _POSITION.search(message)
    if m:
        where = {"line": int(m.group(1)), "column": int(m.group(2))}
    return BadRequest(f"{prefix}: {message}", where=where)


def _evaluate(reader, q: str, kwargs: dict):
    """reader.query(q); a call of an unknown function is an expression error (SPARQL 1.1 §17.3), not a
    failed query: pyoxigraph refuses such queries, so each unknown function is declared as one that
    returns no value, and the query run again."""
    unknown: dict = {}
    while True:
        try:
            return reader.query(q, custom_functions=unknown or None, **kwargs)
        except SyntaxError as e:
            raise _syntax_error("SPARQL syntax error", e) from e
        except RuntimeError as e:
            m = _UNKNOWN_FUNCTION.search(str(e))
            if not m or len(unknown) > 20:
                raise BadRequest(f"The query cannot be evaluated: {e}") from e
            unknown[ox.NamedNode(m.group(1))] = lambda *args: None


def _serialize_result(result, choose, limit: int) -> tuple[str, bytes]:
    """(kind, bytes) of a query result in the chosen format, refusing answers over `limit`."""
    if isinstance(result, ox.QueryBoolean):
        return "boolean", result.serialize(format=choose("boolean").oxigraph)
    if isinstance(result, ox.QuerySolutions):
        fmt = choose("results")
        # Serialize once (one evaluation), count the rows by re-reading the JSON, then convert. Every row
        # takes at least 3 bytes of JSON (`{}` and a comma), so an answer of at most 3×limit bytes cannot
        # be over the limit and is not re-read.
        data = result.serialize(format=_JSON)
        if len(data) > 3 * limit:
            rows = sum(1 for _ in ox.parse_query_results(data, format=_JSON))
            if rows > limit:
                raise ResultTooLarge(_too_large(limit, "rows") + f" (this query gives {rows}.)")
        if fmt.oxigraph != _JSON:
            data = ox.parse_query_results(data, format=_JSON).serialize(format=fmt.oxigraph)
        return "results", data
    fmt = choose("graph")
    triples = []
    for t in result:
        triples.append(t)
        if len(triples) > limit:
            raise ResultTooLarge(_too_large(limit, "triples"))
    return "graph", serialize(triples, fmt)


# Query processes a worker keeps waiting for the next query; more are forked when more threads query at
# once, and stopped after their query (each one holds its own copy of the engine's caches).
_IDLE_QUERY_PROCESSES = 4
# ... and those beyond the most recent one are stopped after this many seconds without a query: each
# holds ~50 MiB RSS (mostly shared with the worker) plus its own RocksDB reads.
_IDLE_SECONDS = 10.0


class _QueryProcess:
    """A child forked from a worker after the worker opened its read-only snapshot. It runs that worker's
    user queries one at a time (a gunicorn sync worker has one request at a time), so RocksDB's caches
    stay warm between queries; pyoxigraph cannot interrupt a query, so a query that overruns is stopped
    by killing this process, and the next query forks a new one. A write makes a new snapshot current:
    the process is then replaced by one forked from the worker's new snapshot, so it never opens a store."""

    def __init__(self, reader, version: str):
        parent_end, child_end = multiprocessing.Pipe()
        pid = os.fork()
        if pid == 0:                                 # child: never returns into the server's code
            try:
                parent_end.close()
                children.become_child(keep=child_end.fileno())     # dies with the worker (its thread)
                _serve_queries(reader, child_end)
            finally:
                os._exit(0)
        child_end.close()
        self.pid, self.pid_owner, self.conn, self.version = pid, os.getpid(), parent_end, version
        self.idle_since = time.monotonic()

    def run(self, request, timeout: float) -> bytes:
        self.conn.send(request)
        if not self.conn.poll(timeout):
            raise TimeoutError
        return self.conn.recv_bytes()

    def stop(self) -> int | None:
        """Kill the process; its wait status (a process that had died already keeps its own signal)."""
        if self.pid_owner != os.getpid():
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        status = None
        with contextlib.suppress(ChildProcessError):
            status = os.waitpid(self.pid, 0)[1]
        self.conn.close()
        return status


# The engine parses and evaluates recursively: a long enough chain (thousands of ||, +, UNION, OPTIONAL,
# BIND, path steps or triple patterns, no brackets needed) overflows the process's stack and it dies
# with one of these signals. The query or update did it, so the client gets a 400 that says what to do.
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL}
_TOO_COMPLEX = ("The {what} is too long or too deeply nested for the engine (it ran out of stack): chains of "
                "thousands of ||, &&, +, UNION, OPTIONAL, MINUS, BIND, property-path steps or triple patterns "
                "do this. Split it into smaller requests, or use VALUES for long lists of alternatives.")


def _serve_queries(reader, conn) -> None:
    """The query process's loop: (query, options, formats by kind, limit) in, b"0"+answer or b"1"+error out."""
    from .. import formats

    while True:
        try:
            q, kwargs, choices, limit, allowlist = conn.recv()
        except (EOFError, OSError):
            return                                    # the worker is gone

        def choose(kind: str, choices=choices):
            choice = choices[kind]
            if isinstance(choice, dict):
                raise _error_from_json(choice)
            return formats.by_name(choice)

        try:
            try:
                check_federation(q, allowlist)
                kind, data = _serialize_result(_evaluate(reader, q, kwargs), choose, limit)
            except OSError as e:
                if "service" not in q.lower():
                    raise
                # pyoxigraph reports a failed SERVICE call (refused, unreachable, bad answer) as an OSError.
                raise BadGateway(f"A SERVICE endpoint of the query failed: {e}. (SERVICE SILENT ignores "
                                 f"such failures.)") from e
            payload = b"0" + kind.encode() + b"\n" + data
        except EntenteError as e:
            payload = b"1" + json.dumps(_error_to_json(e)).encode()
        except BaseException as e:                   # noqa: BLE001 — reported to the worker as a 500
            payload = b"2" + f"{type(e).__name__}: {e}".encode("utf-8", "replace")
        conn.send_bytes(payload)


def _error_to_json(e: EntenteError) -> dict:
    return {"module": type(e).__module__, "cls": type(e).__name__, "message": e.message, "where": e.where,
            "headers": e.headers}


def _error_from_json(d: dict) -> EntenteError:
    from .. import errors

    cls = getattr(errors, d["cls"], EntenteError)
    if cls is errors.MethodNotAllowed or not issubclass(cls, EntenteError):
        cls = EntenteError
    return cls(d["message"], where=d["where"], headers=d["headers"])


# --- federation and LOAD: the server never fetches an arbitrary URL ---------------------------------

def check_federation(q: str, allowlist) -> list[str]:
    """The SERVICE IRIs of a query, all on the allowlist; raises BadRequest for any other target.

    pyoxigraph would call any SERVICE IRI itself, so every SERVICE clause is found with rdflib's
    SPARQL parser (only when the word occurs at all, to keep rdflib out of the common path).
    FROM / FROM NAMED never fetch anything in pyoxigraph: they only pick graphs of the store.
    """
    if "service" not in q.lower():
        return []
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(q)).algebra
    except Exception as e:  # noqa: BLE001 — a query we cannot check is refused, not run
        raise BadRequest(f"The query mentions SERVICE but could not be checked against the SERVICE allowlist: {e}")
    return _services(algebra, traverse, allowlist)


def check_update_within(u: str, settings: Settings, base_iri: str | None = None) -> None:
    """The checks of a user's update, each in a child process under the query time limit and the parse
    memory limit: the engine's own parse (syntax errors with their position, too-deep nesting), then the
    decision on LOAD and SERVICE from the parsed form (check_update). Used by every store backend."""
    timeout = settings.query_timeout
    _load_rdflib_parser()
    try:
        children.run(engine_syntax_check, u, base_iri, timeout=timeout, memory=settings.parse_memory)
        children.run(check_update, u, tuple(settings.service_allowlist), base_iri, timeout=timeout,
                     memory=settings.parse_memory)
    except children.TimedOut:
        raise ServiceUnavailable(f"Checking the update took longer than {timeout:g} s, the server's time limit "
                                 "(ENTENTE_QUERY_TIMEOUT); nothing was written. Send it in smaller parts.") from None
    except (children.OutOfMemory, children.Crashed):
        raise BadRequest(_TOO_COMPLEX.format(what="update") + " Nothing was written.") from None
    except children.Failed as e:
        log.error("checking an update failed: %s", e)
        raise EntenteError("The update could not be checked and was not run; the error has been logged.") from None


def check_federation_within(q: str, settings: Settings) -> None:
    """check_federation in a child process (rdflib's parser is slow on long texts and not thread-safe),
    under the SERVICE time limit; only when the query mentions SERVICE at all."""
    if "service" not in q.lower():
        return
    _load_rdflib_parser()
    try:
        children.run(check_federation, q, tuple(settings.service_allowlist), timeout=settings.service_timeout,
                     memory=settings.parse_memory)
    except children.TimedOut:
        raise ServiceUnavailable(f"Checking the query's SERVICE clauses took longer than {settings.service_timeout:g} s "
                                 "(ENTENTE_SERVICE_TIMEOUT).") from None
    except (children.OutOfMemory, children.Crashed):
        raise BadRequest(_TOO_COMPLEX.format(what="query")) from None
    except children.Failed as e:
        raise BadRequest(f"The query mentions SERVICE but could not be checked against the allowlist: {e}") from None


def _load_rdflib_parser() -> None:
    """rdflib's SPARQL parser (0.4 s to import, 6 MB), loaded in this process before the first check that
    needs it, so the children forked for the checks start warm; not at start-up, so that a worker that
    is never sent an update or a SERVICE query (and the query processes it forks) never holds it."""
    import rdflib.plugins.sparql.algebra  # noqa: F401
    import rdflib.plugins.sparql.parser  # noqa: F401


def check_update(u: str, allowlist, base_iri: str | None = None) -> None:
    """Refuse LOAD (it would fetch a URL) and SERVICE targets off the allowlist, decided on the parsed update.

    A lexer's view of the text can be fooled (a triple-quoted string ending in an escaped quote, a
    prefixed name glued to a string or to a comment holding `{` once hid a LOAD from it), so the update
    is parsed with rdflib's SPARQL Update parser and its operations are looked at; an update that parser
    cannot read is refused, not run. Meant to run in a child process (children.run): rdflib's parser is
    slow on long texts and not thread-safe."""
    from rdflib.plugins.sparql.algebra import translateUpdate, traverse
    from rdflib.plugins.sparql.parser import parseUpdate

    for word, offset in top_level_keywords(u):          # the quick answer, with a position
        if word == "LOAD":
            raise BadRequest(_NO_LOAD, where={"offset": offset})
    try:
        update = translateUpdate(parseUpdate(u), base=base_iri)   # relative IRIs resolve as the engine will
    except Exception as e:  # noqa: BLE001 — an update we cannot check is refused, not run
        message = " ".join(str(e).split())[:300]
        raise BadRequest(f"The update could not be parsed to check it for LOAD and SERVICE, so it was not run: "
                         f"{message}. (This server checks updates with rdflib's SPARQL 1.1 parser.)") from None
    for operation in update.algebra:
        if getattr(operation, "name", None) == "Load":
            raise BadRequest(_NO_LOAD)
    _services(update.algebra, traverse, allowlist)


def engine_syntax_check(u: str, base_iri: str | None = None) -> None:
    """Raise the engine's own syntax error (with its line and column) if it finds one in `u`. ONLY IN A CHILD.

    Only pyoxigraph's update() reports its parse errors, and it runs what it parses: so it runs here on an
    empty in-memory store, in a child process that has first lost the right to open any file descriptor
    (RLIMIT_NOFILE 0), so that nothing it runs (LOAD, SERVICE) can open a socket or a file. A text too
    deeply nested for the engine crashes this child, not the writer."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (0, hard))
    try:
        ox.Store().update(u, base_iri=base_iri)
    except SyntaxError as e:
        raise _syntax_error("SPARQL Update syntax error", e) from None
    except Exception:  # noqa: BLE001 — anything else: the caller's refusal stands
        return


_NO_LOAD = ("LOAD is refused: this server never fetches data from URLs. Send the data with INSERT DATA or the "
            "Graph Store Protocol (/store).")


def _services(algebra, traverse, allowlist) -> list[str]:
    found = []

    def visit(node):
        if getattr(node, "name", None) == "ServiceGraphPattern":
            found.append(node.term)

    traverse(algebra, visitPost=visit)
    allowed = set(allowlist)
    for term in found:
        if type(term).__name__ == "Variable":
            raise BadRequest(f"SERVICE ?{term} is refused: the endpoint must be a constant IRI on the allowlist "
                             f"({', '.join(sorted(allowed)) or 'empty'}).")
        if str(term) not in allowed:
            raise BadRequest(f"SERVICE <{term}> is refused: this server calls only the SPARQL endpoints on its "
                             f"allowlist ({', '.join(sorted(allowed)) or 'empty'}; ENTENTE_SERVICE_ALLOWLIST).")
    return [str(t) for t in found]


# --- the writer process ---------------------------------------------------------------------------

_START_METHOD = "forkserver"


def set_writer_start_method(method: str) -> None:
    """"forkserver" (default), "fork" or "spawn". A process that will fork workers (gunicorn's master)
    does not use the fork server, which cannot be shared with forked children: it forks writers itself
    ("fork", when it has no threads and never opened RocksDB) or spawns them."""
    global _START_METHOD
    _START_METHOD = method


def _context():
    """Writers start from a clean process that never opened RocksDB (a fork server, or a new interpreter)."""
    ctx = multiprocessing.get_context(_START_METHOD)
    if _START_METHOD == "forkserver":
        ctx.set_forkserver_preload(["server.store.embedded"])
    return ctx


_WRITER_START_LIMIT = 60.0    # seconds for a writer process to start and get the write lock


def _run_writer(root: str, op: str, payload, timeout: float):
    """Run `op` in a writer process; `timeout` counts from the moment it holds the write lock."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_writer_main, args=(root, op, payload, send), daemon=True)
    process.start()
    send.close()
    try:
        status, value = _receive(receive, _WRITER_START_LIMIT, process,
                                 "The store is busy with other writes; nothing was written, try again.")
        if status == "started":
            status, value = _receive(receive, timeout, process,
                                     f"The update ran longer than {timeout:g} s, the server's time limit "
                                     f"(ENTENTE_QUERY_TIMEOUT), and was stopped; nothing was written.")
    finally:
        receive.close()
        process.join()
    if status == "ok":
        return value
    if status == "entente":
        raise _error_from_json(value)
    log.error("write failed in the writer process: %s", value)
    raise EntenteError("The write failed inside the store; the error has been logged.")


def _receive(conn, timeout: float, process, message: str):
    if not conn.poll(timeout):
        process.kill()
        process.join()
        raise ServiceUnavailable(message)
    try:
        return conn.recv()
    except EOFError:
        process.join()
        if process.exitcode is not None and -process.exitcode in _CRASH_SIGNALS:
            raise BadRequest(_TOO_COMPLEX.format(what="update") + " Nothing was written.") from None
        raise EntenteError("The writer process ended without an answer; nothing was written.") from None


def _writer_main(root: str, op: str, payload, conn) -> None:
    """In the writer child: take the write lock, apply `op` to primary, snapshot it, publish VERSION."""
    try:
        result = _apply(Path(root), op, payload, lambda: conn.send(("started", None)))
        conn.send(("ok", result))
    except EntenteError as e:
        conn.send(("entente", _error_to_json(e)))
    except SyntaxError as e:
        conn.send(("entente", _error_to_json(_syntax_error("SPARQL Update syntax error", e))))
    except BaseException as e:  # noqa: BLE001
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _apply(root: Path, op: str, payload, started=lambda: None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "snapshots").mkdir(exist_ok=True)
    with _flock(root / "write.lock"):
        started()
        if op == "init" and (root / "VERSION").exists():
            return None
        store = ox.Store(str(root / "primary"))
        loaded = None
        if op == "update":
            try:
                store.update(payload["update"], base_iri=payload["base_iri"])
            except RuntimeError as e:
                raise BadRequest(f"The update cannot be evaluated: {e}") from e
        elif op == "load":
            loaded = _load(store, root, Path(payload["path"]))
            if not loaded and (root / "VERSION").exists():
                return False
        store.flush()
        _publish(store, root)
        del store
        if op == "load":
            return loaded
    _collect(root)
    return None


def _load(store, root: Path, path: Path) -> bool:
    """Replace the previously loaded dataset's graphs with the file's; other graphs stay as they are."""
    data = Path(path).read_bytes()                   # read once: its digest, and whether it has blank nodes
    digest = hashlib.sha256(data).hexdigest()
    record_file = root / "dataset.json"
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    if record.get("sha256") == digest and record.get("complete"):
        return False
    # Into an empty store (the first start) the file's graph names are read back from the store after
    # the load, instead of parsing the file twice (5 s of a 1M-triple load).
    empty = next(iter(store), None) is None and next(iter(store.named_graphs()), None) is None
    graphs = [] if empty else sorted({q.graph_name.value for q in ox.parse(path=str(path), format=_rdf_format(path))
                                      if isinstance(q.graph_name, ox.NamedNode)})
    # Mark the load as started: if it is cut off, the next start redoes it from scratch (the store is no
    # longer empty then, so the file's graphs are found by parsing it and removed first).
    durable.write(record_file, json.dumps({"sha256": digest, "graphs": sorted(set(graphs) |
                                          set(record.get("graphs", []))), "complete": False}))
    for g in set(record.get("graphs", [])) | set(graphs):
        store.remove_graph(ox.NamedNode(g))
    # Parsed with the file's own blank node labels (the build makes them canonical): Store.bulk_load
    # would give them fresh random ids on every load, and the dumps' SHA-256 would change with each.
    # A file without labelled blank nodes goes by bulk_load, the engine's own path (about twice as fast).
    labelled_blank_nodes = b"_:" in data
    del data
    if labelled_blank_nodes:
        store.bulk_extend(ox.parse(path=str(path), format=_rdf_format(path)))
    else:
        store.bulk_load(path=str(path), format=_rdf_format(path))
    store.flush()
    if empty:
        graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    durable.write(record_file, json.dumps({"sha256": digest, "graphs": graphs, "complete": True,
                                           "file": str(path), "loaded": time.time()}))
    return True


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rdf_format(path: Path):
    return ox.RdfFormat.N_QUADS if path.suffix == ".nq" else ox.RdfFormat.TRIG


def _publish(store, root: Path) -> None:
    version_file = root / "VERSION"
    seq = 0
    if version_file.exists():
        seq = int(json.loads(version_file.read_text())["snapshot"].split("-")[0])
    name = f"{seq + 1:08d}-{secrets.token_hex(4)}"
    store.backup(str(root / "snapshots" / name))
    (root / "snapshots" / name / "entente.lock").touch()
    fsync_dir(root / "snapshots" / name)
    fsync_dir(root / "snapshots")
    durable.write(version_file, json.dumps({"version": name, "snapshot": name, "last_modified": time.time()}))


def _collect(root: Path) -> None:
    """Remove snapshots that are not current and that no reader holds (readers keep a shared flock),
    and RocksDB's old information logs (one per opening of primary; RocksDB would keep 1000)."""
    for old_log in sorted((root / "primary").glob("LOG.old.*"))[:-5]:
        old_log.unlink(missing_ok=True)
    current = json.loads((root / "VERSION").read_text())["snapshot"]
    for snap in (root / "snapshots").iterdir():
        if snap.name == current:
            continue
        lock = snap / "entente.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            shutil.rmtree(snap, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.unlink(lock)
        os.close(fd)
        shutil.rmtree(snap, ignore_errors=True)


def _lock_snapshot(snap: Path) -> int | None:
    """A shared flock on a snapshot (None if it was collected meanwhile); held while it is open."""
    lock = snap / "entente.lock"
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        if os.stat(lock).st_ino == os.fstat(fd).st_ino:
            return fd
    except FileNotFoundError:
        pass
    os.close(fd)
    return None


@contextlib.contextmanager
def _flock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


