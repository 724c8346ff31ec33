"""The error family and its one renderer.

Code anywhere raises an `EntenteError` subclass with a message a user can act on and, where it
helps, where the fault is (`where`: a parameter, a line and column, a focus node). `init_app`
renders every error the same way, as JSON, HTML or plain text by what the client accepts.
Internal exceptions are logged and answered with a generic 500: their text is never sent.
"""

from __future__ import annotations

import html
import json
import logging

from werkzeug.exceptions import HTTPException

log = logging.getLogger("entente")


class EntenteError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str, where: str | dict | None = None, *, headers: dict | None = None,
                 details: object = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.headers = headers or {}
        self.details = details  # extra JSON-able data, e.g. a SHACL report

    def to_dict(self) -> dict:
        body = {"status": self.status, "error": self.title, "message": self.message}
        if self.where is not None:
            body["where"] = self.where
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(EntenteError):
    status, title = 400, "Bad Request"


class Unauthorized(EntenteError):
    status, title = 401, "Unauthorized"

    def __init__(self, message: str = "This needs a bearer token: send 'Authorization: Bearer <token>'.", **kw):
        super().__init__(message, **kw)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="entente"')


class Forbidden(EntenteError):
    status, title = 403, "Forbidden"


class NotFound(EntenteError):
    status, title = 404, "Not Found"


class MethodNotAllowed(EntenteError):
    status, title = 405, "Method Not Allowed"

    def __init__(self, message: str, allowed: list[str], **kw):
        super().__init__(message, **kw)
        self.headers["Allow"] = ", ".join(allowed)


class NotAcceptable(EntenteError):
    status, title = 406, "Not Acceptable"


class Conflict(EntenteError):
    status, title = 409, "Conflict"


class PayloadTooLarge(EntenteError):
    status, title = 413, "Payload Too Large"


class ResultTooLarge(EntenteError):
    """A query's answer is over the result limit: refused whole, never cut short."""
    status, title = 413, "Result Too Large"


class UnsupportedMediaType(EntenteError):
    status, title = 415, "Unsupported Media Type"


class Unprocessable(EntenteError):
    status, title = 422, "Unprocessable Content"


class TooManyRequests(EntenteError):
    status, title = 429, "Too Many Requests"


class BadGateway(EntenteError):
    status, title = 502, "Bad Gateway"


class ServiceUnavailable(EntenteError):
    status, title = 503, "Service Unavailable"


def _wants_html(request) -> bool:
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/html", "text/plain"]) == "text/html" and \
        accept["text/html"] > accept["application/json"]


def _wants_json(request) -> bool:
    accept = request.accept_mimetypes
    return accept["application/json"] > 0 and accept["application/json"] >= accept["text/plain"]


def render(error: EntenteError):
    """One response shape for every error: JSON for JSON callers, HTML for browsers, text otherwise."""
    from flask import Response, request

    if _wants_html(request):
        where = ""
        if error.where is not None:
            where = f"<p>Where: <code>{html.escape(json.dumps(error.where) if not isinstance(error.where, str) else error.where)}</code></p>"
        body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{error.status} {html.escape(error.title)}</title>"
                f"<h1>{error.status} {html.escape(error.title)}</h1><p>{html.escape(error.message)}</p>{where}</html>")
        response = Response(body, error.status, content_type="text/html; charset=utf-8")
    elif _wants_json(request):
        response = Response(json.dumps(error.to_dict(), indent=2), error.status, content_type="application/json")
    else:
        text = f"{error.status} {error.title}: {error.message}"
        if error.where is not None:
            text += f"\nWhere: {error.where if isinstance(error.where, str) else json.dumps(error.where)}"
        response = Response(text + "\n", error.status, content_type="text/plain; charset=utf-8")
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


_BY_STATUS = {cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, NotAcceptable,
                                          Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
                                          TooManyRequests, ServiceUnavailable)}


def init_app(app) -> None:
    @app.errorhandler(EntenteError)
    def _entente_error(error: EntenteError):
        if error.status >= 500:
            log.error("%s: %s", error.title, error.message)
        return render(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code == 405:
            allowed = list(getattr(error, "valid_methods", None) or [])
            return render(MethodNotAllowed(f"{_method()} is not allowed here.", allowed))
        cls = _BY_STATUS.get(error.code)
        if cls is None:
            e = EntenteError(error.description or error.name)
            e.status, e.title = error.code or 500, error.name
            return render(e)
        message = error.description or error.name
        if error.code == 413:
            message = "The request body is larger than this server accepts (see ENTENTE_MAX_BODY_BYTES)."
        return render(cls(message))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return render(EntenteError("The server failed while answering; the error has been logged."))


def _method() -> str:
    from flask import request

    return request.method
