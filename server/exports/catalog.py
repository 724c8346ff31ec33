"""The one list of exports: what the home page links, what VoID describes (as DCAT distributions and
data services), and where each lives on the server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Export:
    path: str             # on the server, from its root
    title: str
    media_type: str       # what the URL answers with by default
    conforms_to: str      # the specification it follows
    kind: str             # "service" (a protocol endpoint) or "distribution" (a file)


EXPORTS = (
    Export("/reconcile", "OpenRefine reconciliation service (Reconciliation Service API 0.2)", "application/json",
           "https://www.w3.org/community/reports/reconciliation/CG-FINAL-specs-0.2-20230410/", "service"),
    Export("/annotations/", "W3C Web Annotations: every evidence span, as a Web Annotation Protocol container",
           'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
           "http://www.w3.org/TR/annotation-protocol/", "service"),
    Export("/export/nanopubs.trig", "Nanopublications: every claim with its provenance and publication info (TriG)",
           "application/trig", "http://www.nanopub.org/nschema", "distribution"),
    Export("/export/quickstatements.txt", "QuickStatements: the claims Wikidata can take, with references",
           "text/plain", "https://www.wikidata.org/wiki/Help:QuickStatements", "distribution"),
)
