"""Compare Entente with a Wikidata SPARQL endpoint: `diff` (is each exportable statement already there,
new, or in conflict?) and `check` (does each owl:sameAs link still point at a live item whose label
and type fit the entity?).

Only the endpoint the user names is contacted (POST, SPARQL 1.1 protocol, JSON results). Queries use
Wikidata's RDF model: `p:P…`/`ps:P…` statement nodes with `wikibase:rank`, references through
`prov:wasDerivedFrom` and `pr:P…`, `wdt:P31`/`wdt:P279` for types, `owl:sameAs` for redirects, and the
single-value constraint as `wd:P… p:P2302/ps:P2302 wd:Q19474404` (IDs and their public sources:
docs/exports.md).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field

from ..graph import iris
from .dataset import Data, Entity
from .quickstatements import statements
from .reconcile import _similarity, fold

WD = iris.WIKIDATA_ENTITY
PREFIXES = """PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX p: <http://www.wikidata.org/prop/>
PREFIX ps: <http://www.wikidata.org/prop/statement/>
PREFIX pr: <http://www.wikidata.org/prop/reference/>
PREFIX wikibase: <http://wikiba.se/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
DEPRECATED = "http://wikiba.se/ontology#DeprecatedRank"
SINGLE_VALUE = "Q19474404"        # single-value constraint (OpenRefine's Wikidata manifest)
LABEL_THRESHOLD = 0.8             # name similarity (reconcile's) at which a Wikidata label fits


class EndpointError(RuntimeError):
    """The endpoint could not be reached or did not answer with SPARQL JSON results."""


class Endpoint:
    def __init__(self, url: str, timeout: float = 30.0):
        if not url.startswith(("http://", "https://")):
            raise EndpointError(f"--endpoint must be an http(s) URL of a SPARQL endpoint, got {url!r}")
        self.url, self.timeout = url, timeout

    def select(self, query: str) -> list[dict]:
        body = urllib.parse.urlencode({"query": PREFIXES + query}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Accept": "application/sparql-results+json", "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Entente (entente wikidata diff/check; https://w3id.org/entente/)"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise EndpointError(f"{self.url} answered {e.code}: {e.read(300).decode('utf-8', 'replace')}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise EndpointError(f"cannot reach {self.url}: {getattr(e, 'reason', e)}") from None
        except ValueError as e:
            raise EndpointError(f"{self.url} did not answer with SPARQL JSON results: {e}") from None
        return [{k: v["value"] for k, v in row.items()} for row in answer["results"]["bindings"]]


def _qid(iri: str) -> str:
    return iri[len(WD):] if iri.startswith(WD) else iri


def resolve(endpoint: Endpoint, qid: str) -> str:
    """The item a QID redirects to (Wikidata's RDF writes a redirect as `wd:old owl:sameAs wd:new`)."""
    rows = endpoint.select(f"SELECT ?target WHERE {{ wd:{qid} owl:sameAs ?target }}")
    return _qid(rows[0]["target"]) if rows else qid


# --- diff -------------------------------------------------------------------------------------------

@dataclass
class DiffRow:
    verdict: str                    # existing | new | conflict
    subject: str
    property: str
    value: str
    claims: list[str]
    reason: str = ""
    wikidata_values: list[str] = field(default_factory=list)


def diff(data: Data, endpoint: Endpoint, include_attributed: bool = False) -> list[DiffRow]:
    grouped: dict[tuple, list[str]] = {}
    for st in statements(data, include_attributed).statements:
        grouped.setdefault((st.subject, st.property, st.value), [])
        if st.claim not in grouped[(st.subject, st.property, st.value)]:
            grouped[(st.subject, st.property, st.value)].append(st.claim)
    address = data.article.address or ""
    single = {}
    rows = []
    for (s, p, o), claims in grouped.items():
        subject, value = resolve(endpoint, s), resolve(endpoint, o)
        found = endpoint.select(
            f"SELECT ?value ?rank (COUNT(?url) AS ?ours) WHERE {{ wd:{subject} p:{p} ?st . ?st ps:{p} ?value ; "
            f"wikibase:rank ?rank . OPTIONAL {{ ?st prov:wasDerivedFrom ?ref . ?ref pr:P854 ?url "
            f"FILTER(STR(?url) = {json.dumps(address)}) }} }} GROUP BY ?value ?rank")
        values = [(_qid(r["value"]), r["rank"], int(r.get("ours", 0))) for r in found]
        if p not in single:
            single[p] = bool(endpoint.select(
                f"SELECT ?c WHERE {{ wd:{p} p:P2302 ?c . ?c ps:P2302 wd:{SINGLE_VALUE} }} LIMIT 1"))
        row = DiffRow("new", s, p, o, claims, wikidata_values=sorted({v for v, _, _ in values}))
        redirects = [f"{a} redirects to {b}" for a, b in ((s, subject), (o, value)) if a != b]
        same = [(v, rank, ours) for v, rank, ours in values if v == value]
        live_same = [x for x in same if x[1] != DEPRECATED]
        others = sorted({v for v, rank, _ in values if v != value and rank != DEPRECATED})
        if live_same:
            row.verdict = "existing"
            row.reason = "already referenced to the article" if any(x[2] for x in live_same) else \
                "present; no reference to the article yet"
        elif same:
            row.verdict, row.reason = "conflict", "Wikidata has this value with deprecated rank"
        elif others and single[p]:
            row.verdict = "conflict"
            row.reason = f"{p} has a single-value constraint and Wikidata already has {', '.join(others)}"
        elif others:
            row.reason = f"Wikidata has other values: {', '.join(others)}"
        row.reason = "; ".join(filter(None, [row.reason, *redirects]))
        rows.append(row)
    return rows


# --- check ------------------------------------------------------------------------------------------

@dataclass
class CheckRow:
    entity: str
    qid: str
    verdict: str                    # ok | missing | redirect | mismatch
    problems: list[str] = field(default_factory=list)
    label: str | None = None
    wikidata_types: list[str] = field(default_factory=list)
    expected_types: list[str] = field(default_factory=list)


def expected_types(data: Data, entity: Entity) -> set[str]:
    """The Wikidata classes our entity's classes (and their superclasses) are aligned with."""
    out = set()
    for cls in entity.types:
        for c in data.superclasses(cls):
            target = data.alignments.get(c, "")
            if target.startswith(WD + "Q"):
                out.add(_qid(target))
    return out


def check(data: Data, endpoint: Endpoint) -> list[CheckRow]:
    rows = []
    for iri, wd in sorted(data.same_as.items()):
        entity, qid = data.entities.get(iri) or Entity(iri), _qid(wd)
        row = CheckRow(iri, qid, "ok", expected_types=sorted(expected_types(data, entity)))
        if not endpoint.select(f"SELECT ?p WHERE {{ wd:{qid} ?p ?o }} LIMIT 1"):
            row.verdict, row.problems = "missing", [f"{qid} has no statements at the endpoint (deleted or never existed)"]
            rows.append(row)
            continue
        target = resolve(endpoint, qid)
        if target != qid:
            row.verdict, row.problems = "redirect", [f"{qid} is a redirect to {target}: link to {target} instead"]
            rows.append(row)
            continue
        labels = [r["l"] for r in endpoint.select(
            f'SELECT ?l WHERE {{ wd:{qid} rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), "en")) }}')]
        row.label = labels[0] if labels else None
        names = [fold(text) for text, _ in entity.names]
        if labels and names and not any(fold(l) == n or _similarity(fold(l), n) >= LABEL_THRESHOLD
                                         for l in labels for n in names):
            row.problems.append(f"label {labels[0]!r} does not fit our names "
                                f"({', '.join(sorted({t for t, _ in entity.names}))})")
        types = {_qid(r["t"]) for r in endpoint.select(
            f"SELECT DISTINCT ?t WHERE {{ wd:{qid} wdt:P31/wdt:P279* ?t }}")}
        row.wikidata_types = sorted(types)
        if row.expected_types and types and not types & set(row.expected_types):
            direct = sorted({_qid(r["t"]) for r in endpoint.select(f"SELECT ?t WHERE {{ wd:{qid} wdt:P31 ?t }}")})
            row.problems.append(f"type: {qid} is an instance of {', '.join(direct) or 'nothing'} (and their "
                                f"superclasses), none of {', '.join(row.expected_types)} that our classes "
                                f"({', '.join(sorted(data.label(t) for t in entity.types))}) align with")
        if row.problems:
            row.verdict = "mismatch"
        rows.append(row)
    return rows


# --- reports ----------------------------------------------------------------------------------------

def diff_text(rows: list[DiffRow]) -> str:
    counts = {v: sum(r.verdict == v for r in rows) for v in ("existing", "new", "conflict")}
    lines = [f"{len(rows)} statements: {counts['existing']} existing, {counts['new']} new, {counts['conflict']} in conflict"]
    for r in rows:
        lines.append(f"{r.verdict:<9} {r.subject} {r.property} {r.value}" + (f"  — {r.reason}" if r.reason else "")
                     + f"  [{', '.join(c.rsplit('/', 1)[-1] for c in r.claims)}]")
    return "\n".join(lines) + "\n"


def check_text(rows: list[CheckRow]) -> str:
    counts = {v: sum(r.verdict == v for r in rows) for v in ("ok", "missing", "redirect", "mismatch")}
    lines = [f"{len(rows)} links: " + ", ".join(f"{n} {v}" for v, n in counts.items())]
    for r in rows:
        lines.append(f"{r.verdict:<9} {r.entity.rsplit('/', 1)[-1]} → {r.qid}"
                     + (f" ({r.label})" if r.label else "") + "".join(f"\n          {p}" for p in r.problems))
    return "\n".join(lines) + "\n"


def as_json(rows) -> str:
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1) + "\n"
