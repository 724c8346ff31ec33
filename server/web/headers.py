"""Response headers in one after-request hook: CORS, Vary, gzip, ETag/Last-Modified/304, Cache-Control.

- CORS: every answer may be read by any origin (`Access-Control-Allow-Origin: *`); a preflight
  OPTIONS gets the methods and headers a SPARQL or linked-data client sends (with Authorization, for
  maintainers' writes from a browser: a bearer token is a header, not a credential in the CORS sense).
- Vary: Accept and Accept-Encoding on every answer (the body depends on both), Origin never (`*`);
  Host too when there is no public URL (links are then built from Host; hosts.py admits only trusted ones).
- gzip: done here, not by flask-compress, because the ETag must name the encoding (a strong ETag
  differs between a gzipped body and a plain one) and that needs the two steps in one place, in order.
- ETag: the dataset version + a digest of the server's code files + the response's format (+ a digest
  of the host when there is no public URL) (+ "gz");
  Last-Modified: the last write.
  If-None-Match / If-Modified-Since → 304 (werkzeug's make_conditional). Only for successful
  GET/HEAD answers that have no validator of their own and allow caching.
- Cache-Control: `public, no-cache` by default — caches keep the answer and revalidate it, so a write
  (which changes the version) is seen at once. A view may set its own Cache-Control.
"""

from __future__ import annotations

import gzip
import hashlib

from ..representations import compressible

ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Accept, Accept-Encoding, Authorization, Content-Type, If-Modified-Since, If-None-Match"
EXPOSED_HEADERS = "Content-Length, Content-Location, ETag, Last-Modified, Link, Location, Vary, X-Entente-Format"
MIN_GZIP_BYTES = 512


def init_app(app) -> None:
    _code_id()                     # walk the code files once, at start-up, not on a request
    @app.after_request
    def _headers(response):
        from flask import request

        _cors(request, response)
        _vary(response, "Accept", "Accept-Encoding")
        if not app.config["ENTENTE"].public_url:       # links are built from Host: a cache must key on it
            _vary(response, "Host")
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            _gzip(request, response)
            _validators(request, response)
        return response


def _cors(request, response) -> None:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        requested = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS + (f", {requested}" if requested else "")
        response.headers["Access-Control-Max-Age"] = "86400"


def _vary(response, *names: str) -> None:
    present = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    present += [n for n in names if n.lower() not in lowered]
    response.headers["Vary"] = ", ".join(present)


def _gzip(request, response) -> None:
    if response.direct_passthrough or response.is_streamed or "Content-Encoding" in response.headers:
        return
    if not compressible(response.mimetype):
        return
    if request.accept_encodings["gzip"] <= 0:
        return
    body = response.get_data()
    if len(body) < MIN_GZIP_BYTES:
        return
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"


_CODE_ID: str | None = None


def _code_id() -> str:
    """Changes when the server's code, templates or static files change, so that a new deployment
    over the same data does not answer 304 with pages that the old code rendered."""
    global _CODE_ID
    if _CODE_ID is None:
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent   # the whole server package
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{path.relative_to(root)}:{path.stat().st_mtime_ns}:{path.stat().st_size};".encode())
        _CODE_ID = digest.hexdigest()[:8]
    return _CODE_ID


def _validators(request, response) -> None:
    from flask import current_app

    from ..store import get_store

    if "ETag" in response.headers or "no-store" in response.headers.get("Cache-Control", ""):
        return
    if response.direct_passthrough or response.is_streamed:     # files send their own validators
        return
    if request.path.startswith("/static/"):          # depends on the code, not on the data
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:20])
    else:
        store = get_store()
        fmt = response.headers.get("X-Entente-Format") or response.mimetype or "data"
        tag = f"{store.version}-{_code_id()}-{fmt}".replace("/", "_").replace("+", "_")
        if not current_app.config["ENTENTE"].public_url:     # the body names the host it was asked by
            tag += "-" + hashlib.sha256(request.host_url.encode()).hexdigest()[:8]
        if response.headers.get("Content-Encoding") == "gzip":
            tag += "-gz"
        response.set_etag(tag)
        response.last_modified = int(store.last_modified)
    response.headers.setdefault("Cache-Control", "public, no-cache")
    response.make_conditional(request)
