#!/usr/bin/env python3
"""Canonical names (data/names.trig): list the entities that have none yet.

  python scripts/names.py missing    print a names.trig line for every entity of data/ without a
                                     skos:prefLabel, using its label in the claims and nm:article
                                     (the article's own words); paste them into data/names.trig and
                                     change the name and ent:nameSource where a reference work or the
                                     entity's verified Wikidata label names it otherwise.

Exit status 1 when some entity lacks a preferred name, so that it can run in a check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import rdflib
from rdflib import RDFS, SKOS, URIRef

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ID = "https://w3id.org/entente/id/"
ARTICLE = URIRef(ID + "bloomberg-iran-russia-2015")


def turtle_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"@en'


def missing() -> list[str]:
    ds = rdflib.Dataset()
    for f in sorted(DATA.glob("*.trig")):
        ds.parse(f, format="trig")
    ds.default_graph.parse(ROOT / "seeds" / "metadata.ttl")
    entities = {s for s, _, _, _ in ds.quads((None, None, None, None))
                if isinstance(s, URIRef) and str(s).startswith(ID)} - {ARTICLE}
    named = {s for s, _, _, _ in ds.quads((None, SKOS.prefLabel, None, None))}
    lines = []
    for x in sorted(entities - named):
        labels = sorted(str(o) for _, _, o, _ in ds.quads((x, RDFS.label, None, None)))
        name = labels[0] if labels else str(x)[len(ID):].replace("-", " ")
        lines.append(f"  id:{str(x)[len(ID):]} skos:prefLabel {turtle_string(name)} ; "
                     f"rdfs:label {turtle_string(name)} ;\n    ent:nameSource nm:article .")
    return lines


def main(argv: list[str]) -> int:
    if argv != ["missing"]:
        print(__doc__)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    lines = missing()
    for line in lines:
        print(line)
    print(f"{len(lines)} entities without a preferred name", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
