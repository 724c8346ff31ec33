"""Blueprint: the OpenRefine reconciliation service at /reconcile (server/exports/reconcile.py does the work).

GET /reconcile                       the 0.2 manifest (`?queries=`, `?query=`, `?extend=` answer as below)
POST /reconcile  queries=<json>      a 0.2 batch, as OpenRefine sends it (form field or JSON body)
POST /reconcile  {"queries": [...]}  a 1.0-draft batch (application/json)
POST /reconcile  extend=<json>       data extension (e.g. the Wikidata QID of reconciled cells)
GET /reconcile/suggest/{entity,type,property}?prefix=   autocomplete
GET /reconcile/preview?id=           an HTML card for OpenRefine's preview pane
GET /reconcile/view?id=              303 to the entity's page on this server
GET /reconcile/propose_properties?type=   properties worth fetching for a type
GET /reconcile/v1                    the 1.0-draft manifest; POST /reconcile/v1/match (JSON batch),
                                     /reconcile/v1/suggest/…, /preview, /view as above
JSONP (`callback=`) is answered for GET requests, with the callback name checked, for older clients.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, request

from ..errors import BadRequest, NotFound
from ..exports import reconcile
from ..exports.dataset import Data
from ..graph import iris
from ..store import get_store
from .urls import see_other
from .urls import public_root, settings, to_public

bp = Blueprint("reconcile", __name__)

_CALLBACK = re.compile(r"^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$")


def _data() -> Data:
    return Data.load(get_store())


def _json(body, status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False, indent=None, separators=(",", ":"))
    callback = request.args.get("callback") if request.method == "GET" else None
    if callback:
        if not _CALLBACK.match(callback):
            raise BadRequest("'callback' must be a JavaScript identifier (JSONP).", where="callback")
        response = Response(f"/**/{callback}({text});", status, content_type="application/javascript; charset=utf-8")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return Response(text, status, content_type="application/json; charset=utf-8")


def _bad(e: reconcile.ReconcileError):
    return BadRequest(str(e), where=e.where)


@bp.route("/reconcile", methods=["GET", "POST"])
def service():
    data = _data()
    try:
        if request.method == "POST" and request.is_json:
            body = request.get_json(silent=True)
            if body is None:
                raise reconcile.ReconcileError("The JSON body does not parse.", "body")
            if isinstance(body, dict) and isinstance(body.get("queries"), list):
                return _json(reconcile.answer_batch_v1(data, reconcile.parse_batch_v1(body)))
            queries = body.get("queries", body) if isinstance(body, dict) else body
            return _json(reconcile.answer_batch(data, reconcile.parse_batch(queries)))
        values = request.values
        if "queries" in values:
            return _json(reconcile.answer_batch(data, reconcile.parse_batch(values["queries"])))
        if "extend" in values:
            ids, props = reconcile.parse_extend(values["extend"])
            return _json(reconcile.extend(data, ids, props))
        if "query" in values:          # a single query (the 0.1 style): a string or a JSON query object
            return _json({"result": reconcile.reconcile(data, reconcile.parse_single(values["query"]))})
    except reconcile.ReconcileError as e:
        raise _bad(e) from None
    if request.method == "POST":
        raise BadRequest("Send 'queries' (a JSON batch), 'extend', or 'query'; GET /reconcile gives the manifest.",
                         where="body")
    return _json(reconcile.manifest(data, public_root(), public_root() + "/docs/exports.md"))


@bp.route("/reconcile/v1")
def service_v1():
    return _json(reconcile.manifest_v1(_data(), public_root(), public_root() + "/docs/exports.md"))


@bp.route("/reconcile/v1/match", methods=["POST"])
def match_v1():
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest('POST a JSON reconciliation query batch: {"queries": [...]} (Content-Type: application/json).',
                         where="body")
    try:
        return _json(reconcile.answer_batch_v1(_data(), reconcile.parse_batch_v1(body)))
    except reconcile.ReconcileError as e:
        raise _bad(e) from None


@bp.route("/reconcile/suggest/<kind>")
@bp.route("/reconcile/v1/suggest/<kind>")
def suggest(kind: str):
    if kind not in ("entity", "type", "property"):
        raise NotFound("Suggest services: /reconcile/suggest/entity, /type and /property.", where=request.path)
    prefix = request.args.get("prefix", "")
    if not prefix.strip():
        raise BadRequest("'prefix' is required: the text typed so far.", where="prefix")
    limit = _int_arg("limit", 10, 1, 100)
    data = _data()
    if kind == "entity":
        return _json(reconcile.suggest_entities(data, prefix, limit))
    return _json(reconcile.suggest_terms(data, prefix, "class" if kind == "type" else "property", limit))


@bp.route("/reconcile/preview")
@bp.route("/reconcile/v1/preview")
def preview():
    iri = _id_arg()
    html = reconcile.preview_html(_data(), iri, to_public(iri))
    if html is None:
        raise NotFound(f"No entity <{iri}> to preview.", where="id")
    response = Response(html, 200, content_type="text/html; charset=utf-8")
    # OpenRefine shows the card in an iframe of its own origin; the card has no script and no form.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"
    return response


@bp.route("/reconcile/view")
@bp.route("/reconcile/v1/view")
def view():
    iri = _id_arg()
    if iri not in _data().entities:
        raise NotFound(f"No entity <{iri}>.", where="id")
    return see_other(to_public(iri))


@bp.route("/reconcile/propose_properties")
def propose_properties():
    return _json(reconcile.propose_properties(_data(), request.args.get("type"), _int_arg("limit", 50, 1, 500)))


def _id_arg() -> str:
    iri = request.args.get("id", "").strip()
    if not iri:
        raise BadRequest("'id' is required: an entity IRI from a reconciliation answer.", where="id")
    return reconcile.expand(iri)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number.", where=name) from None
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be between {low} and {high}.", where=name)
    return value
