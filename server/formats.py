"""The only table of formats: media types, file extensions, W3C format IRIs and the libraries' names.

Content negotiation, the Service Description, VoID, per-format document URLs, dumps and the
contribution parser all read this table, so nothing can be advertised that is not served.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str                     # short name, also the `format=` parameter value
    media_type: str               # the canonical media type
    extension: str                # document URL suffix, without the dot
    kind: str                     # "results" (SELECT/ASK), "graph" (triples) or "dataset" (quads)
    w3c_iri: str | None           # http://www.w3.org/ns/formats/… (used by SD and VoID)
    aliases: tuple[str, ...] = () # other media types accepted for the same format
    rdflib: str | None = None     # rdflib parser/serializer name
    oxigraph: object = None       # pyoxigraph RdfFormat or QueryResultsFormat

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)

    @property
    def text(self) -> bool:
        return True


_NS = "http://www.w3.org/ns/formats/"

RESULTS = (
    Format("json", "application/sparql-results+json", "srj", "results", _NS + "SPARQL_Results_JSON",
           ("application/json",), None, ox.QueryResultsFormat.JSON),
    Format("xml", "application/sparql-results+xml", "srx", "results", _NS + "SPARQL_Results_XML",
           ("application/xml", "text/xml"), None, ox.QueryResultsFormat.XML),
    Format("csv", "text/csv", "csv", "results", _NS + "SPARQL_Results_CSV", (), None, ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", "tsv", "results", _NS + "SPARQL_Results_TSV", (), None,
           ox.QueryResultsFormat.TSV),
)

GRAPHS = (
    Format("turtle", "text/turtle", "ttl", "graph", _NS + "Turtle", ("application/x-turtle",), "turtle",
           ox.RdfFormat.TURTLE),
    Format("ntriples", "application/n-triples", "nt", "graph", _NS + "N-Triples", ("text/plain",), "nt",
           ox.RdfFormat.N_TRIPLES),
    Format("rdfxml", "application/rdf+xml", "rdf", "graph", _NS + "RDF_XML", (), "xml", ox.RdfFormat.RDF_XML),
    Format("jsonld", "application/ld+json", "jsonld", "graph", _NS + "JSON-LD", (), "json-ld",
           ox.RdfFormat.JSON_LD),
)

DATASETS = (
    Format("trig", "application/trig", "trig", "dataset", _NS + "TriG", (), "trig", ox.RdfFormat.TRIG),
    Format("nquads", "application/n-quads", "nq", "dataset", _NS + "N-Quads", (), "nquads", ox.RdfFormat.N_QUADS),
)

HTML = Format("html", "text/html", "html", "page", None, ("application/xhtml+xml",))

# The JSON of the API's own answers (validation reports, contribution records and lists).
JSON = Format("json", "application/json", "json", "report", None)

ALL = RESULTS + GRAPHS + DATASETS

# Formats that can carry triples, best first: what CONSTRUCT, DESCRIBE and documents offer.
# TriG and N-Quads carry triples too (in the default graph), so they are offered last.
RDF = GRAPHS + DATASETS


def by_name(name: str) -> Format | None:
    for f in ALL + (HTML,):
        if f.name == name or f.extension == name:
            return f
    return None


def by_media_type(media_type: str, candidates: tuple[Format, ...] = ALL) -> Format | None:
    """The format for a media type (parameters such as charset are ignored)."""
    bare = media_type.split(";", 1)[0].strip().lower()
    for f in candidates:
        if bare in f.media_types:
            return f
    return None


def by_extension(extension: str, candidates: tuple[Format, ...] = RDF) -> Format | None:
    ext = extension.lower().lstrip(".")
    for f in candidates:
        if f.extension == ext or (f.name == "jsonld" and ext == "json"):
            return f
    return None


# Values that clients put in `format=` (SPARQLWrapper sends its own names, several at once).
_PARAMETER_SYNONYMS = {"n3": "turtle", "ttl": "turtle", "rdf+xml": "rdfxml", "rdf": "rdfxml", "json-ld": "jsonld",
                       "nt": "ntriples", "n-triples": "ntriples", "nq": "nquads", "n-quads": "nquads",
                       "srj": "json", "srx": "xml", "sparql-results+json": "json", "sparql-results+xml": "xml"}
# For a graph answer, the results-format names mean the RDF format of the same family.
_GRAPH_SYNONYMS = {"xml": "rdfxml", "json": "jsonld"}


def by_parameter(values, candidates: tuple[Format, ...]) -> Format | None:
    """The first of the `format=` values that names one of `candidates` (by name, extension, media type
    or a common client synonym), or None."""
    graph = any(f.kind in ("graph", "dataset") for f in candidates)
    for value in values:
        v = value.strip().lower()
        if graph:
            v = _GRAPH_SYNONYMS.get(v, v)
        v = _PARAMETER_SYNONYMS.get(v, v)
        for f in candidates:
            if v in (f.name, f.extension) or v in f.media_types:
                return f
    return None

