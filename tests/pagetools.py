"""Helpers shared by the page tests: a small HTML reader, SPARQL over HTTP (the oracle the pages are
checked against), and the server the page tests use."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import requests

from conftest import LiveServer

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PREFIXES = """PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX id: <https://w3id.org/entente/id/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
PREFIX graph: <https://w3id.org/entente/graph/>
"""
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict, parent: "Element | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Element):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Element"]:
        found = []
        for e in self.iter():
            if tag and e.tag != tag:
                continue
            if cls and cls not in (e.attrs.get("class") or "").split():
                continue
            if any(e.attrs.get(k) != v for k, v in attrs.items()):
                continue
            found.append(e)
        return found

    def by_id(self, ident: str) -> "Element | None":
        if self.parent is None:       # the document: index the ids once
            if not hasattr(self, "_ids"):
                self._ids = {}
                for e in self.iter():
                    self._ids.setdefault(e.attrs.get("id"), e)
            return self._ids.get(ident)
        return next((e for e in self.iter() if e.attrs.get("id") == ident), None)


class Page(HTMLParser):
    """The element tree of an HTML page (enough for tests; tolerant of unclosed <p> and <li>)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def __getattr__(self, name):
        return getattr(self.root, name)


def get_page(url: str) -> tuple[requests.Response, Page]:
    response = requests.get(url, headers={"Accept": BROWSER_ACCEPT}, timeout=60)
    return response, Page(response.text)


def select(base_url: str, query: str) -> list[dict[str, str]]:
    """Rows of a SELECT sent to /sparql, as {variable: value}."""
    response = requests.post(base_url + "/sparql", data={"query": PREFIXES + query},
                             headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


def page_server(request, tmp_path_factory, backend):
    """The shared server with the real built dataset (on the test's store backend, conftest.py).
    ENTENTE_PAGES_DATASET=<file> runs the page tests against another dataset instead (used while the
    real build was not ready yet)."""
    dataset = os.environ.get("ENTENTE_PAGES_DATASET")
    if not dataset:
        yield request.getfixturevalue("server")
        return
    live = LiveServer(tmp_path_factory.mktemp("pages") / "store", Path(dataset), backend=backend).start()
    yield live
    live.stop()
