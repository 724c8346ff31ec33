"""PROV records of contributions, kept in graph:contributions for every state.

A record says who sent the contribution (the token's role/name, never the token), when, the
SHA-256 of the body as sent, its media type, the version of the shapes it was checked against,
the named graphs it will fill, and its state (ent:Pending → ent:Accepted | ent:Rejected, with
the reviewer, the time and the reason). The record is public metadata; the contributed facts
themselves reach the store only on acceptance, in the same transaction that marks it accepted.

    <https://w3id.org/entente/contribution/20261125T153512Z-9f2c1a7b>
        a ent:Contribution, prov:Entity ;
        rdfs:label "Contribution 20261125T153512Z-9f2c1a7b"@en ;
        prov:wasAttributedTo <https://w3id.org/entente/contribution/agent/contributor> ;
        prov:generatedAtTime "2026-11-25T15:35:12.123456+00:00"^^xsd:dateTime ;
        ent:sha256 "…" ; dcterms:format "text/turtle" ; ent:shapesVersion "…" ;
        ent:dataGraph <https://w3id.org/entente/contribution/20261125T153512Z-9f2c1a7b> ;
        void:triples 12 ;
        ent:state ent:Pending .
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

from . import iris
from .. import resources

P = iris.PREFIXES
ENT, PROV, RDF, RDFS, XSD = P["ent"], P["prov"], P["rdf"], P["rdfs"], P["xsd"]
DCTERMS, VOID = P["dcterms"], P["void"]

STATES = {"pending": ENT + "Pending", "accepted": ENT + "Accepted", "rejected": ENT + "Rejected"}
STATE_NAMES = {iri: name for name, iri in STATES.items()}
AGENT = iris.CONTRIBUTION + "agent/"     # contributors and reviewers, by the name their token carries
GRAPH = iris.GRAPH_CONTRIBUTIONS


def contribution_iri(cid: str) -> str:
    return iris.CONTRIBUTION + cid


def agent_iri(name: str) -> str:
    return AGENT + name


@functools.lru_cache(maxsize=None)
def shapes_version(shapes_dir: Path = resources.SHAPES) -> str:
    """SHA-256 over the shapes files (names and bytes, in name order): what a contribution was checked against.
    Computed once per process, like the shapes validation loads once (validation._load_turtle_dir)."""
    digest = hashlib.sha256()
    for path in sorted(Path(shapes_dir).glob("*.ttl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Record:
    id: str
    iri: str
    state: str                      # pending | accepted | rejected
    contributor: str                # agent name
    generated: str                  # xsd:dateTime lexical form
    sha256: str
    media_type: str
    shapes_version: str
    triples: int
    graphs: list[str] = field(default_factory=list)
    reviewer: str | None = None
    reviewed: str | None = None
    reason: str | None = None

    def to_json(self, public_url: str = "") -> dict:
        return {"id": self.id, "iri": self.iri, "url": iris.to_public(self.iri, public_url), "state": self.state,
                "contributor": self.contributor, "generatedAtTime": self.generated, "sha256": self.sha256,
                "format": self.media_type, "shapesVersion": self.shapes_version, "triples": self.triples,
                "graphs": self.graphs, "reviewer": self.reviewer, "reviewedAt": self.reviewed, "reason": self.reason}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _agent_quads(name: str, role: str) -> list[ox.Quad]:
    g, a = _n(GRAPH), _n(agent_iri(name))
    return [ox.Quad(a, _n(RDF + "type"), _n(PROV + "Agent"), g),
            ox.Quad(a, _n(RDFS + "label"), ox.Literal(name), g),
            ox.Quad(a, _n(ENT + "role"), ox.Literal(role), g)]


def record_quads(cid: str, *, contributor: str, role: str, sha256: str, media_type: str, shapes: str,
                 graphs: list[str], triples: int, generated: str | None = None) -> list[ox.Quad]:
    """The quads of a new, pending record (to be written with store.write)."""
    g, c = _n(GRAPH), _n(contribution_iri(cid))
    quads = [
        ox.Quad(c, _n(RDF + "type"), _n(ENT + "Contribution"), g),
        ox.Quad(c, _n(RDF + "type"), _n(PROV + "Entity"), g),
        ox.Quad(c, _n(RDFS + "label"), ox.Literal(f"Contribution {cid}", language="en"), g),
        ox.Quad(c, _n(PROV + "wasAttributedTo"), _n(agent_iri(contributor)), g),
        ox.Quad(c, _n(PROV + "generatedAtTime"), ox.Literal(generated or now(), datatype=_n(XSD + "dateTime")), g),
        ox.Quad(c, _n(ENT + "sha256"), ox.Literal(sha256), g),
        ox.Quad(c, _n(DCTERMS + "format"), ox.Literal(media_type), g),
        ox.Quad(c, _n(ENT + "shapesVersion"), ox.Literal(shapes), g),
        ox.Quad(c, _n(VOID + "triples"), ox.Literal(str(triples), datatype=_n(XSD + "integer")), g),
        ox.Quad(c, _n(ENT + "state"), _n(STATES["pending"]), g),
    ]
    quads += [ox.Quad(c, _n(ENT + "dataGraph"), _n(name), g) for name in graphs]
    return quads + _agent_quads(contributor, role)


def review_quads(cid: str, state: str, *, reviewer: str, role: str, reason: str) -> tuple[list, list]:
    """(quads to add, quads to remove) that move a pending record to `state`: for store.write, in the same
    transaction as the accepted data (the same call that stores a new record)."""
    g, c = _n(GRAPH), _n(contribution_iri(cid))
    add = [ox.Quad(c, _n(ENT + "state"), _n(STATES[state]), g),
           ox.Quad(c, _n(ENT + "reviewedBy"), _n(agent_iri(reviewer)), g),
           ox.Quad(c, _n(ENT + "reviewedAt"), ox.Literal(now(), datatype=_n(XSD + "dateTime")), g),
           ox.Quad(c, _n(ENT + "reviewReason"), ox.Literal(reason), g)] + _agent_quads(reviewer, role)
    return add, [ox.Quad(c, _n(ENT + "state"), _n(STATES["pending"]), g)]


def read(store, cid: str) -> Record | None:
    """The record of one contribution, None if there is none."""
    c = contribution_iri(cid)
    rows = store.select(f"SELECT ?c ?p ?o WHERE {{ GRAPH <{GRAPH}> {{ ?c ?p ?o }} }}", bind={"c": _n(c)})
    if not rows:
        return None
    values: dict[str, list[str]] = {}
    for row in rows:
        values.setdefault(row["p"].value, []).append(row["o"].value)

    def one(prop: str, default=None):
        got = values.get(prop)
        return got[0] if got else default

    def agent_name(iri: str | None) -> str | None:
        return iri[len(AGENT):] if iri and iri.startswith(AGENT) else iri

    return Record(
        id=cid, iri=c, state=STATE_NAMES.get(one(ENT + "state"), "unknown"),
        contributor=agent_name(one(PROV + "wasAttributedTo")), generated=one(PROV + "generatedAtTime"),
        sha256=one(ENT + "sha256"), media_type=one(DCTERMS + "format"), shapes_version=one(ENT + "shapesVersion"),
        triples=int(one(VOID + "triples", 0)), graphs=sorted(values.get(ENT + "dataGraph", [])),
        reviewer=agent_name(one(ENT + "reviewedBy")), reviewed=one(ENT + "reviewedAt"),
        reason=one(ENT + "reviewReason"))


def list_ids(store, state: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[str], int]:
    """Contribution ids, newest first, and how many there are in all (with the state filter)."""
    where = f"GRAPH <{GRAPH}> {{ ?c a <{ENT}Contribution> ; <{PROV}generatedAtTime> ?t"
    where += f" ; <{ENT}state> ?state }}" if state else " }"
    bind = {"state": _n(STATES[state])} if state else None
    # (a substituted variable must be projected: ?state is grouped by when there is one)
    total = store.select(f"SELECT (COUNT(DISTINCT ?c) AS ?n){' ?state' if state else ''} WHERE {{ {where} }}"
                         f"{' GROUP BY ?state' if state else ''}", bind=bind)
    count = int(total[0]["n"].value) if total else 0
    rows = store.select(f"SELECT DISTINCT ?c ?t{' ?state' if state else ''} WHERE {{ {where} }} ORDER BY DESC(?t) ?c "
                        f"LIMIT {int(limit)} OFFSET {int(offset)}", bind=bind)
    return [row["c"].value[len(iris.CONTRIBUTION):] for row in rows], count


def record_graph(store, cid: str) -> list[ox.Quad]:
    """The record as quads in graph:contributions (with its agents), for RDF answers."""
    triples = store.construct(
        f"CONSTRUCT {{ ?c ?p ?o . ?a ?ap ?ao }} WHERE {{ GRAPH <{GRAPH}> {{ {{ ?c ?p ?o }} UNION "
        f"{{ ?c <{PROV}wasAttributedTo>|<{ENT}reviewedBy> ?a . ?a ?ap ?ao }} }} }}", bind={"c": _n(contribution_iri(cid))})
    return [ox.Quad(t.subject, t.predicate, t.object, _n(GRAPH)) for t in triples]
