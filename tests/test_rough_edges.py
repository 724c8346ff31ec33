"""What a new user hit on a fresh install, each pinned: the CLI reads files as the server does, a
server without tokens says that it takes no writes, and the home page's title."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CONTRIBUTIONS = ROOT / "tests" / "data" / "contributions"


def entente(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_validate_refuses_a_remote_jsonld_context_like_the_server():
    result = entente("validate", str(CONTRIBUTIONS / "bad-remote-context.jsonld"))
    assert result.returncode == 2
    assert "never fetches a remote @context" in result.stderr and "https://schema.org/" in result.stderr
    assert "urlopen" not in result.stderr


def test_cli_validate_shows_a_syntax_error_as_text_with_line_and_column():
    result = entente("validate", str(CONTRIBUTIONS / "bad-syntax.ttl"))
    assert result.returncode == 2
    assert "line 10, column 1" in result.stderr
    assert "b'" not in result.stderr and "\\n" not in result.stderr


def test_a_server_without_tokens_says_it_accepts_no_contributions(app_client):
    client = app_client()
    r = client.post("/contributions", data=(CONTRIBUTIONS / "good-katz-friendly.trig").read_bytes(),
                    headers={"Content-Type": "application/trig", "Authorization": "Bearer anything", "Accept": "application/json"})
    assert r.status_code == 403
    assert "accepts no writes" in r.get_json()["message"]
    assert client.get("/health").get_json()["writes"] == {"contributions": False, "review_and_updates": False}
    assert "accepts no contributions" in client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    r = client.post("/sparql", data="INSERT DATA { <a:b> <a:c> <a:d> }",
                    headers={"Content-Type": "application/sparql-update", "Accept": "application/json"})
    assert r.status_code == 403 and "without a maintainer token" in r.get_json()["message"]


def test_a_server_with_a_contributor_token_says_which_writes_it_takes(app_client):
    client = app_client(contributor_token="c-token")
    assert client.get("/health").get_json()["writes"] == {"contributions": True, "review_and_updates": False}
    home = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "accepts contributions from contributors" in home
    r = client.post("/contributions", data=b"", headers={"Content-Type": "application/trig"})
    assert r.status_code == 401, "with contributions enabled, a missing token is a 401 that asks for one"


def test_the_home_page_title_is_not_doubled(app_client):
    html = app_client().get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<title>Entente</title>" in html and "Entente · Entente" not in html


def test_contribution_pages_link_to_the_docs_which_the_server_serves(app_client):
    client = app_client()
    page = client.get("/contributions", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'docs/contributions.md">docs/contributions.md</a>' in page
    doc = client.get("/docs/contributions.md")
    assert doc.status_code == 200 and doc.mimetype == "text/markdown"
    assert doc.get_data(as_text=True).startswith("#")
    assert "contributions.md" in client.get("/docs/").get_data(as_text=True)
    for bad in ("../pyproject.toml", "..%2Fpyproject.toml", "settings.py", "competency", "nope.md", ".hidden.md"):
        assert client.get("/docs/" + bad).status_code == 404, bad
