"""Every serializer: quads, triples and query answers to any `formats.Format`, with the prefixes worth
declaring and the Content-Type (charset) they are sent with.

formats.py is the table of formats; this module is the one place that turns data into bytes in one of
them (pyoxigraph does the writing). Adding a format means adding a row to formats.py, nothing here.
Used by the store (query answers, dumps), the pipeline (documents, VoID, dumps) and the web alike.
"""

from __future__ import annotations

import pyoxigraph as ox

from . import formats
from .formats import Format
from .graph import iris

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# The prefixes a document may declare (those it uses): the data's own, plus contributions and DCAT.
PREFIXES = {**iris.PREFIXES, "contribution": iris.CONTRIBUTION, "dcat": "http://www.w3.org/ns/dcat#"}
_PREFIXED = ("turtle", "trig", "rdfxml")       # the formats that can declare prefixes

# Media types worth compressing: every format of the table, plus the site's own text resources.
_TEXT_TYPES = frozenset(m for f in formats.ALL + (formats.HTML, formats.JSON) for m in f.media_types) | {
    "application/javascript", "image/svg+xml", "application/xml"}


def prefixes_for(fmt: Format, prefixes: dict | None = PREFIXES, items=None) -> dict | None:
    """The prefixes to declare in `fmt`: None for formats without prefixes; those whose namespace one of
    `items` (triples or quads) uses, or all of them when `items` is None (a dump too large to scan)."""
    if not prefixes or fmt.name not in _PREFIXED:
        return None
    if items is None:
        return prefixes
    used = {t.value for i in items for t in (i.subject, i.predicate, i.object, getattr(i, "graph_name", None))
            if isinstance(t, ox.NamedNode)}
    return {p: ns for p, ns in prefixes.items() if any(iri.startswith(ns) for iri in used)}


def serialize(items, fmt: Format, prefixes: dict | None = PREFIXES, ordered: bool = False) -> bytes:
    """Triples or quads in `fmt`: dataset formats keep the graphs (triples go to the default graph),
    graph formats merge them. `ordered`: deduplicated, one block per subject (per graph), rdf:type first,
    for documents people read."""
    items = list(items)
    if fmt.kind == "dataset":
        items = [i if isinstance(i, ox.Quad) else ox.Quad(i.subject, i.predicate, i.object) for i in items]
        if ordered:
            items = sorted(dict.fromkeys(items), key=lambda q: (str(q.graph_name), *_reading_order(q)))
    else:
        items = [i.triple if isinstance(i, ox.Quad) else i for i in items]
        if ordered:
            items = sorted(dict.fromkeys(items), key=_reading_order)
    return ox.serialize(items, format=fmt.oxigraph, prefixes=prefixes_for(fmt, prefixes, items))


def with_default_graph(quads, fmt: Format) -> list:
    """In a dataset format, the quads and every triple once more in the default graph: Linked Data clients
    (Comunica, which asks for N-Quads first) query a dereferenced document's default graph, and would
    find nothing if every triple sat in a named graph. Graph formats merge the graphs anyway."""
    quads = list(quads)
    if fmt.kind != "dataset":
        return quads
    return quads + list(dict.fromkeys(ox.Quad(q.subject, q.predicate, q.object) for q in quads))


def _reading_order(t) -> tuple:
    return (str(t.subject), t.predicate.value != RDF_TYPE, str(t.predicate), str(t.object))


def content_type(fmt: Format) -> str:
    """The Content-Type a body in `fmt` is sent with: text/* types name their charset (always UTF-8)."""
    return fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else "")


def compressible(media_type: str | None) -> bool:
    """Whether a response of this (bare) media type is text worth gzipping."""
    return bool(media_type) and (media_type.startswith("text/") or media_type in _TEXT_TYPES)
