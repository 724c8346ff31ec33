"""W3C Web Annotation: every evidence span of every claim as an `oa:Annotation`, served read-only as a
Web Annotation Protocol container (an LDP BasicContainer and AnnotationCollection, paged).

One annotation per (claim, evidence span). Its target is the article (its address when a graph states
one, else its Entente IRI) with two selectors: a TextQuoteSelector (the exact text, with a prefix and
suffix long enough to make the quote unique in the article) and a TextPositionSelector (code-point
offsets into the article's text, end exclusive — the offsets Entente uses everywhere). Its bodies are
the claim's IRI (purpose `linking`) and one readable sentence (purpose `describing`): who says it,
how, and the claim's triples.

JSON-LD uses the W3C context <http://www.w3.org/ns/anno.jsonld> by its standard IRI, as the model
requires; a copy ships in this package (contexts/, W3C licence) and is served at /ns/anno.jsonld, and
`to_rdf` expands with the copy, so nothing is fetched.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from ..graph import iris
from .dataset import Claim, Data, Span, claim_text

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
LDP_CONTEXT = "http://www.w3.org/ns/ldp.jsonld"
MEDIA_TYPE = f'application/ld+json; profile="{ANNO_CONTEXT}"'
CONTEXT_FILES = {ANNO_CONTEXT: "anno.jsonld", LDP_CONTEXT: "ldp.jsonld"}
CONTEXTS_DIR = Path(__file__).parent / "contexts"
PAGE_SIZE = 100
CONTEXT_CHARS = 32          # prefix and suffix length, grown until the quote is unique
PREFER_IRIS = "http://www.w3.org/ns/oa#PreferContainedIRIs"
PREFER_DESCRIPTIONS = "http://www.w3.org/ns/oa#PreferContainedDescriptions"
PREFER_MINIMAL = "http://www.w3.org/ns/ldp#PreferMinimalContainer"


def context_document(url: str) -> dict:
    """The packaged copy of a W3C JSON-LD context (KeyError for any other URL: nothing is fetched)."""
    return json.loads((CONTEXTS_DIR / CONTEXT_FILES[url]).read_text(encoding="utf-8"))


def entries(data: Data) -> list[tuple[str, Claim, Span]]:
    """(path under /annotations/, claim, span) for every evidence span of every claim, in a stable order."""
    out = []
    for claim in sorted(data.claims.values(), key=lambda c: c.iri):
        rel = claim.iri[len(iris.BASE):] if claim.iri.startswith(iris.BASE) else claim.iri
        for span in claim.spans:
            out.append((f"{quote(rel, safe='/-._~')}/{span.begin}-{span.end}", claim, span))
    return out


def find(data: Data, path: str):
    for entry in entries(data):
        if entry[0] == path:
            return entry
    return None


def source(data: Data) -> str:
    return data.article.address or data.article.iri


def quote_selector(text: str, begin: int, end: int) -> dict:
    """exact + prefix/suffix: CONTEXT_CHARS code points each side, more until prefix+exact+suffix is unique."""
    exact = text[begin:end]
    n = CONTEXT_CHARS
    while True:
        prefix, suffix = text[max(0, begin - n):begin], text[end:end + n]
        if _occurrences(text, prefix + exact + suffix) == 1 or (begin - n <= 0 and end + n >= len(text)):
            break
        n *= 2
    selector = {"type": "TextQuoteSelector", "exact": exact}
    if prefix:
        selector["prefix"] = prefix
    if suffix:
        selector["suffix"] = suffix
    return selector


def _occurrences(text: str, needle: str) -> int:
    count, start = 0, text.find(needle)
    while start != -1 and count < 2:
        count += 1
        start = text.find(needle, start + 1)
    return count


def annotation(data: Data, root: str, license: str, path: str, claim: Claim, span: Span,
               with_context: bool = True) -> dict:
    text = data.article.text
    anno = {
        "id": f"{root}/annotations/{path}",
        "type": "Annotation",
        "motivation": "describing",
        "creator": {"id": root + "/", "type": "Software", "name": "Entente"},
        "rights": license,
        "body": [
            {"id": claim.iri, "purpose": "linking"},
            {"type": "TextualBody", "value": claim_text(data, claim), "format": "text/plain", "language": "en",
             "purpose": "describing"},
        ],
        "target": {
            "type": "SpecificResource",
            "source": source(data),
            "selector": [quote_selector(text, span.begin, span.end),
                         {"type": "TextPositionSelector", "start": span.begin, "end": span.end}],
        },
    }
    if with_context:
        anno = {"@context": ANNO_CONTEXT, **anno}
    return anno


def page_count(data: Data) -> int:
    return max(1, -(-len(entries(data)) // PAGE_SIZE))


def container(data: Data, root: str, license: str, prefer: str | None = None) -> dict:
    """The container: its description and, unless the client prefers a minimal one, its first page
    (descriptions by default, IRIs with PreferContainedIRIs)."""
    iris_only = bool(prefer and PREFER_IRIS in prefer)
    minimal = bool(prefer and PREFER_MINIMAL in prefer and PREFER_DESCRIPTIONS not in prefer)
    base = f"{root}/annotations/"
    query = "?iris=1&page=" if iris_only else "?page="
    body = {
        "@context": [ANNO_CONTEXT, LDP_CONTEXT],
        "id": base,
        "type": ["BasicContainer", "AnnotationCollection"],
        "label": "Entente: the evidence of every claim, as annotations on the article",
        "total": len(entries(data)),
        "last": base + query + str(page_count(data) - 1),
    }
    if minimal:
        body["first"] = base + query + "0"
    else:
        body["first"] = page(data, root, license, 0, iris_only, with_context=False)
    return body


def collection(data: Data, root: str, license: str) -> dict:
    """The whole collection in one document: the container with every annotation in its one page."""
    base = f"{root}/annotations/"
    items = [annotation(data, root, license, path, claim, span, with_context=False)
             for path, claim, span in entries(data)]
    return {"@context": ANNO_CONTEXT, "id": base, "type": "AnnotationCollection",
            "label": "Entente: the evidence of every claim, as annotations on the article", "total": len(items),
            "first": {"id": base + "?all", "type": "AnnotationPage", "startIndex": 0, "items": items}}


def page(data: Data, root: str, license: str, n: int, iris_only: bool = False,
         with_context: bool = True) -> dict | None:
    items = entries(data)
    if not 0 <= n < page_count(data):
        return None
    base = f"{root}/annotations/"
    query = "?iris=1&page=" if iris_only else "?page="
    chunk = items[n * PAGE_SIZE:(n + 1) * PAGE_SIZE]
    body = {"id": base + query + str(n), "type": "AnnotationPage",
            "partOf": {"id": base, "total": len(items)}, "startIndex": n * PAGE_SIZE}
    if n + 1 < page_count(data):
        body["next"] = base + query + str(n + 1)
    if n > 0:
        body["prev"] = base + query + str(n - 1)
    body["items"] = [base + path if iris_only else annotation(data, root, license, path, claim, span, with_context=False)
                     for path, claim, span in chunk]
    return {"@context": ANNO_CONTEXT, **body} if with_context else body


def to_rdf(document: dict) -> list:
    """The triples of a JSON-LD document, expanded with the packaged contexts (pyoxigraph's JSON-LD parser)."""
    return list(ox.parse(json.dumps(_inline(document)).encode("utf-8"), format=ox.RdfFormat.JSON_LD))


def _inline(document):
    """`document` with the W3C context IRIs replaced by the packaged contexts' content."""
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if key == "@context":
                values = value if isinstance(value, list) else [value]
                merged = [context_document(v)["@context"] if isinstance(v, str) else v for v in values]
                out[key] = merged if len(merged) > 1 else merged[0]
            else:
                out[key] = _inline(value)
        return out
    if isinstance(document, list):
        return [_inline(v) for v in document]
    return document
