"""Writes as data, shared by both backends: the SPARQL Update text that removes and adds quads, and the
graph operations (replace, add to, drop) every backend derives from its one `write` call.

Every server-side write (a new contribution's record, a maintainer's review, graph replacement) goes
through `store.write`; only a user's own SPARQL Update goes through `store.update` (its checks and timeout).
"""

from __future__ import annotations

import pyoxigraph as ox


def data_blocks(quads, default_graph: str | None = None) -> str:
    """The body of an INSERT DATA or DELETE DATA: one block per graph. Default-graph triples stand bare,
    or go into `default_graph` for an engine that keeps Entente's default graph as a named one."""
    by_graph: dict[str | None, list[str]] = {}
    for q in quads:
        g = q.graph_name
        key = default_graph if isinstance(g, ox.DefaultGraph) else g.value
        by_graph.setdefault(key, []).append(f"{q.subject} {q.predicate} {q.object} .")
    return "\n".join("\n".join(lines) if key is None else f"GRAPH <{key}> {{\n" + "\n".join(lines) + "\n}"
                     for key, lines in by_graph.items())


def write_request(quads_to_add, graphs_to_drop=(), graphs_to_create=(), quads_to_remove=()) -> str:
    """One SPARQL Update that drops, creates, removes and inserts: pyoxigraph runs it as one transaction."""
    ops = []
    for g in graphs_to_drop:
        ops.append("DROP SILENT DEFAULT" if not g else f"DROP SILENT GRAPH <{ox.NamedNode(g).value}>")
    for g in graphs_to_create:
        if g:
            ops.append(f"CREATE SILENT GRAPH <{ox.NamedNode(g).value}>")
    ops += data_updates(quads_to_add, quads_to_remove)
    return " ;\n".join(ops)


def data_updates(quads_to_add, quads_to_remove=(), default_graph: str | None = None) -> list[str]:
    """DELETE DATA of `quads_to_remove`, then INSERT DATA of `quads_to_add` (each left out when empty)."""
    ops = []
    for verb, quads in (("DELETE DATA", list(quads_to_remove)), ("INSERT DATA", list(quads_to_add))):
        if quads:
            ops.append(verb + " {\n" + data_blocks(quads, default_graph) + "\n}")
    return ops


def in_graph(name: str, triples) -> list[ox.Quad]:
    graph = ox.DefaultGraph() if not name else ox.NamedNode(name)
    return [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]


class GraphWrites:
    """replace_graph, add_to_graph and drop_graph, for a backend that has `write` (each one transaction)."""

    def replace_graph(self, name: str, triples) -> None:
        self.write(in_graph(name, triples), [name], [name] if name else [])

    def add_to_graph(self, name: str, triples) -> None:
        self.write(in_graph(name, triples), (), [name] if name else [])

    def drop_graph(self, name: str) -> None:
        self.write((), [name])
