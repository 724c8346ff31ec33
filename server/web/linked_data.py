"""Blueprint: dereferencing, document twins, VoID and dumps.

One recipe for every IRI Entente mints (Cool URIs, 303 variant): the thing's URL (no extension)
answers `303 See Other` to its document `<path>.<ext>`, the extension chosen by Accept (HTML for
browsers), always with `Vary: Accept`. Each document URL answers directly with its own
Content-Type and needs no Accept header. Hash IRIs (`ent:Foo` = `/ontology#Foo`) resolve through
`/ontology`, whose document is the whole ontology.

The data's base IRI is mapped onto this server's URL (settings.public_url, else the request's
host): an incoming URL names the data IRI `base + path`, and Locations and links point back at
this server. RDF documents keep the data IRIs unchanged — they are the identifiers; only the HTML
pages link to this server (see docs/linked-data.md).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Blueprint, Response, request

from ..graph import describe, dumps, iris, void

from .. import formats, representations
from ..errors import NotFound
from ..exports.catalog import EXPORTS
from .negotiation import negotiate
from .urls import data_iri, public_root, see_other, settings
from ..store import get_store

bp = Blueprint("linked_data", __name__)

DOCUMENT_FORMATS = (formats.HTML,) + formats.RDF   # what a thing's document comes as, HTML first
VOID_FORMATS = formats.RDF                          # the VoID description has no HTML page
MINTED = ("id", "claim", "span", "sentence", "graph", "contribution")   # the IRI prefixes under the base (iris.py)


@bp.after_request
def _vary(response: Response) -> Response:
    response.vary.add("Accept")
    return response


# --- dereferencing ------------------------------------------------------------------------------

@bp.route("/ontology")
@bp.route("/ontology.<ext>")
@bp.route("/ontology/<path:rest>")
def ontology(ext: str | None = None, rest: str | None = None):
    return resolve("ontology" + (f".{ext}" if ext else "") + (f"/{rest}" if rest else ""))


@bp.route("/<any(" + ", ".join(MINTED) + "):kind>/<path:rest>")
def minted(kind: str, rest: str):
    return resolve(f"{kind}/{rest}")


def resolve(path: str) -> Response:
    """A thing's URL → 303 to its document; a document URL → the document."""
    thing, fmt = split_extension(path)
    iri = data_iri(thing)
    store = get_store()
    if not describe.exists(store, iri):
        stem, dot, ext = thing.rpartition(".")
        if dot and "/" not in ext and describe.exists(store, data_iri(stem)):
            raise NotFound(f"<{data_iri(stem)}> has no '.{ext}' document. Its documents: "
                           + ", ".join(f"/{stem}.{f.extension}" for f in DOCUMENT_FORMATS) + ".", where=request.path)
        raise NotFound(f"Nothing is known about <{iri}>.", where=request.path)
    if fmt is None:
        fmt = negotiate(request.headers.get("Accept"), DOCUMENT_FORMATS, default=formats.HTML)
        return see_other(f"{public_root()}/{quote(thing)}.{fmt.extension}")
    if fmt is formats.HTML:
        return html_document(store, iri)
    more = f"{public_root()}/sparql?{urlencode({'query': describe.incoming_query(iri)})}"
    quads = describe.description_quads(store, iri, more_link=more)
    body = representations.serialize(representations.with_default_graph(quads, fmt), fmt, ordered=True)
    return document(body, fmt, thing)



def split_extension(path: str) -> tuple[str, formats.Format | None]:
    """('id/iran', Turtle) for 'id/iran.ttl'; a dot that is not a known extension stays (ontology/1.0.0)."""
    stem, dot, ext = path.rpartition(".")
    if dot and stem and "/" not in ext:
        fmt = formats.by_extension(ext, DOCUMENT_FORMATS)
        if fmt is not None:
            return stem, fmt
    return path, None


def document(body: bytes, fmt: formats.Format, thing: str | None, twins=DOCUMENT_FORMATS) -> Response:
    """A document in `fmt`, with Link headers to the licence, the dataset (VoID) and the other `twins`
    of `thing`."""
    response = Response(body, 200, content_type=representations.content_type(fmt))
    links = [f'<{settings().license}>; rel="license"',
             f'<{public_root()}/dataset>; rel="http://rdfs.org/ns/void#inDataset"']
    if thing is not None:
        links += [f'<{public_root()}/{quote(thing)}.{f.extension}>; rel="alternate"; type="{f.media_type}"'
                  for f in twins if f is not fmt]
    response.headers["Link"] = ", ".join(links)
    return response


def html_document(store, iri: str) -> Response:
    from . import pages

    page = pages.render_html(store, settings(), describe.describe(store, iri))
    return document(page.encode("utf-8"), formats.HTML, iri[len(settings().base_iri):])


# --- VoID and dumps -----------------------------------------------------------------------------

def format_or_404(ext: str, candidates: tuple[formats.Format, ...], what: str, stem: str) -> formats.Format:
    """The format `ext` names among `candidates`, else 404 listing the `/<stem>.<ext>` URLs that exist."""
    fmt = formats.by_extension(ext, candidates)
    if fmt is None:
        raise NotFound(f"There is no {what} in '.{ext}'. Try: "
                       + ", ".join(f"/{stem}.{f.extension}" for f in candidates), where=request.path)
    return fmt


@bp.route("/.well-known/void")
@bp.route("/void")
@bp.route("/dataset")
def void_thing():
    fmt = negotiate(request.headers.get("Accept"), VOID_FORMATS)
    return see_other(f"{public_root()}/void.{fmt.extension}")


@bp.route("/void.<ext>")
def void_document(ext: str):
    fmt = format_or_404(ext, VOID_FORMATS, "VoID document", "void")
    quads = void.description(get_store(), settings(), public_root(), exports=EXPORTS)
    return document(representations.serialize(quads, fmt, ordered=True), fmt, "void", VOID_FORMATS)


@bp.route("/dumps/<name>")
def dump(name: str):
    dump_file = dumps.by_name(name)
    if dump_file is None:
        raise NotFound(f"There is no dump '{name}'. The dumps: "
                       + ", ".join(f"/dumps/{d.name}" for d in dumps.DUMPS), where=request.path)
    fmt = dump_file.format
    d = dumps.make(get_store(), dump_file)
    # The dump is encoded here (once per version), not by headers.py, so that ETag and Repr-Digest
    # (RFC 9530: a digest of the representation as sent) name the bytes actually sent.
    if request.accept_encodings["gzip"] > 0:
        response = document(d.gzipped, fmt, None)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Repr-Digest"] = f"sha-256=:{d.gzipped_sha256_base64}:"
        response.set_etag(d.sha256 + "-gz")
    else:
        response = document(d.body, fmt, None)
        response.headers["Repr-Digest"] = f"sha-256=:{d.sha256_base64}:"
        response.set_etag(d.sha256)
    response.vary.add("Accept-Encoding")
    response.headers["Content-Disposition"] = f'attachment; filename="{dump_file.name}"'
    return response.make_conditional(request)
