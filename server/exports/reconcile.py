"""OpenRefine reconciliation: the W3C Entity Reconciliation CG's Reconciliation Service API.

Version 0.2 (what OpenRefine speaks): the manifest, batch queries (`{"q0": {"query": …, "type": …,
"type_strict": …, "limit": …, "properties": [{"pid": …, "v": …}]}}` → `{"q0": {"result": [...]}}`),
suggest (entity, type, property), preview, and the data extension protocol (so that OpenRefine can add
a column of Wikidata QIDs, or any other property, to reconciled cells). The 1.0 draft's batch shape
(`{"queries": [{"conditions": [...]}]}` → `{"results": [{"candidates": [...]}]}`) is answered too.

Identifiers are Entente's IRIs (`https://w3id.org/entente/id/…`); types are the ontology's classes
(`ent:…`, matched with their subclasses; a type always filters, whatever `type_strict` says —
OpenRefine sends "should" with every typed query — and "all" asks for every listed type); property ids are predicate IRIs (`ent:basedIn` is accepted
for the full IRI), plus `owl:sameAs` for the Wikidata item.

Matching: a query is compared with every name of every entity (preferred, rdfs:label, alternative,
Wikidata's label from the linkset) after folding case, accents, apostrophes and dots ("U.S." = "US"),
and with the initials of multi-word names ("IRGC" = "Islamic Revolutionary Guard Corps"). An exact
name scores 100 (alternative names 97, Wikidata labels 96, initials 95); anything else scores below
85 by string similarity. A candidate is a `match` when it has an exact name or initials, its type and
property constraints hold, and no other candidate has an exact name too.

Length: over 400 lines because the API's operations (manifest, two batch shapes, suggest, preview,
data extension) share one candidate scoring; splitting them would split that.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import pyoxigraph as ox

from ..graph import iris
from .dataset import OWL, Data, Entity, Term

VERSIONS = ("0.2",)
DEFAULT_LIMIT = 5
MAX_LIMIT = 100
MAX_QUERIES = 500                 # queries in one batch (OpenRefine sends 10 at a time)
MAX_TEXT = 300                    # characters of a query or a property value (names here are short)
MAX_CONSTRAINTS = 20              # property constraints in one query
MATCH_SCORE = 95.0                # an exact name or initials
PARTIAL_CEILING = 85.0            # what a partial name can score at most
MIN_SCORE = 45.0                  # candidates below are not returned
KIND_WEIGHT = {"preferred": 100.0, "label": 100.0, "alternative": 97.0, "wikidata": 96.0, "initials": 95.0}
SAME_AS = OWL + "sameAs"
STOPWORDS = {"of", "the", "and", "for", "in", "on", "at", "to", "a", "an"}


class ReconcileError(ValueError):
    """A request that does not follow the protocol; the message says what and where."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where


# --- names ----------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: "Iran’s U.S. Ties" → "iran us ties"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"(?<=\w)\.(?=\w)", "", text)          # U.S. → US., F.B.I. → FBI.
    text = re.sub(r"'s\b", "", text)                      # possessives: Iran's → Iran
    text = re.sub(r"[\W_]+", " ", text).strip()
    return re.sub(r"^the ", "", text)


def initials(text: str) -> str | None:
    """The initials of a name of two or more significant words ("Islamic Revolutionary Guard Corps" → "irgc")."""
    words = [w for w in fold(text).split() if w not in STOPWORDS]
    return "".join(w[0] for w in words) if len(words) >= 2 else None


@dataclass
class Indexed:
    entity: Entity
    names: list[tuple[str, str, str]]     # (folded, original, kind)
    types: set[str]                       # the entity's classes and their superclasses


@dataclass
class Index:
    data: Data
    entries: list[Indexed] = field(default_factory=list)

    @classmethod
    def build(cls, data: Data) -> "Index":
        index = cls(data)
        for e in sorted(data.entities.values(), key=lambda e: e.iri):
            names = []
            for text, kind in e.names:
                names.append((fold(text), text, kind))
                ini = initials(text)
                if ini and len(ini) >= 2:
                    names.append((ini, text, "initials"))
            types = set().union(*(data.superclasses(t) for t in e.types)) if e.types else set()
            index.entries.append(Indexed(e, [n for n in names if n[0]], types))
        return index


_indexes: dict[str, Index] = {}


def index_for(data: Data) -> Index:
    if data.version not in _indexes:
        _indexes.clear()
        _indexes[data.version] = Index.build(data)
    return _indexes[data.version]


# --- queries --------------------------------------------------------------------------------------

@dataclass
class Constraint:
    pid: str
    values: list


@dataclass
class Query:
    text: str = ""
    types: list[str] = field(default_factory=list)
    type_strict: str = "any"
    limit: int = DEFAULT_LIMIT
    constraints: list[Constraint] = field(default_factory=list)


def expand(term: str) -> str:
    """A CURIE with one of Entente's prefixes (`ent:Person`) as a full IRI; anything else unchanged."""
    prefix, colon, rest = term.partition(":")
    if colon and prefix in iris.PREFIXES and not rest.startswith("//"):
        return iris.PREFIXES[prefix] + rest
    return term


def parse_batch(raw) -> dict[str, Query]:
    """The 0.2 batch (`queries=` form field or a JSON body): {key: query object} → {key: Query}."""
    batch = _json(raw, "queries")
    if not isinstance(batch, dict):
        raise ReconcileError("'queries' must be a JSON object of queries keyed by name, e.g. "
                             '{"q0": {"query": "Hezbollah"}}.', "queries")
    if len(batch) > MAX_QUERIES:
        raise ReconcileError(f"At most {MAX_QUERIES} queries in one batch (got {len(batch)}).", "queries")
    return {str(key): parse_query(q, f"queries.{key}") for key, q in batch.items()}


def parse_query(q, where: str) -> Query:
    if isinstance(q, str):
        return Query(text=q)
    if not isinstance(q, dict):
        raise ReconcileError("A query is a JSON object such as {\"query\": \"Hezbollah\"}.", where)
    text = q.get("query", "")
    if not isinstance(text, str):
        raise ReconcileError("'query' must be a string.", where + ".query")
    if len(text) > MAX_TEXT:
        raise ReconcileError(f"'query' is {len(text)} characters long; at most {MAX_TEXT}.", where + ".query")
    types = q.get("type") or []
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ReconcileError("'type' must be a type id or a list of type ids.", where + ".type")
    strict = q.get("type_strict", "any")
    if strict not in ("any", "all", "should"):
        raise ReconcileError("'type_strict' must be 'any', 'all' or 'should'.", where + ".type_strict")
    constraints = []
    props = q.get("properties") or []
    if not isinstance(props, list):
        raise ReconcileError("'properties' must be a list of {\"pid\": …, \"v\": …}.", where + ".properties")
    if len(props) > MAX_CONSTRAINTS:
        raise ReconcileError(f"At most {MAX_CONSTRAINTS} property constraints in a query.", where + ".properties")
    for i, p in enumerate(props):
        if not isinstance(p, dict) or not isinstance(p.get("pid"), str) or "v" not in p:
            raise ReconcileError("Each property constraint needs 'pid' (a property id) and 'v' (a value).",
                                 f"{where}.properties[{i}]")
        values = p["v"] if isinstance(p["v"], list) else [p["v"]]
        if len(values) > MAX_CONSTRAINTS or any(len(str(v)) > MAX_TEXT for v in values):
            raise ReconcileError(f"A constraint takes at most {MAX_CONSTRAINTS} values of at most {MAX_TEXT} "
                                 "characters.", f"{where}.properties[{i}].v")
        constraints.append(Constraint(expand(p["pid"]), values))
    if not text.strip() and not constraints:
        raise ReconcileError("A query needs a 'query' string or at least one property constraint.", where)
    return Query(text, [expand(t) for t in types], strict, _limit(q.get("limit"), where), constraints)


def parse_single(raw: str) -> Query:
    """A single `query=` (the 0.1 style): plain text, or a JSON query object."""
    return parse_query(_json(raw, "query") if raw.lstrip().startswith("{") else raw, "query")


def parse_batch_v1(raw) -> list[Query]:
    """The 1.0 draft's batch: {"queries": [{"type": …, "limit": …, "conditions": [...]}]}."""
    body = _json(raw, "body")
    if not isinstance(body, dict) or not isinstance(body.get("queries"), list):
        raise ReconcileError('The body must be {"queries": [...]}.', "queries")
    if len(body["queries"]) > MAX_QUERIES:
        raise ReconcileError(f"At most {MAX_QUERIES} queries in one batch.", "queries")
    out = []
    for i, q in enumerate(body["queries"]):
        where = f"queries[{i}]"
        if not isinstance(q, dict) or not isinstance(q.get("conditions"), list) or not q["conditions"]:
            raise ReconcileError("A query needs a non-empty list of 'conditions'.", where)
        legacy = {"type": q.get("type"), "limit": q.get("limit"), "properties": []}
        names = []
        for j, c in enumerate(q["conditions"]):
            if not isinstance(c, dict) or c.get("matchType") not in ("name", "id", "property") \
                    or "propertyValue" not in c:
                raise ReconcileError("A condition needs 'matchType' (name, id or property) and 'propertyValue'.",
                                     f"{where}.conditions[{j}]")
            if c["matchType"] == "name":
                names.append(str(c["propertyValue"]))
            elif c["matchType"] == "id":
                legacy["properties"].append({"pid": "@id", "v": c["propertyValue"]})
            else:
                if not isinstance(c.get("propertyId"), str):
                    raise ReconcileError("A property condition needs 'propertyId'.", f"{where}.conditions[{j}]")
                legacy["properties"].append({"pid": c["propertyId"], "v": c["propertyValue"]})
        legacy["query"] = " ".join(names)
        out.append(parse_query({k: v for k, v in legacy.items() if v not in (None, [])}, where))
    return out


def _json(raw, where: str):
    if isinstance(raw, (bytes, str)):
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ReconcileError(f"Not JSON: {e}.", where) from None
    return raw


def _limit(value, where: str) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        raise ReconcileError("'limit' must be a positive number.", where + ".limit")
    return min(int(value), MAX_LIMIT)


# --- answering ------------------------------------------------------------------------------------

@dataclass
class Candidate:
    entry: Indexed
    score: float
    exact: bool
    features: list[dict]
    constraints_hold: bool


def reconcile(data: Data, query: Query) -> list[dict]:
    """The candidates for one query, best first, as 0.2 result objects."""
    index = index_for(data)
    folded = fold(query.text)
    candidates = []
    for entry in index.entries:
        if not _type_ok(entry, query):
            continue
        name_score, exact = _name_score(folded, entry) if folded else (0.0, False)
        checks = [_holds(data, entry.entity, c) for c in query.constraints]
        if folded and name_score < MIN_SCORE:
            continue
        if not folded:
            if not checks or not any(checks):
                continue
            name_score = 100.0 * sum(checks) / len(checks)
        score = name_score - 15.0 * checks.count(False)
        if score < MIN_SCORE:
            continue
        features = [{"id": "name", "value": round(name_score, 1)}]
        if query.types:
            features.append({"id": "type", "value": True})
        features += [{"id": "property:" + c.pid, "value": ok} for c, ok in zip(query.constraints, checks)]
        candidates.append(Candidate(entry, round(score, 1), exact, features, all(checks)))
    candidates.sort(key=lambda c: (-c.score, c.entry.entity.name.casefold(), c.entry.entity.iri))
    exact_ones = [c for c in candidates if c.exact]
    out = []
    for c in candidates[:query.limit]:
        match = (c.exact and len(exact_ones) == 1 and c.constraints_hold) or \
                (not folded and c.score == 100.0 and len(candidates) == 1)
        out.append(result(data, c.entry, c.score, match, c.features))
    return out


def answer_batch(data: Data, queries: dict[str, Query]) -> dict:
    return {key: {"result": reconcile(data, q)} for key, q in queries.items()}


def answer_batch_v1(data: Data, queries: list[Query]) -> dict:
    out = []
    for q in queries:
        candidates = []
        for r in reconcile(data, q):
            r = dict(r)
            r["features"] = [{**f, "name": _feature_name(f["id"])} for f in r.get("features", [])]
            candidates.append(r)
        out.append({"candidates": candidates})
    return {"results": out}


def _feature_name(fid: str) -> str:
    return {"name": "name similarity (0-100)", "type": "type matches"}.get(fid, fid.replace("property:", "property "))


def _name_score(folded: str, entry: Indexed) -> tuple[float, bool]:
    best, exact = 0.0, False
    for name, _original, kind in entry.names:
        if name == folded:
            s = KIND_WEIGHT[kind]
            if s > best or not exact:
                best, exact = max(best, s), True
            continue
        if kind == "initials" or exact:
            continue
        best = max(best, PARTIAL_CEILING * _similarity(folded, name) * KIND_WEIGHT[kind] / 100.0)
    return best, exact


def _similarity(query: str, name: str) -> float:
    """0..1: every query word in the name ("Quds" in "Quds Force") counts most, then spelling closeness."""
    words_q, words_n = set(query.split()), set(name.split())
    if words_q <= words_n:
        return 0.6 + 0.4 * len(words_q) / len(words_n)
    jaccard = len(words_q & words_n) / len(words_q | words_n)
    floor = max(jaccard, MIN_SCORE / PARTIAL_CEILING)     # below this a partial name is never a candidate
    if 0.9 * 2 * min(len(query), len(name)) / (len(query) + len(name)) <= floor:
        return jaccard                 # lengths alone bound the ratio below the floor: skip the comparison
    matcher = SequenceMatcher(None, query, name, autojunk=False)
    if 0.9 * matcher.quick_ratio() <= floor:
        return jaccard
    return max(0.9 * matcher.ratio(), jaccard)


def _type_ok(entry: Indexed, query: Query) -> bool:
    if not query.types:
        return True
    hits = [t in entry.types for t in query.types]
    return all(hits) if query.type_strict == "all" else any(hits)


def _holds(data: Data, entity: Entity, c: Constraint) -> bool:
    """Whether one of the entity's values for `c.pid` equals one of the values asked for."""
    if c.pid == "@id":
        return any(_id_value(v) == entity.iri for v in c.values)
    if c.pid == SAME_AS:
        qid = entity.qid
        return qid is not None and any(_qid(v) == qid for v in c.values)
    found = [o.value for p, o, _ in data.outgoing.get(entity.iri, ()) if p == c.pid]
    for value in c.values:
        wanted_id = _id_value(value)
        for obj in found:
            if wanted_id is not None and obj == wanted_id:
                return True
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                v = fold(str(value))
                if v and (v == fold(obj) or v == fold(data.label(obj))):
                    return True
            if isinstance(value, bool) and obj == str(value).lower():
                return True
    return False


def _id_value(v) -> str | None:
    if isinstance(v, dict):
        v = v.get("id")
    return expand(v) if isinstance(v, str) and (":" in v) else None


def _qid(v) -> str | None:
    if isinstance(v, dict):
        v = v.get("id")
    if not isinstance(v, str):
        return None
    m = re.search(r"(Q\d+)$", v.strip())
    return m.group(1) if m else None


def result(data: Data, entry: Indexed, score: float, match: bool, features: list[dict]) -> dict:
    e = entry.entity
    return {"id": e.iri, "name": e.name, "description": describe(data, e), "score": score, "match": match,
            "type": [type_object(data, t) for t in sorted(e.types)], "features": features}


def describe(data: Data, e: Entity) -> str:
    """A one-line description: its types, other names, and the Wikidata item if linked."""
    parts = [", ".join(data.label(t) for t in sorted(e.types))] if e.types else []
    others = sorted({text for text, kind in e.names if text != e.name and kind != "wikidata"})
    if others:
        parts.append("also " + ", ".join(f"“{o}”" for o in others))
    if e.qid:
        parts.append(f"Wikidata {e.qid}")
    return "; ".join(parts)


def type_object(data: Data, cls: str) -> dict:
    return {"id": cls, "name": data.label(cls)}


# --- manifest, suggest, preview, data extension ---------------------------------------------------

def manifest(data: Data, root: str, docs_url: str) -> dict:
    """The 0.2 service manifest; `root` is the server's public URL (no trailing slash)."""
    base = root + "/reconcile"
    return {
        "versions": list(VERSIONS),
        "name": "Entente (Iran–Russia article, 2015)",
        "identifierSpace": iris.ID,
        "schemaSpace": iris.ENT,
        "documentation": docs_url,
        "serviceVersion": "1",
        "view": {"url": base + "/view?id={{id}}"},
        "defaultTypes": [type_object(data, t) for t in default_types(data)],
        "preview": {"url": base + "/preview?id={{id}}", "width": 430, "height": 220},
        "suggest": {
            "entity": {"service_url": base, "service_path": "/suggest/entity"},
            "type": {"service_url": base, "service_path": "/suggest/type"},
            "property": {"service_url": base, "service_path": "/suggest/property"},
        },
        "extend": {
            "propose_properties": {"service_url": base, "service_path": "/propose_properties"},
            "property_settings": [],
        },
    }


def manifest_v1(data: Data, root: str, docs_url: str) -> dict:
    """The 1.0 draft's manifest, for the service rooted at `root`/reconcile/v1 (routes relative to it:
    /match, /suggest/{entity,type,property}, /preview)."""
    base = root + "/reconcile/v1"
    return {
        "versions": ["1.0-draft"],
        "name": "Entente (Iran–Russia article, 2015)",
        "documentation": docs_url,
        "serviceVersion": "1",
        "view": {"url": base + "/view?id={id}"},
        "defaultTypes": [type_object(data, t) for t in default_types(data)],
        "preview": {"width": 430, "height": 220},
        "suggest": {"entity": True, "type": True, "property": True},
    }


def default_types(data: Data) -> list[str]:
    """The classes used directly by entities, most used first (a short list OpenRefine offers)."""
    counts: dict[str, int] = {}
    for e in data.entities.values():
        for t in e.types:
            if t.startswith(iris.ENT):
                counts[t] = counts.get(t, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:12]


def suggest_entities(data: Data, prefix: str, limit: int = 10) -> dict:
    p = fold(prefix)
    hits = []
    for entry in index_for(data).entries:
        best = None
        for name, _original, kind in entry.names:
            if kind == "initials":
                if name == p:
                    best = min(best or 9, 1)
                continue
            if name.startswith(p):
                best = min(best or 9, 0)
            elif any(w.startswith(p) for w in name.split()):
                best = min(best or 9, 2)
        if p and best is not None:
            hits.append((best, entry.entity.name.casefold(), entry))
    hits.sort(key=lambda h: h[:2])
    return {"result": [{"id": e.entity.iri, "name": e.entity.name, "description": describe(data, e.entity),
                        "notable": [type_object(data, t) for t in sorted(e.entity.types)]}
                       for _, _, e in hits[:limit]]}


def suggest_terms(data: Data, prefix: str, kind: str, limit: int = 10) -> dict:
    p = fold(prefix)
    terms = [t for t in data.terms.values() if t.kind == kind]
    if kind == "property":
        terms = [t for t in terms if t.iri in _used_properties(data)] + _extra_properties(data)
    hits = []
    for t in terms:
        f, local = fold(t.label), fold(t.iri.rsplit("#", 1)[-1])
        if p and (f.startswith(p) or local.startswith(p) or any(w.startswith(p) for w in f.split())):
            hits.append((0 if f.startswith(p) else 1, f, t))
    hits.sort(key=lambda h: h[:2])
    out = []
    for _, _, t in hits[:limit]:
        item = {"id": t.iri, "name": t.label}
        if t.definition:
            item["description"] = t.definition
        out.append(item)
    return {"result": out}


def _used_properties(data: Data) -> set[str]:
    return {p for pos in data.outgoing.values() for p, _, _ in pos}


def _extra_properties(data: Data):
    return [Term(SAME_AS, "Wikidata item (owl:sameAs)", "The entity's Wikidata item, where a public source pairs "
                 "the QID with it.", kind="property")]


def preview_html(data: Data, iri: str, page_url: str) -> str | None:
    """A small HTML card for OpenRefine's preview pane; every piece of text is escaped."""
    from markupsafe import escape

    e = data.entities.get(iri)
    if e is None:
        return None
    lines = [f'<html><head><meta charset="utf-8"><title>{escape(e.name)}</title></head>'
             '<body style="font-family:sans-serif;font-size:13px;margin:6px">',
             f'<div><a href="{escape(page_url)}" target="_blank" rel="noopener"><b>{escape(e.name)}</b></a></div>',
             f"<div>{escape(describe(data, e))}</div>"]
    if e.qid:
        lines.append(f'<div>Wikidata: <a href="https://www.wikidata.org/wiki/{escape(e.qid)}" target="_blank" '
                     f'rel="noopener">{escape(e.qid)}</a></div>')
    lines.append(f"<div><code>{escape(e.iri)}</code></div></body></html>")
    return "\n".join(lines)


def propose_properties(data: Data, type_id: str | None, limit: int = 50) -> dict:
    """The properties worth fetching for entities of `type_id` (all used properties if none)."""
    cls = expand(type_id) if type_id else None
    used: dict[str, int] = {}
    for e in data.entities.values():
        if cls and cls not in set().union(*(data.superclasses(t) for t in e.types or ())):
            continue
        for p, _, _ in data.outgoing.get(e.iri, ()):
            if p.startswith(iris.ENT):
                used[p] = used.get(p, 0) + 1
    props = [{"id": SAME_AS, "name": "Wikidata item (owl:sameAs)"}]
    props += [{"id": p, "name": data.label(p)} for p, _ in sorted(used.items(), key=lambda kv: (-kv[1], kv[0]))]
    out = {"properties": props[:limit]}
    if type_id:
        out["type"] = type_id
    return out


def parse_extend(raw) -> tuple[list[str], list[str]]:
    body = _json(raw, "extend")
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list) \
            or not isinstance(body.get("properties"), list):
        raise ReconcileError('\'extend\' must be {"ids": [...], "properties": [{"id": ...}]}.', "extend")
    ids = [str(i) for i in body["ids"]][:MAX_QUERIES]
    props = []
    for i, p in enumerate(body["properties"]):
        if not isinstance(p, dict) or not isinstance(p.get("id"), str):
            raise ReconcileError("Each property is {\"id\": <property id>}.", f"extend.properties[{i}]")
        props.append(p["id"])
    return ids, props


def extend(data: Data, ids: list[str], props: list[str]) -> dict:
    """Data extension: the values of `props` for each entity in `ids` (entities as {id, name})."""
    meta = [{"id": p, "name": "Wikidata item" if expand(p) == SAME_AS else data.label(expand(p))} for p in props]
    rows = {}
    for iri in ids:
        row = {}
        for p in props:
            full = expand(p)
            if full == SAME_AS:
                qid = data.qid(iri)
                row[p] = [{"str": qid}] if qid else []   # a string: the QID is not in our identifier space
                continue
            values = []
            for pred, obj, _ in data.outgoing.get(iri, ()):
                if pred != full:
                    continue
                item = {"str": obj.value} if isinstance(obj, ox.Literal) else \
                    {"id": obj.value, "name": data.label(obj.value)}
                if item not in values:
                    values.append(item)
            row[p] = values
        rows[iri] = row
    return {"meta": meta, "rows": rows}
