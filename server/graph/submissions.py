"""What a contribution is before it reaches the store: parsed, checked against Entente's rules, kept durably.

A contribution is RDF in any of the formats of `formats.RDF`. It is parsed with rdflib against the
base IRI of the contribution, `https://w3id.org/entente/contribution/<id>`, so that relative IRIs
(`<#claim-1>`) land inside it; in formats without relative IRIs (N-Triples, N-Quads) the placeholder
`https://w3id.org/entente/contribution/new` stands for that base and is rewritten. Claim graphs are
therefore `contribution/<id>#claim-1`, and the default graph (claim metadata, spans) becomes the graph
`contribution/<id>` once accepted.

Rules (422, with the reason), besides the SHACL shapes: named graphs lie inside the contribution —
never the article's graphs (graph:…, claim:…) nor another contribution's; no triple has an ontology
term (ent:…, the ontology IRI) or one of the article's claims, spans, sentences or graphs as subject.

Parsing never fetches anything: a JSON-LD `@context` or `@import` that names a URL is refused before
rdflib sees it, and so is any RDF/XML document type or entity declaration (internal entities expand:
a 1 kB "billion laughs" becomes gigabytes). `examine` (parse, rules, SHACL) is what the web layer runs,
in a child process with a deadline and a memory limit (server/children.py).

Pending data lives in `<data_dir>/contributions/<id>.<ext>`, exactly the bytes sent, written with
temp file + fsync + rename + fsync(dir) (server/durable.py) before the record is written and 201 is sent.

Length: over 400 lines because parsing, the rules and the inbox are the one place untrusted RDF is
read; each refusal sits next to the step that finds it, and splitting would separate them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax import SAXParseException

import pyoxigraph as ox
import rdflib
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.stores.memory import Memory

from .. import durable, formats

from . import iris
from ..errors import BadRequest, PayloadTooLarge, Unprocessable
from ..formats import Format
from .provenance import contribution_iri

PLACEHOLDER = iris.CONTRIBUTION + "new"
ID_PATTERN = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
ONTOLOGY_TERMS = (iris.ENT,)
ONTOLOGY_DOCUMENTS = (iris.ONTOLOGY, iris.ONTOLOGY_VERSION)
ARTICLE_NAMESPACES = {iris.CLAIM: "claim", iris.SPAN: "span", iris.SENTENCE: "sentence", iris.GRAPH: "graph"}


def new_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)


def valid_id(cid: str) -> bool:
    """The whole id has the pattern (fullmatch: `$` alone would let a trailing newline through)."""
    return bool(ID_PATTERN.fullmatch(cid))


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# --- parsing ------------------------------------------------------------------------------------

class TooManyTriples(Exception):
    """Raised from inside rdflib's parser when the body holds more triples than allowed."""


class _CappedMemory(Memory):
    """rdflib's memory store that stops the parser at the first triple over `limit`, so a huge body
    costs the time of `limit` triples, not of all of them."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.added = limit, 0

    def add(self, triple, context, quoted=False):
        self.added += 1
        if self.added > self.limit:
            raise TooManyTriples(self.limit)
        super().add(triple, context, quoted)


def parse(body: bytes, fmt: Format, cid: str, max_triples: int | None = None,
          max_literal: int | None = None) -> rdflib.Dataset:
    """The body as a Dataset (default graph = rdflib's default), placeholder IRIs rewritten to `cid`.
    More than `max_triples` triples, or a literal longer than `max_literal` characters: PayloadTooLarge (413)."""
    refuse_remote_references(body, fmt)
    _precheck(body, fmt, max_literal)
    base = contribution_iri(cid)
    ds = rdflib.Dataset(store=_CappedMemory(max_triples)) if max_triples is not None else rdflib.Dataset()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"The body is not UTF-8: {e.reason} at byte {e.start}.", where={"byte": e.start}) from e
    try:
        ds.parse(data=text, format=fmt.rdflib, publicID=base)
    except TooManyTriples:
        raise PayloadTooLarge(f"The contribution holds more than {max_triples} triples, the limit of this server "
                              "(ENTENTE_MAX_CONTRIBUTION_TRIPLES). Split it into smaller contributions.",
                              where={"limit": max_triples}) from None
    except RecursionError:
        raise _too_deep(fmt) from None
    except Exception as e:  # rdflib raises many kinds; each carries the parser's message
        raise BadRequest(f"The {fmt.name} body does not parse: {parser_message(e)}",
                         where=error_location(e, body, fmt)) from e
    ds = _rewrite_placeholder(ds, base)
    if max_literal is not None:
        _check_literals(ds, max_literal)
    try:
        to_quads(ds, cid)
    except ValueError as e:   # rdflib lets some malformed IRIs and language tags through; the store would not
        raise BadRequest(f"The {fmt.name} body holds a term that is not valid RDF: {e}.") from e
    return ds


def parse_file(path: Path, rdf_format: str | None = None) -> rdflib.Dataset:
    """A user's file (`entente validate FILE`), parsed exactly as the server parses a `/validate` body."""
    fmt = formats.by_name(rdf_format) if rdf_format else formats.by_extension(path.suffix)
    if fmt is None or fmt.rdflib is None:
        raise BadRequest(f"unknown RDF format {rdf_format or path.suffix!r}; "
                         "use --format turtle|ntriples|rdfxml|jsonld|trig|nquads")
    return parse(path.read_bytes(), fmt, "new")


_PRECHECKED = ("ntriples", "nquads", "turtle", "trig")


def _precheck(body: bytes, fmt: Format, max_literal: int | None) -> None:
    """Measure literals with pyoxigraph's parser (a 9 MB literal: 0.3 s, where rdflib takes over 30 s), so
    that a body with one over the limit is refused before rdflib sees it. Syntax errors, nesting and the
    triple count are left to rdflib's parse, whose messages the rest of the checks give."""
    if fmt.name not in _PRECHECKED or max_literal is None:
        return
    try:
        for quad in ox.parse(body, format=fmt.oxigraph, base_iri=PLACEHOLDER):
            literal = quad.object
            if isinstance(literal, ox.Literal) and len(literal.value) > max_literal:
                raise PayloadTooLarge(f"A literal of {len(literal.value)} characters (object of {quad.subject} "
                                      f"{quad.predicate}) is longer than this server accepts ({max_literal}, "
                                      "ENTENTE_MAX_LITERAL_LENGTH). Link to long texts instead.",
                                      where={"subject": str(quad.subject), "limit": max_literal})
    except (SyntaxError, ValueError):
        return


def _check_literals(ds: rdflib.Dataset, limit: int) -> None:
    for s, p, o, _ in ds.quads((None, None, None, None)):
        if isinstance(o, rdflib.Literal) and len(o) > limit:
            raise PayloadTooLarge(f"A literal of {len(o)} characters (object of <{s}> <{p}>) is longer than this "
                                  f"server accepts ({limit}, ENTENTE_MAX_LITERAL_LENGTH). Link to long texts instead.",
                                  where={"subject": str(s), "predicate": str(p), "limit": limit})


def _too_deep(fmt: Format) -> BadRequest:
    return BadRequest(f"The {fmt.name} body does not parse: it is nested too deeply (brackets, lists, blank "
                      "nodes or elements inside one another, hundreds of levels). Flatten it: name the "
                      "nodes and refer to them by IRI.")


def parser_message(error: Exception) -> str:
    why = getattr(error, "_why", None)          # notation3's BadSyntax (Turtle, TriG)
    if why:
        return str(why)
    if isinstance(error, SAXParseException):
        return error.getMessage()
    if isinstance(error, json.JSONDecodeError):
        return error.msg
    return " ".join(str(error).split())[:300] or type(error).__name__


def error_location(error: Exception, body: bytes, fmt: Format) -> dict | None:
    """{line, column} (1-based) of a parse error, from the parser's own exception where it has one."""
    if hasattr(error, "_i") and hasattr(error, "lines"):          # BadSyntax: offset into the text
        source = error._str.decode("utf-8", "replace") if isinstance(error._str, bytes) else str(error._str)
        prefix = source[:error._i]
        return {"line": error.lines + 1, "column": len(prefix) - (prefix.rfind("\n") + 1) + 1}
    if isinstance(error, SAXParseException):
        return {"line": error.getLineNumber(), "column": error.getColumnNumber() + 1}
    if isinstance(error, json.JSONDecodeError):
        return {"line": error.lineno, "column": error.colno}
    if fmt.oxigraph is not None:
        # rdflib's line-based parsers (N-Triples, N-Quads) name the bad line but not its number:
        # ask pyoxigraph's parser, which reports the position of the same syntax error.
        try:
            for _ in ox.parse(body, format=fmt.oxigraph, base_iri=PLACEHOLDER):
                pass
        except SyntaxError as e:
            if e.lineno:
                return {"line": e.lineno, "column": e.offset or 1}
        except Exception:
            return None
    return None


_XML_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)\b")


def refuse_xml_declarations(body: bytes) -> None:
    """Refuse an RDF/XML body with a document type or entity declaration (expansion bombs, external files)."""
    match = _XML_DECLARATION.search(body)
    if match:
        line = body[:match.start()].count(b"\n") + 1
        raise BadRequest(f"RDF/XML with a <!{match.group(1).decode()}> declaration is refused: an internal entity "
                         "can expand to gigabytes, an external DTD or entity names files and URLs. Write the IRIs "
                         "and text out in full.",
                         where={"line": line})


def refuse_remote_references(body: bytes, fmt: Format) -> None:
    """Refuse what would make a parser fetch a URL or read a file: remote JSON-LD contexts, external XML entities."""
    if fmt.name == "jsonld":
        try:
            doc = json.loads(body)
            remote = _remote_contexts(doc)
        except RecursionError:
            raise _too_deep(fmt) from None
        except json.JSONDecodeError as e:
            raise BadRequest(f"The JSON-LD body is not JSON: {e.msg}", where={"line": e.lineno, "column": e.colno})
        except UnicodeDecodeError as e:
            raise BadRequest(f"The body is not UTF-8: {e.reason} at byte {e.start}.", where={"byte": e.start})
        except ValueError as e:          # a number of more than 4,300 digits (Python's int limit)
            raise BadRequest(f"The JSON-LD body cannot be read: {e}.") from None
        if remote:
            raise BadRequest(f"JSON-LD contexts must be inline; this server never fetches a remote @context "
                             f"or @import ({remote!r}). Put the context object in the document.",
                             where={"@context": remote})
    elif fmt.name == "rdfxml":
        refuse_xml_declarations(body)


def _remote_contexts(node) -> str | None:
    """The first remote context reference (a string @context, or @import) in a JSON-LD document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@import":
                return str(value)
            if key == "@context":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        return item
            found = _remote_contexts(value)
            if found:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _remote_contexts(item)
            if found:
                return found
    return None


def _rewrite_placeholder(ds: rdflib.Dataset, base: str) -> rdflib.Dataset:
    """Replace IRIs under PLACEHOLDER (N-Triples/N-Quads can't say `<#x>`) with the contribution's base."""
    def fix(term):
        if isinstance(term, rdflib.URIRef) and _under(str(term), PLACEHOLDER):
            return rdflib.URIRef(base + str(term)[len(PLACEHOLDER):])
        return term

    if base == PLACEHOLDER or not any(_under(str(t), PLACEHOLDER) for q in ds.quads() for t in q
                                      if isinstance(t, rdflib.URIRef)):
        return ds
    out = rdflib.Dataset()
    for s, p, o, g in ds.quads((None, None, None, None)):
        graph = out.graph(fix(g)) if g != DATASET_DEFAULT_GRAPH_ID else out.default_graph
        graph.add((fix(s), fix(p), fix(o)))
    return out


def _under(iri: str, base: str) -> bool:
    return iri == base or iri.startswith(base + "#") or iri.startswith(base + "/")


# --- Entente's rules ----------------------------------------------------------------------------

def check_rules(ds: rdflib.Dataset, cid: str) -> None:
    """Raise Unprocessable (422) naming the first rule the contribution breaks."""
    base = contribution_iri(cid)
    count = 0
    for s, p, o, g in ds.quads((None, None, None, None)):
        count += 1
        if g != DATASET_DEFAULT_GRAPH_ID:
            _check_graph_name(g, base)
        _check_subject(s, p, o, base)
    if count == 0:
        raise Unprocessable("The contribution holds no triples.")


def _check_graph_name(g, base: str) -> None:
    name = str(g)
    if not isinstance(g, rdflib.URIRef):
        raise Unprocessable("Named graphs must have IRIs, e.g. <#claim-1>; a blank-node graph name cannot be "
                            "cited as a claim.", where={"graph": f"_:{g}"})
    if _under(name, base):
        return
    if name.startswith(iris.GRAPH) or name.startswith(iris.CLAIM):
        raise Unprocessable(f"The contribution writes into the article's own graph <{name}>; contributions "
                            "fill their own graphs (name them relative to the contribution, e.g. <#claim-1>).",
                            where={"graph": name})
    if name.startswith(iris.CONTRIBUTION):
        raise Unprocessable(f"The contribution reuses another contribution's graph <{name}>; name your claim "
                            "graphs relative to your contribution, e.g. <#claim-1>.", where={"graph": name})
    raise Unprocessable(f"The named graph <{name}> lies outside the contribution; name claim graphs relative to "
                        f"it (<#claim-1>) or under {PLACEHOLDER}# in N-Quads.", where={"graph": name})


def _check_subject(s, p, o, base: str) -> None:
    if not isinstance(s, rdflib.URIRef):
        return
    iri = str(s)
    where = {"subject": iri, "predicate": str(p), "object": str(o)}
    if iri.startswith(ONTOLOGY_TERMS) or iri in ONTOLOGY_DOCUMENTS:
        raise Unprocessable(f"The contribution redefines the ontology term <{iri}>; contributions may use the "
                            "ontology's terms but not describe them.", where=where)
    for namespace, what in ARTICLE_NAMESPACES.items():
        if iri.startswith(namespace):
            raise Unprocessable(f"The contribution describes the article's own {what} <{iri}>; cite it as "
                                "evidence instead, and mint your own claims and spans (<#claim-1>, <#span-1>).",
                                where=where)
    if iri.startswith(iris.CONTRIBUTION) and not _under(iri, base):
        raise Unprocessable(f"The contribution describes <{iri}>, which belongs to another contribution.",
                            where=where)


# --- all of it, for the web layer ----------------------------------------------------------------

@dataclass
class Examined:
    """What a request needs from a parsed, checked and validated body (small enough to leave the child)."""
    report: object                  # validation.Report
    graphs: list[str]
    triples: int
    quads: list | None = None       # the store quads, when asked for (acceptance)


def examine(body: bytes, fmt: Format, cid: str, *, max_triples: int | None = None, max_literal: int | None = None,
            with_quads: bool = False) -> Examined:
    """Parse the body, check Entente's rules, validate with SHACL: meant to run in children.run (a deadline
    and a memory limit for all three; rdflib and pySHACL cannot be interrupted)."""
    from . import validation

    ds = parse(body, fmt, cid, max_triples=max_triples, max_literal=max_literal)
    check_rules(ds, cid)
    # counted before validation, which adds to the dataset it is given (as it did, unseen, in its own child)
    graphs, triples, quads = graph_names(ds, cid), triple_count(ds), to_quads(ds, cid) if with_quads else None
    return Examined(validation.validate(ds, with_ontology=True), graphs, triples, quads)


# --- SHACL ------------------------------------------------------------------------------------

def validate(ds: rdflib.Dataset, timeout: float | None = None):
    """The SHACL report for a contribution, with the ontology loaded so that subclasses count; with a
    `timeout`, run in a child process killed at the limit (validation.TimedOut)."""
    from . import validation

    if timeout is None:
        return validation.validate(ds, with_ontology=True)
    return validation.validate_within(ds, timeout, with_ontology=True)


# --- from rdflib to the store --------------------------------------------------------------------

def graph_names(ds: rdflib.Dataset, cid: str) -> list[str]:
    """The store graphs the contribution fills: its own IRI (the default graph) and its claim graphs."""
    base = contribution_iri(cid)
    names = {base if g == DATASET_DEFAULT_GRAPH_ID else str(g) for *_, g in ds.quads((None, None, None, None))}
    return sorted(names)


def triple_count(ds: rdflib.Dataset) -> int:
    return sum(1 for _ in ds.quads((None, None, None, None)))


def to_quads(ds: rdflib.Dataset, cid: str) -> list[ox.Quad]:
    """The contribution as pyoxigraph quads; the default graph becomes the graph `contribution/<id>`."""
    base = ox.NamedNode(contribution_iri(cid))
    bnodes: dict[str, ox.BlankNode] = {}

    def term(t):
        if isinstance(t, rdflib.URIRef):
            return ox.NamedNode(str(t))
        if isinstance(t, rdflib.BNode):
            return bnodes.setdefault(str(t), ox.BlankNode())
        if t.language:
            return ox.Literal(str(t), language=t.language)
        if t.datatype:
            return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)))
        return ox.Literal(str(t))

    quads = []
    for s, p, o, g in ds.quads((None, None, None, None)):
        try:
            quads.append(ox.Quad(term(s), term(p), term(o), base if g == DATASET_DEFAULT_GRAPH_ID else term(g)))
        except ValueError as e:
            bad = next((str(t) for t in (s, p, o, g) if isinstance(t, rdflib.URIRef) and not _valid_iri(str(t))), None)
            raise ValueError(f"<{bad}>: {e}" if bad else str(e)) from e
    return quads


def _valid_iri(iri: str) -> bool:
    try:
        ox.NamedNode(iri)
        return True
    except ValueError:
        return False


# --- the inbox: pending data on disk -------------------------------------------------------------

class Inbox:
    """`<data_dir>/contributions/`: each contribution's body, exactly as sent, written durably."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "contributions"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, cid: str, fmt: Format) -> Path:
        if not valid_id(cid):
            raise ValueError(f"not a contribution id: {cid!r}")
        return self.root / f"{cid}.{fmt.extension}"

    def save(self, cid: str, fmt: Format, body: bytes) -> Path:
        """Temp file, fsync, rename, fsync the directory: after this returns the bytes survive a crash."""
        final = self.path(cid, fmt)
        durable.write(final, body)
        return final

    def load(self, cid: str, fmt: Format) -> bytes:
        return self.path(cid, fmt).read_bytes()

    @contextmanager
    def review_lock(self):
        """One review at a time, across worker processes."""
        with open(self.root / "review.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def format_for(media_type: str | None) -> Format | None:
    """The RDF format a Content-Type names (parameters ignored), None if unsupported."""
    if not media_type:
        return None
    return formats.by_media_type(media_type, formats.RDF)
