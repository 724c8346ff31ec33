"""Blueprint: the exports that are documents (server/exports/ builds them; this module only reads the request
and shapes the response).

/annotations/                 the Web Annotation Protocol container (LDP BasicContainer + AnnotationCollection)
/annotations/?page=N[&iris=1] one AnnotationPage (descriptions, or IRIs only)
/annotations/<claim>/<b>-<e>  one annotation
/ns/anno.jsonld, /ns/ldp.jsonld   the W3C JSON-LD contexts, as packaged (for offline processors)
/claim/<id>.trig with the nanopub profile   one claim as a nanopublication (Accept-Profile:
                              <http://www.nanopub.org/nschema>, or ?profile=nanopub); Content-Profile says so
/export/nanopubs.trig         every claim as a nanopublication
/export/quickstatements.txt   Wikidata statements with references (QuickStatements V1); ?include=attributed
Read-only: anything but GET, HEAD and OPTIONS gets 405.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from datetime import datetime, timezone

from flask import Blueprint, Response, request

from .. import formats, representations
from ..errors import BadRequest, NotFound, ServiceUnavailable
from ..exports import annotations, nanopubs, quickstatements
from ..exports.dataset import Data
from ..store import get_store
from .urls import public_root, settings
from .negotiation import negotiate

bp = Blueprint("exports", __name__)

ANNOTATION_JSONLD = dataclasses.replace(formats.by_name("jsonld"), aliases=("application/json",))
ANNOTATION_FORMATS = (ANNOTATION_JSONLD, formats.by_name("turtle"), formats.by_name("ntriples"))
ANNO_LINKS = ('<http://www.w3.org/TR/annotation-protocol/>; rel="http://www.w3.org/ns/ldp#constrainedBy"',)


def _data() -> Data:
    return Data.load(get_store())


def _annotation_response(document: dict, link_type: str) -> Response:
    fmt = negotiate(request.headers.get("Accept"), ANNOTATION_FORMATS, default=ANNOTATION_JSONLD)
    if fmt is ANNOTATION_JSONLD:
        body = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        response = Response(body, 200, content_type=annotations.MEDIA_TYPE)
    else:
        body = representations.serialize(annotations.to_rdf(document), fmt, ANNO_PREFIXES)
        response = Response(body, 200, content_type=representations.content_type(fmt))
    response.headers["Link"] = ", ".join((f'<{link_type}>; rel="type"', *ANNO_LINKS))
    response.headers["Allow"] = "GET, HEAD, OPTIONS"
    response.vary.add("Accept")
    response.vary.add("Prefer")
    return response


ANNO_PREFIXES = {"oa": "http://www.w3.org/ns/oa#", "as": "http://www.w3.org/ns/activitystreams#",
                 "ldp": "http://www.w3.org/ns/ldp#", "dcterms": "http://purl.org/dc/terms/"}


@bp.route("/annotations")
@bp.route("/annotations/")
def annotation_container():
    data, root, lic = _data(), public_root(), settings().license
    if "page" in request.args:
        try:
            n = int(request.args["page"])
        except ValueError:
            raise BadRequest("'page' must be a whole number from 0.", where="page") from None
        page = annotations.page(data, root, lic, n, iris_only=request.args.get("iris") in ("1", "true"))
        if page is None:
            raise NotFound(f"There are {annotations.page_count(data)} pages (0 to "
                           f"{annotations.page_count(data) - 1}).", where="page")
        return _annotation_response(page, "http://www.w3.org/ns/ldp#Resource")
    prefer = request.headers.get("Prefer")
    response = _annotation_response(annotations.container(data, root, lic, prefer),
                                    "http://www.w3.org/ns/ldp#BasicContainer")
    if prefer and "return=representation" in prefer:
        response.headers["Preference-Applied"] = "return=representation"
    response.headers["Link"] += ', <http://www.w3.org/ns/ldp#Resource>; rel="type"'
    return response


@bp.route("/annotations/<path:path>")
def annotation_item(path: str):
    data = _data()
    found = annotations.find(data, path)
    if found is None:
        raise NotFound("No such annotation; the container lists them all: /annotations/.", where=request.path)
    doc = annotations.annotation(data, public_root(), settings().license, *found)
    return _annotation_response(doc, "http://www.w3.org/ns/ldp#Resource")


# --- nanopublications ---------------------------------------------------------------------------

_CLAIM_TRIG = re.compile(r"^/claim/(.+)\.trig$")
_nanopub_cache: dict[tuple, str] = {}
_nanopub_lock = threading.Lock()


def _wants_nanopub() -> bool:
    """W3C Content Negotiation by Profile: Accept-Profile, a profile= parameter on Accept, or ?profile=."""
    if request.args.get("profile") in ("nanopub", nanopubs.PROFILE):
        return True
    if nanopubs.PROFILE in request.headers.get("Accept-Profile", ""):
        return True
    return f'profile="{nanopubs.PROFILE}"' in request.headers.get("Accept", "")


def _created() -> str:
    return datetime.fromtimestamp(get_store().last_modified, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signer():
    try:
        return nanopubs.signer_from(settings())
    except nanopubs.SigningError as e:
        raise ServiceUnavailable(str(e)) from None


def _trig(body: str) -> Response:
    response = Response(body, 200, content_type=representations.content_type(formats.by_name("trig")))
    response.headers["Content-Profile"] = f"<{nanopubs.PROFILE}>"
    response.headers["Link"] = f'<{nanopubs.PROFILE}>; rel="profile"'
    response.vary.add("Accept")
    response.vary.add("Accept-Profile")
    return response


@bp.before_app_request
def _claim_as_nanopub():
    """/claim/<id>.trig asked for with the nanopub profile: answered here, before the linked-data route."""
    m = _CLAIM_TRIG.match(request.path)
    if m is None or request.method not in ("GET", "HEAD") or not _wants_nanopub():
        return None
    data = _data()
    claim = nanopubs.find(data, settings().base_iri + "claim/" + m.group(1))
    if claim is None:
        raise NotFound(f"No claim <{settings().base_iri}claim/{m.group(1)}> to give as a nanopublication.",
                       where=request.path)
    try:
        body = nanopubs.nanopub(data, claim, _created(), settings().license, _signer())
    except nanopubs.SigningError as e:
        raise ServiceUnavailable(str(e)) from None
    return _trig(body)


@bp.after_app_request
def _claim_profiles(response: Response) -> Response:
    """A claim's TriG document says that it also comes as a nanopublication (and varies by profile)."""
    if _CLAIM_TRIG.match(request.path) and "Content-Profile" not in response.headers and response.status_code == 200:
        response.vary.add("Accept-Profile")
        response.headers["Link"] = ", ".join(filter(None, (response.headers.get("Link"),
                                             f'<{request.base_url}?profile=nanopub>; rel="alternate"; '
                                             f'type="application/trig"; profile="{nanopubs.PROFILE}"')))
    return response


@bp.route("/export/nanopubs.trig")
def all_nanopubs():
    store, signer = get_store(), _signer()
    key = (store.version, settings().license, signer)
    with _nanopub_lock:
        body = _nanopub_cache.get(key)
    if body is None:
        try:
            body = nanopubs.all_nanopubs(_data(), _created(), settings().license, signer)
        except nanopubs.SigningError as e:
            raise ServiceUnavailable(str(e)) from None
        with _nanopub_lock:
            _nanopub_cache.clear()
            _nanopub_cache[key] = body
    response = _trig(body)
    response.headers["Content-Disposition"] = 'attachment; filename="entente-nanopubs.trig"'
    return response


# --- QuickStatements ----------------------------------------------------------------------------

@bp.route("/export/quickstatements.txt")
def quickstatements_export():
    include = request.args.get("include", "")
    if include not in ("", "attributed"):
        raise BadRequest("'include' can only be 'attributed' (quoted, paraphrased and reported claims, with the "
                         "speaker as P3680).", where="include")
    data = _data()
    export = quickstatements.statements(data, include_attributed=include == "attributed")
    try:
        body = "".join(line + "\n" for line in quickstatements.lines(data, export))
    except ValueError as e:
        raise ServiceUnavailable(str(e)) from None
    response = Response(body, 200, content_type="text/plain; charset=utf-8")
    response.headers["X-Entente-Statements"] = str(len(export.statements))
    response.headers["X-Entente-Claims-Left-Out"] = str(len(export.skipped))
    response.headers["Content-Disposition"] = 'inline; filename="entente-quickstatements.txt"'
    return response


@bp.route("/ns/<any(anno, ldp):name>.jsonld")
def context(name: str):
    url = f"http://www.w3.org/ns/{name}.jsonld"
    body = json.dumps(annotations.context_document(url), indent=1)
    return Response(body, 200, content_type="application/ld+json")
