"""One error shape for every status: JSON `{status, error, message[, where]}` for JSON callers, the same
facts as text and as escaped HTML, whichever route refused (in-process: the shape does not need a process)."""

from __future__ import annotations

import html
import json

import pytest

from server import errors

JSON = {"Accept": "application/json"}


def _check_json(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) <= {"status", "error", "message", "where", "details"}
    assert body["status"] == status and body["error"] and body["message"].strip()
    return body


@pytest.mark.parametrize("cls", [c for c in vars(errors).values()
                                 if isinstance(c, type) and issubclass(c, errors.EntenteError)])
def test_every_error_class_renders_the_one_shape_in_json_text_and_html(app_client, cls):
    from flask import current_app

    client = app_client()
    app = client.application
    kwargs = {"allowed": ["GET"]} if cls is errors.MethodNotAllowed else {}
    error = cls("What went wrong <b>here</b>.", where={"line": 3, "column": 7}, **kwargs) \
        if cls is not errors.Unauthorized else cls(where={"line": 3, "column": 7})
    for accept, mimetype in (("application/json", "application/json"), ("text/plain", "text/plain"),
                             ("text/html", "text/html")):
        with app.test_request_context("/", headers={"Accept": accept}):
            assert current_app
            response = errors.render(error)
        assert response.status_code == error.status and response.mimetype == mimetype
        text = response.get_data(as_text=True)
        if mimetype == "application/json":
            body = json.loads(text)
            assert body == {"status": error.status, "error": error.title, "message": error.message,
                            "where": {"line": 3, "column": 7}}
        else:
            assert str(error.status) in text and error.title in text and '"line": 3' in html.unescape(text)
        if mimetype == "text/html" and cls is not errors.Unauthorized:
            assert "<b>here</b>" not in text and "&lt;b&gt;here&lt;/b&gt;" in text


def test_real_refusals_have_the_shape(app_client):
    client = app_client(maintainer_token="m-token", contributor_token="c-token", max_body_bytes=1000)
    where = _check_json(client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p }"}, headers=JSON), 400)
    assert "where" in where, "a syntax error says where"
    _check_json(client.post("/sparql", data="INSERT DATA {}", headers={**JSON, "Content-Type": "application/sparql-update"}), 401)
    _check_json(client.post("/sparql", data="INSERT DATA {}", headers={
        **JSON, "Content-Type": "application/sparql-update", "Authorization": "Bearer c-token"}), 403)
    _check_json(client.get("/id/no-such-thing", headers=JSON), 404)
    _check_json(client.delete("/", headers=JSON), 405)
    refused = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert refused.status_code == 406 and refused.mimetype == "text/plain"      # the client takes no JSON
    assert refused.get_data(as_text=True).startswith("406 Not Acceptable: ")
    _check_json(client.post("/sparql", data="ASK {} #" + "x" * 2000, headers={**JSON, "Content-Type": "application/sparql-query"}), 413)
    _check_json(client.post("/sparql", data="ASK {}", headers={**JSON, "Content-Type": "image/png"}), 415)


def test_an_unexpected_failure_is_a_500_in_the_shape_without_internals(app_client, monkeypatch):
    client = app_client()
    from server.web import sparql

    def broken():
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(sparql, "_read_operation", broken)
    response = client.get("/sparql", query_string={"query": "ASK {}"}, headers=JSON)
    body = _check_json(response, 500)
    assert "secret" not in json.dumps(body) and "passwd" not in json.dumps(body)
