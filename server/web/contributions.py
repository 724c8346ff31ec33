"""Blueprint: `/validate` (dry run), `/contributions` (send, list), review (accept / reject).

The write path: auth → media type → size → parse (rdflib) → Entente's rules → SHACL → pending data
on disk (durable) → PROV record in graph:contributions (store.write, durable) → 201. Anything refused
leaves nothing behind but a log line. Parsing, rules and storage live in `submissions.py`, records in
`provenance.py`, SHACL in `validation.py`; this module reads requests and shapes responses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template_string, request

from . import auth, negotiation, urls
from .urls import public_root, settings

from .. import children, formats, representations
from ..formats import Format

from ..graph import iris, provenance   # submissions, validation (rdflib, pySHACL: 15 MB): imported where used
from ..errors import BadRequest, Conflict, EntenteError, NotFound, PayloadTooLarge, ServiceUnavailable, \
    Unprocessable, UnsupportedMediaType
from ..slots import Slots
from ..store import get_store

bp = Blueprint("contributions", __name__)
log = logging.getLogger("entente.contributions")

JSON = formats.JSON
REPORT_FORMATS = (JSON, *formats.GRAPHS)
RECORD_FORMATS = (JSON, formats.HTML, *formats.DATASETS, *formats.GRAPHS)
LIST_FORMATS = (JSON, formats.HTML)
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
MAX_REASON = 2000


def _inbox():
    from ..graph import submissions
    ext = current_app.extensions
    if "entente.inbox" not in ext:
        ext["entente.inbox"] = submissions.Inbox(settings().data_dir)
    return ext["entente.inbox"]


def _refused(error: EntenteError) -> EntenteError:
    log.warning("%s %s refused: %s %s", request.method, request.path, error.status, error.message)
    return error


# --- reading a body -------------------------------------------------------------------------------

def _request_format() -> Format:
    from ..graph import submissions
    fmt = submissions.format_for(request.headers.get("Content-Type"))
    if fmt is None:
        accepted = ", ".join(f.media_type for f in formats.RDF)
        raise UnsupportedMediaType(f"Content-Type {request.headers.get('Content-Type')!r} is not an RDF format "
                                   f"this server parses. Send one of: {accepted}.",
                                   where={"header": "Content-Type"})
    return fmt


def _read_body() -> bytes:
    """The body, refused with 413 as soon as it passes the limit (Content-Length first, then while reading)."""
    limit = settings().max_body_bytes
    too_large = PayloadTooLarge(f"The body is larger than {limit} bytes, the limit of this server "
                                "(ENTENTE_MAX_BODY_BYTES).", where={"limit": limit})
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks, total = [], 0
    try:
        while True:
            chunk = request.stream.read(min(65536, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise too_large
    except EntenteError:
        raise
    except Exception as e:   # werkzeug's own limit, or a client that went away
        if getattr(e, "code", None) == 413:
            raise too_large from e
        raise BadRequest("The body could not be read completely.") from e
    return b"".join(chunks)


def _request_body():
    fmt = _request_format()
    body = _read_body()
    if not body.strip():
        raise BadRequest("The body is empty: send the contribution as RDF.")
    return fmt, body


# --- validation -----------------------------------------------------------------------------------

def _examine(body: bytes, fmt: Format, cid: str, with_quads: bool = False):
    """Parse, check and validate the body in a child process (server/children.py), under
    ENTENTE_VALIDATION_TIMEOUT and ENTENTE_PARSE_MEMORY: a hostile body costs that child, never a worker."""
    from ..graph import submissions, validation
    conf = settings()
    started = time.perf_counter()
    timeout = conf.validation_timeout
    validation.warm()                 # in this process, once: the children start warm
    try:
        examined = children.run(submissions.examine, body, fmt, cid, timeout=timeout, memory=conf.parse_memory,
                                nice=validation.VALIDATION_NICE,
                                max_triples=conf.max_contribution_triples,
                                max_literal=conf.max_literal_length, with_quads=with_quads)
    except children.TimedOut:
        raise ServiceUnavailable(f"Parsing and SHACL validation ran longer than {timeout:g} s, the server's time "
                                 "limit (ENTENTE_VALIDATION_TIMEOUT); nothing was stored. Send a smaller "
                                 "contribution, or split it.", where={"limit": timeout}) from None
    except (children.OutOfMemory, children.Crashed):
        raise PayloadTooLarge(f"Parsing and validating the body needed more than {conf.parse_memory} bytes of "
                              "memory (ENTENTE_PARSE_MEMORY), or more stack than it has (nesting hundreds deep); "
                              "nothing was stored. Send a smaller or flatter contribution.",
                              where={"limit": conf.parse_memory}) from None
    except children.Failed as e:
        log.error("examining a body failed: %s", e)
        raise EntenteError("Validation failed inside the server; the error has been logged.") from None
    took = time.perf_counter() - started
    _recent_validation[0] = 0.8 * _recent_validation[0] + 0.2 * took
    log.info("validated %d quads in %.3f s: conforms=%s", examined.triples, took, examined.report.conforms)
    return examined


@contextlib.contextmanager
def _validation_slot():
    """Hold one of the server's ENTENTE_MAX_VALIDATIONS slots (server/slots.py) while validating, or refuse
    at once with 503 and Retry-After: nothing is stored, and the refusal is not counted against the rate
    limit (the client was told to come back). Taken after the checks that cost nothing (406, 415, empty body)."""
    ext = current_app.extensions
    conf = settings()
    slots = ext.get("entente.validation_slots") or \
        ext.setdefault("entente.validation_slots", Slots(Path(conf.data_dir) / "validating", conf.max_validations))
    with slots.held() as got:
        if not got:
            retry = max(1, min(60, math.ceil(_recent_validation[0])))
            raise ServiceUnavailable(f"The server is running {slots.count} validation(s) already, its limit "
                                     f"(ENTENTE_MAX_VALIDATIONS); nothing was stored. Send the same request again "
                                     f"in {retry} s.", where={"limit": slots.count}, headers={"Retry-After": str(retry)})
        yield


# seconds the last validations took in this process (a moving average): the Retry-After of a busy refusal
_recent_validation = [1.0]


def _report_response(report, status: int = 200) -> Response:
    fmt = negotiation.negotiate(request.headers.get("Accept"), REPORT_FORMATS, default=JSON)
    if fmt is JSON:
        return Response(json.dumps(report.to_json(), indent=2), status, content_type="application/json")
    return Response(report.to_graph().serialize(format=fmt.rdflib, encoding="utf-8"), status,
                    content_type=representations.content_type(fmt))


@bp.post("/validate")
def validate():
    """Dry run: the SHACL report of the body, 200 whether it conforms or not; nothing is stored."""
    try:
        negotiation.negotiate(request.headers.get("Accept"), REPORT_FORMATS, default=JSON)
        fmt, body = _request_body()
        with _validation_slot():
            auth.limit_anonymous(request.remote_addr)     # SHACL costs time: a dry run counts like a contribution
            report = _examine(body, fmt, "new").report
    except EntenteError as e:
        raise _refused(e)
    return _report_response(report)


# --- contributing ---------------------------------------------------------------------------------

@bp.post("/contributions")
def create():
    """Send a contribution: 201 + Location when it conforms (stored durably, pending review), else 4xx."""
    from ..graph import submissions
    try:
        identity = auth.authorize("contributor")
        cid = submissions.new_id()
        fmt, body = _request_body()
        with _validation_slot():
            auth.count(identity)
            examined = _examine(body, fmt, cid)
        report = examined.report
        if not report.conforms:
            raise Unprocessable(f"The contribution does not conform to the shapes: {len(report.violations)} "
                                "violation(s); see details.", details=report.to_json())
    except EntenteError as e:
        raise _refused(e)

    digest = submissions.sha256_hex(body)
    graphs = examined.graphs
    _inbox().save(cid, fmt, body)      # durable before the record says it exists
    get_store().write(provenance.record_quads(
        cid, contributor=identity.name, role=identity.role, sha256=digest, media_type=fmt.media_type,
        shapes=provenance.shapes_version(), graphs=graphs, triples=examined.triples))
    log.info("contribution %s stored (%d bytes, %s, by %s)", cid, len(body), fmt.media_type, identity.name)
    location = urls.to_public(submissions.contribution_iri(cid), iris.BASE)
    body_json = {"id": cid, "iri": submissions.contribution_iri(cid), "url": location, "state": "pending",
                 "sha256": digest, "graphs": graphs, "report": report.to_json(),
                 "review": f"{public_root()}/contributions/{cid}"}
    return Response(json.dumps(body_json, indent=2), 201, content_type="application/json",
                    headers={"Location": location})


# --- reading --------------------------------------------------------------------------------------

def _record_or_404(cid: str) -> provenance.Record:
    from ..graph import submissions
    record = provenance.read(get_store(), cid) if submissions.valid_id(cid) else None
    if record is None:
        raise NotFound(f"There is no contribution {cid!r}.", where={"id": cid})
    return record


def _data(record: provenance.Record) -> bytes:
    fmt = formats.by_media_type(record.media_type, formats.RDF)
    return _inbox().load(record.id, fmt)


@bp.get("/contributions")
def index():
    """The contributions, newest first: ?state=pending|accepted|rejected, ?limit=, ?offset=."""
    fmt = negotiation.negotiate(request.headers.get("Accept"), LIST_FORMATS, default=JSON)
    state = request.args.get("state") or None
    if state is not None and state not in provenance.STATES:
        raise BadRequest(f"state must be one of {', '.join(provenance.STATES)}.", where={"parameter": "state"})
    limit = _int_arg("limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _int_arg("offset", 0, 0, 10**9)
    store = get_store()
    ids, total = provenance.list_ids(store, state, limit, offset)
    records = [r for r in (provenance.read(store, cid) for cid in ids) if r is not None]
    public = public_root()
    page = {"total": total, "offset": offset, "limit": limit, "state": state,
            "items": [dict(r.to_json(public), review=f"{public}/contributions/{r.id}") for r in records]}
    if offset + limit < total:
        page["next"] = _page_url(state, limit, offset + limit)
    if fmt is formats.HTML:
        return _html(LIST_PAGE, "Contributions", f"{public}/contributions", page=page,
                     states=list(provenance.STATES))
    return Response(json.dumps(page, indent=2), content_type="application/json")


def _page_url(state, limit, offset) -> str:
    query = f"limit={limit}&offset={offset}" + (f"&state={state}" if state else "")
    return f"{public_root()}/contributions?{query}"


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number.", where={"parameter": name}) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must lie between {low} and {high}.", where={"parameter": name})
    return value


@bp.get("/contributions/<cid>")
def show(cid: str):
    """One contribution: its record and its data (JSON, HTML, or RDF: TriG/N-Quads keep the graphs)."""
    from ..graph import submissions
    fmt = negotiation.negotiate(request.headers.get("Accept"), RECORD_FORMATS, default=JSON)
    record = _record_or_404(cid)
    body = _data(record)
    if fmt is JSON:
        return Response(json.dumps(dict(record.to_json(public_root()), data=body.decode("utf-8")), indent=2),
                        content_type="application/json")
    if fmt is formats.HTML:
        return _html(RECORD_PAGE, f"Contribution {cid}", record.iri, r=record.to_json(public_root()),
                     data=body.decode("utf-8"))
    data_fmt = formats.by_media_type(record.media_type, formats.RDF)
    quads = provenance.record_graph(get_store(), cid) + \
        submissions.to_quads(submissions.parse(body, data_fmt, cid), cid)
    return Response(representations.serialize(quads, fmt, prefixes=None), content_type=representations.content_type(fmt))


# --- review ---------------------------------------------------------------------------------------

def _reason(required: bool) -> str:
    if request.mimetype == "application/json":
        try:
            payload = json.loads(request.get_data(cache=False) or b"{}")
        except ValueError:
            raise BadRequest("The JSON body does not parse; send {\"reason\": \"…\"}.") from None
        reason = payload.get("reason") if isinstance(payload, dict) else None
    else:
        reason = request.form.get("reason")
    reason = (reason or "").strip() if isinstance(reason, str) or reason is None else None
    if reason is None:
        raise BadRequest("reason must be a string.", where={"parameter": "reason"})
    if required and not reason:
        raise BadRequest("Give a reason (JSON {\"reason\": \"…\"} or form field reason).",
                         where={"parameter": "reason"})
    if len(reason) > MAX_REASON:
        raise BadRequest(f"The reason is longer than {MAX_REASON} characters.", where={"parameter": "reason"})
    return reason


def _review(cid: str, state: str):
    from ..graph import submissions
    try:
        identity = auth.authorize("maintainer")
        reason = _reason(required=state == "rejected")
        store, inbox = get_store(), _inbox()
        with inbox.review_lock():
            record = _record_or_404(cid)
            if record.state != "pending":
                raise Conflict(f"Contribution {cid} is already {record.state}; only pending contributions "
                               "are reviewed.", where={"state": record.state})
            data = []
            if state == "accepted":
                body = _data(record)
                if submissions.sha256_hex(body) != record.sha256:
                    raise EntenteError(f"The stored data of contribution {cid} does not match its hash.")
                fmt = formats.by_media_type(record.media_type, formats.RDF)
                examined = _examine(body, fmt, cid, with_quads=True)
                if not examined.report.conforms:
                    raise Conflict("The contribution no longer conforms to the current shapes; reject it or "
                                   "ask for a new version.", details=examined.report.to_json())
                data = examined.quads
            review, pending = provenance.review_quads(cid, state, reviewer=identity.name, role=identity.role,
                                                      reason=reason or state)
            store.write(review + data, quads_to_remove=pending)
            record = provenance.read(store, cid)
    except EntenteError as e:
        raise _refused(e)
    log.info("contribution %s %s by %s", cid, state, identity.name)
    return Response(json.dumps(record.to_json(public_root()), indent=2), content_type="application/json")


@bp.post("/contributions/<cid>/accept")
def accept(cid: str):
    """Maintainers: serve the contribution's data in its own graphs (one transaction with the new state)."""
    return _review(cid, "accepted")


@bp.post("/contributions/<cid>/reject")
def reject(cid: str):
    """Maintainers: reject with a reason; the record and data stay retrievable, the data is never served."""
    return _review(cid, "rejected")


def _html(template: str, title: str, iri: str, **context) -> Response:
    """A page in the site's layout (templates/base.html); Jinja escapes every value."""
    from . import pages

    config = settings()
    html = render_template_string(template, title=title, base=urls.public_base(), license=config.license,
                                  jsonld=pages.script_json({"@id": iri}), **context)
    return Response(html, content_type="text/html; charset=utf-8")


LIST_PAGE = """{% extends "base.html" %}{% block main %}
<h1>Contributions</h1>
<p>{{ page.total }} contribution(s){% if page.state %} in state <b>{{ page.state }}</b>{% endif %}.
Show: <a href="?">all</a>{% for s in states %} · <a href="?state={{ s }}">{{ s }}</a>{% endfor %}.
How to contribute: <a href="{{ base }}docs/contributions.md">docs/contributions.md</a>.</p>
<table class="contributions">
<tr><th>id</th><th>state</th><th>contributor</th><th>sent</th><th>triples</th><th>reason</th></tr>
{% for r in page["items"] %}
<tr><td><a href="{{ r.review }}">{{ r.id }}</a></td><td>{{ r.state }}</td><td>{{ r.contributor }}</td>
<td>{{ r.generatedAtTime }}</td><td>{{ r.triples }}</td><td>{{ r.reason or "" }}</td></tr>
{% endfor %}
</table>
{% if page.next %}<p><a href="{{ page.next }}">next page</a></p>{% endif %}
{% endblock %}
"""

RECORD_PAGE = """{% extends "base.html" %}{% block main %}
<h1>Contribution {{ r.id }} <span class="badge contributed">{{ r.state }}</span></h1>
<dl class="metadata">
<dt>IRI</dt><dd><a href="{{ r.url }}">{{ r.iri }}</a></dd>
<dt>contributor</dt><dd>{{ r.contributor }}</dd>
<dt>sent</dt><dd>{{ r.generatedAtTime }}</dd>
<dt>format</dt><dd>{{ r.format }}</dd>
<dt>triples</dt><dd>{{ r.triples }}</dd>
<dt>SHA-256</dt><dd><code>{{ r.sha256 }}</code></dd>
<dt>shapes version</dt><dd><code>{{ r.shapesVersion }}</code></dd>
<dt>graphs</dt><dd>{% for g in r.graphs %}<code>{{ g }}</code><br>{% endfor %}</dd>
{% if r.reviewer %}<dt>reviewed by</dt><dd>{{ r.reviewer }} at {{ r.reviewedAt }}</dd>
<dt>reason</dt><dd>{{ r.reason }}</dd>{% endif %}
</dl>
<h2>Data, as sent</h2>
<pre>{{ data }}</pre>
{% endblock %}
"""
