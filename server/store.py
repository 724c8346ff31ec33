"""The store: the only module that imports pyoxigraph's Store (formats.py names its format enums).

FIRST VERSION — an in-process store so that the other parts can be built against the API below.
The SPARQL-service work replaces the inside (process isolation for real timeouts, snapshots,
durability) and keeps this API. Callers never build pyoxigraph objects except terms they get back.

API (stable):
    Store(settings)                              open or create the persistent store in settings.data_dir
    store.version -> str                         changes on every write (ETag, caches)
    store.last_modified -> float                 POSIX time of the last write
    store.select(q, **ds) -> list[dict[str, Term]]       rows as {var: pyoxigraph term}; raises on >max_results
    store.ask(q, **ds) -> bool
    store.construct(q, **ds) -> list[Triple]             CONSTRUCT / DESCRIBE
    store.query_serialized(q, fmt: Format, **ds) -> (kind, bytes)   kind in "results", "graph"; for /sparql
    store.update(u, **ds)                        SPARQL Update, atomic
    store.quads(graph=None) -> list[Quad]        all quads, or one graph's
    store.graph_names() -> list[str]
    store.replace_graph(name, triples) / add_to_graph(name, triples) / drop_graph(name)   atomic
    store.write(quads_to_add, graphs_to_drop=())  one atomic transaction (contributions use this)
    store.load_dataset(path)                     idempotent (re)load of the built dataset
    store.dump(fmt: Format) -> bytes
    store.count() -> int
  `**ds` is the query dataset: union_default_graph: bool | None, default_graphs: list[str] | None,
  named_graphs: list[str] | None, base_iri: str | None.
Errors raised: errors.BadRequest (syntax, with the parser's message), errors.ServiceUnavailable
(timeout), errors.Unprocessable? no — ResultTooLarge (errors.EntenteError subclass, 413-like) for
answers over max_results.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from .errors import BadRequest, EntenteError
from .formats import Format
from .settings import Settings


class ResultTooLarge(EntenteError):
    status, title = 413, "Result Too Large"


class Store:
    def __init__(self, settings: Settings):
        self.settings = settings
        path = Path(settings.data_dir)
        path.mkdir(parents=True, exist_ok=True)
        self._store = ox.Store(str(path))
        self._lock = threading.Lock()
        self._bump()

    # --- versions -----------------------------------------------------------------------------
    def _bump(self) -> None:
        self.last_modified = time.time()
        self.version = hashlib.sha256(f"{self.last_modified}".encode()).hexdigest()[:16]

    # --- reads --------------------------------------------------------------------------------
    def _query(self, q: str, union_default_graph=None, default_graphs=None, named_graphs=None, base_iri=None):
        union = self.settings.union_default_graph if union_default_graph is None else union_default_graph
        kwargs = {}
        if default_graphs is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        elif union:
            kwargs["use_default_graph_as_union"] = True
        if named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        try:
            return self._store.query(q, base_iri=base_iri, **kwargs)
        except SyntaxError as e:
            raise BadRequest(f"SPARQL syntax error: {e}") from e

    def select(self, q: str, **ds) -> list[dict]:
        result = self._query(q, **ds)
        names = [v.value for v in result.variables]
        rows = []
        for solution in result:
            rows.append({n: solution[n] for n in names if solution[n] is not None})
            if len(rows) > self.settings.max_results:
                raise ResultTooLarge(f"The answer has more than {self.settings.max_results} rows.")
        return rows

    def ask(self, q: str, **ds) -> bool:
        return bool(self._query(q, **ds))

    def construct(self, q: str, **ds) -> list:
        triples = []
        for t in self._query(q, **ds):
            triples.append(t)
            if len(triples) > self.settings.max_results:
                raise ResultTooLarge(f"The answer has more than {self.settings.max_results} triples.")
        return triples

    def query_serialized(self, q: str, fmt: Format, **ds) -> tuple[str, bytes]:
        result = self._query(q, **ds)
        if isinstance(result, ox.QueryTriples):
            return "graph", ox.serialize(list(result), format=fmt.oxigraph)
        return "results", result.serialize(format=fmt.oxigraph)

    def quads(self, graph: str | None = None) -> list:
        g = ox.NamedNode(graph) if graph else None
        return list(self._store.quads_for_pattern(None, None, None, g))

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def count(self) -> int:
        return len(self._store)

    def dump(self, fmt: Format) -> bytes:
        return self._store.dump(format=fmt.oxigraph)

    # --- writes -------------------------------------------------------------------------------
    def update(self, u: str, base_iri=None, **_ds) -> None:
        with self._lock:
            try:
                self._store.update(u, base_iri=base_iri)
            except SyntaxError as e:
                raise BadRequest(f"SPARQL Update syntax error: {e}") from e
            self._bump()

    def write(self, quads_to_add, graphs_to_drop=()) -> None:
        with self._lock:
            for g in graphs_to_drop:
                node = ox.NamedNode(g)
                if self._store.contains_named_graph(node):
                    self._store.remove_graph(node)
            self._store.extend(list(quads_to_add))
            self._bump()

    def load_dataset(self, path: Path) -> None:
        with self._lock:
            self._store.clear()
            self._store.bulk_load(path=str(path), format=ox.RdfFormat.TRIG)
            self._bump()


def init_app(app, settings: Settings) -> None:
    store = Store(settings)
    if not settings.empty and Path(settings.dataset).exists():
        store.load_dataset(Path(settings.dataset))
    app.extensions["entente.store"] = store


def get_store():
    from flask import current_app

    return current_app.extensions["entente.store"]
