"""HTML for people: home, resource, article and ontology pages, the query page and graph pictures.

Other blueprints call `render_html(store, settings, description)` for `.html` document twins and
`render_query_page(settings)` for browsers at /sparql. This module owns `/`, `/article` and
`/picture.svg`. Data comes from `describe.Description` (handed in) and `page_data` (the queries);
templates (autoescaped Jinja2) only see plain values. Every link to one of our IRIs points at this
server (the base IRI mapped onto settings.public_url or the request's own URL).

Length: over 400 lines because it holds the view models of four kinds of page and the link and JSON-LD
helpers they share; the next split would put the helpers in their own module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

from .. import formats

from ..graph import describe, dumps as dump_files, iris, page_data
from ..graph.vocab import modality_key, modality_sentence

from . import auth, picture
from .urls import public_base, see_other, settings
from ..errors import BadRequest, NotFound
from ..exports.catalog import EXPORTS

bp = Blueprint("pages", __name__)

RDF_TYPE = page_data.RDF_TYPE
IS_STRING = iris.PREFIXES["nif"] + "isString"
SKOS_PREF = page_data.SKOS + "prefLabel"
SKOS_ALT = page_data.SKOS + "altLabel"
RDFS_LABEL = page_data.RDFS + "label"
# labels for the few W3C terms whose own labels are not in the store
KNOWN_LABELS = {RDF_TYPE: "type", RDFS_LABEL: "label", page_data.RDFS + "comment": "comment",
                page_data.OWL + "sameAs": "same as", page_data.SKOS + "altLabel": "also called",
                page_data.SKOS + "definition": "definition"}


# --- links ---------------------------------------------------------------------------------------------

def href(iri: str | None, base: str) -> str | None:
    """Where a browser should go for `iri`: our IRIs → their HTML page here; Wikidata → its page;
    other http(s) IRIs → themselves; anything else (urn:, javascript:, …) → no link."""
    if not iri:
        return None
    if iri.startswith(iris.BASE):
        url = iris.to_public(iri, base)
        path, hash_, frag = url.partition("#")
        if path.rstrip("/").endswith(("/ontology", "/ontology/1.0.0")) or not hash_:
            return path + ".html" + hash_ + frag
        return url
    wd = wikidata_page(iri)
    if wd:
        return wd
    if iri.startswith(("http://", "https://")):
        return iri
    return None


WIKIDATA_IRI = re.compile(r"https?://www\.wikidata\.org/(?:entity|wiki|prop/direct)/(?:Property:)?([QPL]\d+)")


def wikidata_id(iri: str | None) -> str | None:
    """Q42 for wd:Q42, P31 for wdt:P31; None for anything that is not a Wikidata entity or property."""
    m = WIKIDATA_IRI.fullmatch(iri or "")
    return m.group(1) if m else None


def wikidata_page(iri: str | None) -> str | None:
    """The page a person reads on wikidata.org for a Wikidata IRI."""
    qid = wikidata_id(iri)
    if qid is None:
        return None
    return f"https://www.wikidata.org/wiki/{'Property:' if qid.startswith('P') else ''}{qid}"


DISPLAY_PREFIXES = {**iris.PREFIXES, "vann": "http://purl.org/vocab/vann/", "dc": "http://purl.org/dc/elements/1.1/"}


def curie(iri: str) -> str:
    best = ""
    for prefix, ns in DISPLAY_PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(DISPLAY_PREFIXES.get(best, "")):
            best = prefix
    if best and re.fullmatch(r"[\w.\-/]*", iri[len(DISPLAY_PREFIXES[best]):]):
        return f"{best}:{iri[len(DISPLAY_PREFIXES[best]):]}"
    return iri


def span_anchor(begin, end) -> str:
    return f"span-{begin}-{end}"


def article_span_href(base: str, begin, end) -> str:
    return href(iris.ARTICLE, base) + "#" + span_anchor(begin, end)


# --- JSON-LD of what a page shows -------------------------------------------------------------------------

def jsonld_node(value: str, kind: str = "iri", datatype: str | None = None, language: str | None = None) -> dict:
    if kind == "iri":
        return {"@id": value}
    if kind == "bnode":
        return {"@id": "_:" + value}
    node = {"@value": value}
    if language:
        node["@language"] = language
    elif datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
        node["@type"] = datatype
    return node


def jsonld(triples) -> list[dict]:
    """Expanded JSON-LD for (subject, predicate, object-node-dict) triples, one object per subject."""
    subjects: dict[str, dict] = {}
    for s, p, o in triples:
        node = subjects.setdefault(s, {"@id": s})
        if p == RDF_TYPE and "@id" in o:
            types = node.setdefault("@type", [])
            if o["@id"] not in types:
                types.append(o["@id"])
            continue
        values = node.setdefault(p, [])
        if o not in values:
            values.append(o)
    return list(subjects.values())


def script_json(data) -> Markup:
    """JSON for a <script type="application/ld+json"> block: `<`, `>` and `&` escaped so a literal
    holding `</script>` cannot end the block."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def alternates(iri: str, base: str) -> list[tuple[str, str, str]]:
    """(media type, url, format name) of each RDF document twin of `iri` on this server."""
    path = iris.to_public(iri, base).partition("#")[0]
    return [(f.media_type, f"{path}.{f.extension}", f.name) for f in formats.RDF]


# --- rendering helpers shared by templates ----------------------------------------------------------------

@dataclass
class Link:
    """A node as a page shows it: text, where it links, whether it is Wikidata, the raw value."""
    text: str
    url: str | None
    value: str
    kind: str = "iri"
    wikidata: str | None = None       # Q-id / P-id when the node is a Wikidata entity
    datatype: str | None = None
    language: str | None = None
    ours: bool = False


def link(value: str, base: str, label: str | None = None, kind: str = "iri", datatype=None, language=None) -> Link:
    if kind != "iri":
        return Link(value, None, value, kind, None, datatype, language)
    wd = wikidata_id(value)
    text = label or KNOWN_LABELS.get(value) or (f"Wikidata {wd}" if wd else curie(value))
    return Link(text, href(value, base), value, "iri", wd, ours=value.startswith(iris.BASE))


def node_link(node, base: str) -> Link:
    return link(node.value, base, node.label, node.kind, getattr(node, "datatype", None),
                getattr(node, "language", None))


def _page(template: str, **context) -> str:
    config = context.pop("settings", None) or settings()
    return render_template(template, license=config.license, **context)


# --- resource pages ----------------------------------------------------------------------------------------

@dataclass
class EvidenceView:
    modality_key: str
    modality_text: str
    asserter: Link | None
    quote: str | None
    span_url: str | None
    claim: Link
    contribution: Link | None


@dataclass
class ValueView:
    node: Link
    evidence: list[EvidenceView]
    graphs: list[Link]


@dataclass
class PropertyGroup:
    predicate: Link
    values: list[ValueView] = field(default_factory=list)


def _evidence_views(statement, base: str) -> list[EvidenceView]:
    views = []
    for ev in statement.evidence:
        asserter = node_link(ev.asserter, base) if ev.asserter else None
        span_url = article_span_href(base, ev.begin, ev.end) if ev.begin is not None and ev.end is not None else None
        views.append(EvidenceView(modality_key(ev.modality),
                                  modality_sentence(ev.modality, asserter.text if asserter else None, ev.modality_label)
                                  + ev.qualifier_note,
                                  asserter, ev.quote, span_url, link(ev.claim, base, curie(ev.claim)),
                                  link(ev.contribution, base, "contributed") if ev.contribution else None))
    return views


def group_statements(statements, base: str, incoming: bool) -> list[PropertyGroup]:
    groups: dict[str, PropertyGroup] = {}
    for st in statements:
        group = groups.setdefault(st.predicate.value, PropertyGroup(node_link(st.predicate, base)))
        other = st.subject if incoming else st.object
        group.values.append(ValueView(node_link(other, base), _evidence_views(st, base),
                                      [link(g, base, curie(g)) for g in st.graphs if not st.evidence]))
    for group in groups.values():
        group.values.sort(key=lambda v: (v.node.text.lower(), v.node.value))
    # the relations first; names, then types (most inferred, and already shown under the title) last
    order = lambda g: (g.predicate.value == RDF_TYPE, g.predicate.value in (RDFS_LABEL, SKOS_PREF, SKOS_ALT),
                       g.predicate.text.lower())
    return sorted(groups.values(), key=order)


def _description_jsonld(description, outgoing_only: bool = False) -> list[dict]:
    """The page's subject as JSON-LD (for the article: what it says about itself, not every span of it)."""
    triples = []
    for st in list(description.outgoing) + ([] if outgoing_only else list(description.incoming)):
        if outgoing_only and st.predicate.value == IS_STRING:
            continue
        triples.append((st.subject.value, st.predicate.value, jsonld_node(st.object.value, st.object.kind,
                        getattr(st.object, "datatype", None), getattr(st.object, "language", None))))
        for node in (st.subject, st.object):
            if node.kind == "iri" and node.label and node.value != description.iri:
                triples.append((node.value, RDFS_LABEL, {"@value": node.label}))
    if not triples:
        triples.append((description.iri, RDFS_LABEL, {"@value": description.label or description.iri}))
    return jsonld(triples)


@dataclass
class GraphView:
    facts: list[FactView]
    total: int
    evidence: list[tuple[str, str]]      # (quote, link into the article)


def graph_view(store, iri: str, base: str) -> GraphView | None:
    content = page_data.graph_content(store, iri)
    if content is None:
        return None
    lab = content.labels

    def ln(value, is_iri=True):
        return link(value, base, lab.get(value)) if is_iri else link(value, base, kind="literal")

    return GraphView([FactView(ln(f.subject), ln(f.predicate), ln(f.object, f.object_is_iri)) for f in content.facts],
                     content.total, [(quote, article_span_href(base, b, e)) for _, b, e, quote in content.evidence])


def fill_labels(store, description) -> None:
    """Give a label to every IRI node of the description that came without one (properties, classes)."""
    nodes = [n for st in list(description.outgoing) + list(description.incoming)
             for n in (st.subject, st.predicate, st.object)] + list(description.types)
    missing = {n.value for n in nodes if n.kind == "iri" and not n.label}
    if not missing:
        return
    found = describe.labels_of(store, missing)
    for n in nodes:
        if n.kind == "iri" and not n.label and n.value in found:
            n.label = found[n.value]


def render_resource(store, settings, description) -> str:
    base = public_base()
    iri = description.iri
    fill_labels(store, description)
    pictured = iri.startswith(iris.ID) and bool(page_data.relations(store, iri))
    in_article = None
    m = re.fullmatch(re.escape(iris.SPAN) + r"(\d+)-(\d+)", iri)
    if m:
        in_article = article_span_href(base, m.group(1), m.group(2))
    m = re.fullmatch(re.escape(iris.SENTENCE) + r"(\d+)", iri)
    if m:
        in_article = href(iris.ARTICLE, base) + f"#sentence-{m.group(1)}"
    modality = next((st.object for st in description.outgoing if st.predicate.value == iris.ENT + "modality"), None)
    asserter = next((st.object for st in description.outgoing if st.predicate.value == iris.ENT + "assertedBy"), None)
    claim_mark = None
    if modality is not None:
        claim_mark = (modality_key(modality.value),
                      modality_sentence(modality.value, (asserter.label or curie(asserter.value)) if asserter else None))
    return _page(
        "resource.html", settings=settings, title=description.label or curie(iri), iri=iri,
        self_link=link(iri, base), types=[node_link(t, base) for t in description.types],
        comment=description.comment, same_as=[node_link(n, base) for n in description.same_as],
        outgoing=group_statements(description.outgoing, base, incoming=False),
        incoming=group_statements(description.incoming, base, incoming=True),
        exists=description.exists, picture_url=picture_url(base, iri) if pictured else None,
        graph=graph_view(store, getattr(description, "graph", None) or iri, base), in_article=in_article,
        claim_mark=claim_mark, more_incoming=_more_incoming(description, base),
        alternates=alternates(iri, base), jsonld=script_json(_description_jsonld(description)),
        base=base)


def _more_incoming(description, base: str) -> tuple[int, str] | None:
    """(how many, query page URL) when the description holds only the first incoming statements."""
    total = getattr(description, "incoming_total", 0) or 0
    if total > len(description.incoming) and page_data._safe_iri(description.iri):
        return total, query_url(base, edit=page_data.incoming_query(description.iri))
    return None


def picture_url(base: str, about: str | None = None) -> str:
    url = base + "picture.svg"
    return url + "?" + urlencode({"about": about}) if about else url


# --- the article page -------------------------------------------------------------------------------------

@dataclass
class Piece:
    """One item of a paragraph of article text: a text segment, a span's start anchor, or its end marker."""
    kind: str                     # "text" | "anchor" | "ref" | "sentence" (where sentence n begins)
    text: str = ""
    span: str | None = None       # span key "b-e" (anchor, ref, innermost covering span of a text segment)
    number: int | None = None     # the span's number in the facts list (ref)
    depth: int = 0                # how many spans cover a text segment
    covering: list[str] = field(default_factory=list)
    title: str | None = None      # hover text: the innermost span's words, or why a sentence has no facts
    no_facts: bool = False


def paragraphs(text: str, spans, sentences) -> list[list[Piece]]:
    """The article text cut at every span and no-facts-sentence boundary and at every line break.

    Spans may overlap or nest, so a span is not one element: each text segment is wrapped on its
    own, knows every span covering it and links to the innermost one (the shortest); each span
    also gets a zero-width anchor where it begins (`#span-b-e`, the target of links from facts)
    and a numbered marker where it ends that links to its facts. Every span therefore has exactly
    one anchor and one marker, however the spans overlap. Sentences get an anchor too (`#sentence-n`).
    """
    n = len(text)
    cuts = {0, n}
    for s in spans:
        cuts |= {s.begin, s.end}
    quiet = [s for s in sentences if s.no_facts_reason]
    for s in quiet:
        cuts |= {max(0, min(n, s.begin)), max(0, min(n, s.end))}
    for i, ch in enumerate(text):
        if ch == "\n":
            cuts |= {i, i + 1}
    numbers = {s.key: i + 1 for i, s in enumerate(spans)}
    starts, ends = {}, {}
    for s in spans:
        starts.setdefault(s.begin, []).append(s)
        ends.setdefault(s.end, []).append(s)

    result: list[list[Piece]] = [[]]

    sentence_starts = {}
    for s in sentences:
        if s.number is not None and 0 <= s.begin < n:
            sentence_starts.setdefault(s.begin, []).append(s.number)
            cuts.add(s.begin)
    cuts = sorted(cuts)

    def boundary(pos):
        for s in sorted(ends.get(pos, []), key=lambda s: -s.begin):          # inner spans close first
            result[-1].append(Piece("ref", span=s.key, number=numbers[s.key]))
        for number in sentence_starts.get(pos, []):
            result[-1].append(Piece("sentence", number=number))
        for s in sorted(starts.get(pos, []), key=lambda s: -s.end):          # outer spans open first
            result[-1].append(Piece("anchor", span=s.key))

    for a, b in zip(cuts, cuts[1:]):
        boundary(a)
        segment = text[a:b]
        if segment == "\n":
            if result[-1]:
                result.append([])
            continue
        covering = sorted((s for s in spans if s.begin <= a and b <= s.end), key=lambda s: (s.end - s.begin, s.begin))
        sentence = next((s for s in quiet if s.begin <= a and b <= s.end), None)
        piece = Piece("text", segment, depth=len(covering), covering=[s.key for s in covering])
        if covering:
            piece.span = covering[0].key
            if len(covering) > 1:     # nested evidence: say which piece these words link to
                piece.title = f"{numbers[covering[0].key]}: {covering[0].anchor}"
        elif sentence:
            piece.no_facts, piece.title = True, f"No facts: {sentence.no_facts_reason}"
        result[-1].append(piece)
    boundary(n)
    return [p for p in result if p]


@dataclass
class FactView:
    subject: Link
    predicate: Link
    object: Link


@dataclass
class ClaimView:
    claim: Link
    modality_key: str
    modality_text: str
    asserter: Link | None
    facts: list[FactView]
    contribution: Link | None = None
    first_shown: str | None = None     # the span key where this claim's facts are listed (article page)

    @property
    def by_subject(self) -> list[tuple[Link, list[Link], list[FactView]]]:
        """The facts grouped by subject: (subject, its types, its other facts); a label that only repeats
        the subject's shown name is left out (the article page lists hundreds of facts)."""
        groups: dict[str, tuple[Link, list[Link], list[FactView]]] = {}
        for f in self.facts:
            subject, types, rest = groups.setdefault(f.subject.value, (f.subject, [], []))
            if f.predicate.value == RDF_TYPE:
                types.append(f.object)
            elif not (f.predicate.value == RDFS_LABEL and f.object.text == subject.text):
                rest.append(f)
        return list(groups.values())


@dataclass
class SpanView:
    key: str
    number: int
    quote: str
    sentence: Link | None
    claims: list[ClaimView]


def _site_relative(page_link: Link, base: str) -> Link:
    """The same link with a path-only URL when it points into this site (the article page holds
    thousands of links: absolute URLs alone would double its weight)."""
    if page_link.url and page_link.url.startswith(base):
        page_link.url = urlsplit(base).path + page_link.url[len(base):]
    return page_link


def render_article(store, settings, description) -> str:
    base = public_base()
    data = page_data.article(store, description.iri)
    if data is None or not data.text:
        return render_resource(store, settings, description)
    lab = data.labels

    def ln(value, is_iri=True, label=None):
        made = link(value, base, label or lab.get(value)) if is_iri else link(value, base, kind="literal")
        return _site_relative(made, base)

    spans = []
    shown_at: dict[str, str] = {}
    shown = set()         # a claim's facts are listed at its first piece of evidence; later ones link there
    for i, s in enumerate(data.spans, 1):
        claims = []
        for c in s.claims:
            asserter = ln(c.asserter) if c.asserter else None
            facts = [] if c.iri in shown else [FactView(ln(f.subject), ln(f.predicate), ln(f.object, f.object_is_iri))
                                                for f in c.facts]
            claims.append(ClaimView(ln(c.iri, label=curie(c.iri)), modality_key(c.modality),
                                    modality_sentence(c.modality, asserter.text if asserter else None) + c.qualifier_note,
                                    asserter, facts,
                                    ln(c.contribution, label="contributed") if c.contribution else None,
                                    first_shown=None if c.iri not in shown else shown_at[c.iri]))
            if c.iri not in shown:
                shown.add(c.iri)
                shown_at[c.iri] = s.key
        spans.append(SpanView(s.key, i, s.anchor, ln(s.sentence, label=curie(s.sentence)) if s.sentence else None,
                              claims))
    quiet = [(link(s.iri, base, f"sentence {s.number}" if s.number else curie(s.iri)), data.text[s.begin:s.end],
              s.no_facts_reason) for s in data.sentences if s.no_facts_reason]
    metadata = [(ln(p), ln(v, is_iri)) for p, v, is_iri in data.metadata if p != RDF_TYPE]
    return _page(
        "article.html", settings=settings, title=data.title or lab.get(data.iri) or "The article", iri=data.iri,
        self_link=link(data.iri, base), metadata=metadata, paragraphs=paragraphs(data.text, data.spans, data.sentences),
        spans=spans, quiet=quiet, sentence_count=len(data.sentences), picture_url=picture_url(base),
        alternates=alternates(data.iri, base), base=base,
        jsonld=script_json(_description_jsonld(description, outgoing_only=True)))


# --- the ontology page ------------------------------------------------------------------------------------

def render_ontology(store, settings, description) -> str:
    base = public_base()
    data = page_data.ontology(store)
    lab = data.labels

    def ln(value):
        if value in data.terms:
            return Link(data.terms[value].label or curie(value), "#" + data.terms[value].anchor, value, ours=True)
        return link(value, base, lab.get(value))

    prose = ("http://purl.org/dc/terms/description", page_data.RDFS + "comment")
    lead = [v for p in prose for q, v, is_iri in data.metadata if q == p and not is_iri]
    metadata = [(ln(p), ln(v) if is_iri else link(v, base, kind="literal")) for p, v, is_iri in data.metadata
                if p not in prose]
    examples = [(e, query_url(base, example=e.name), query_url(base, query=e.query, format="csv"),
                 query_url(base, query=e.query, format="json")) for e in page_data.examples()]
    title = next((v.text for p, v in metadata if p.value.endswith(("/title", "#label"))), "The Entente ontology")
    return _page(
        "ontology.html", settings=settings, title=title, iri=data.iri, self_link=link(data.iri, base),
        data=data, metadata=metadata, lead=lead, ln=ln, examples=examples, wikidata_page=wikidata_page,
        web_link=lambda iri: href(iri, base),
        wikidata_id=wikidata_id, curie=curie, alternates=alternates(data.iri, base),
        jsonld=script_json(_description_jsonld(description)), base=base)


def query_url(base: str, **params) -> str:
    return base + "sparql?" + urlencode({k: v for k, v in params.items() if v is not None})


def render_html(store, settings, description) -> str:
    """The HTML twin of a described resource: the article page, the ontology page or a resource page."""
    if description.iri == iris.ARTICLE:
        return render_article(store, settings, description)
    if description.iri in (iris.ONTOLOGY, iris.ONTOLOGY_VERSION):
        return render_ontology(store, settings, description)
    return render_resource(store, settings, description)


# --- the query page ---------------------------------------------------------------------------------------

def render_query_page(settings) -> str:
    """The query page: YASGUI (served from /static/vendor) with the competency questions as examples."""
    base = public_base()
    examples = page_data.examples()
    chosen = request.args.get("example") if request else None
    chosen = chosen if any(e.name == chosen for e in examples) else None
    edit = request.args.get("edit") if request else None     # a query handed over by another page
    service = {"@id": base + "sparql", "@type": ["http://www.w3.org/ns/sparql-service-description#Service"],
               "http://www.w3.org/ns/sparql-service-description#endpoint": [{"@id": base + "sparql"}],
               "http://purl.org/dc/terms/license": [{"@id": settings.license}]}
    config = {"endpoint": base + "sparql", "base": iris.BASE, "publicBase": base,
              "examples": [{"name": e.name, "title": e.title, "query": e.query} for e in examples],
              "chosen": chosen, "edit": edit,
              "formats": {"results": [[f.name, f.name.upper()] for f in formats.RESULTS],
                          "graph": [[f.name, f.name] for f in formats.GRAPHS]}}
    return _page("query.html", settings=settings, title="Query Entente with SPARQL", examples=examples,
                 chosen=chosen, edit=edit, config=script_json(config), endpoint=base + "sparql",
                 result_formats=formats.RESULTS, graph_formats=formats.GRAPHS,
                 alternates=[(f.media_type, base + "void." + f.extension, f.name) for f in formats.GRAPHS],
                 jsonld=script_json([service]), base=base, yasgui=True)


# --- routes ------------------------------------------------------------------------------------------------

@bp.get("/")
def home():
    from ..store import get_store

    store = get_store()
    config = settings()
    base = public_base()
    counts = page_data.counts(store)
    dataset = {"@id": iris.DATASET, "@type": ["http://rdfs.org/ns/void#Dataset"],
               "http://rdfs.org/ns/void#triples": [{"@value": counts["triples"]}],
               "http://rdfs.org/ns/void#sparqlEndpoint": [{"@id": base + "sparql"}],
               "http://purl.org/dc/terms/license": [{"@id": config.license}]}
    dumps: dict[str, list] = {}      # what a dump holds → its files, in the table's order
    for d in dump_files.DUMPS:
        dumps.setdefault(d.description, []).append((d.name, f"{base}dumps/{d.name}"))
    return _page("home.html", title="Entente", counts=counts, base=base, picture_url=picture_url(base),
                 article_url=href(iris.ARTICLE, base), ontology_url=href(iris.ONTOLOGY, base),
                 dumps=list(dumps.items()), alternates=[(f.media_type, base + "void." + f.extension, f.name) for f in formats.GRAPHS],
                 jsonld=script_json([dataset]), writes=auth.writes_enabled(),
                 exports=[(base + e.path.lstrip("/"), e.title) for e in EXPORTS])


SEARCH_MAX = 200   # characters of a name to search for


@bp.get("/search")
def search():
    """Entities by any of their names: the canonical one, the article's forms, abbreviations."""
    from ..store import get_store

    base = public_base()
    text = (request.args.get("q") or "").strip()
    if len(text) > SEARCH_MAX:
        raise BadRequest(f"'q' is {len(text)} characters long; search for a name of at most {SEARCH_MAX}.",
                         where="q")
    matches = page_data.find_by_name(get_store(), text) if text else []
    results = [(link(m.iri, base, m.label), [n for n in m.names if n != m.label], m.exact) for m in matches]
    return _page("search.html", title=f"Search: {text}" if text else "Search", base=base, q=text,
                 results=results, jsonld=script_json([]))


@bp.get("/docs/<name>")
def docs(name: str):
    """The project's documentation (docs/*.md), as Markdown text, so pages can link to it."""
    import re

    from .. import resources

    path = resources.DOCS / name
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.md", name) or not path.is_file():
        raise NotFound(f"No document {name!r}; the documents are listed at {public_base()}docs/")
    return Response(path.read_bytes(), content_type="text/markdown; charset=utf-8")


@bp.get("/docs/")
def docs_index():
    from .. import resources

    names = sorted(p.name for p in resources.DOCS.glob("*.md"))
    base = public_base()
    return Response("".join(f"{base}docs/{n}\n" for n in names), content_type="text/plain; charset=utf-8")


@bp.get("/article")
def article():
    return see_other(href(iris.ARTICLE, public_base()))


@bp.get("/picture.svg")
def picture_svg():
    from ..store import get_store

    base = public_base()
    about = request.args.get("about")
    if about is not None:
        about = iris.from_public(about, base.rstrip("/"))
        if not about.startswith(iris.BASE) or re.search(r'[\x00-\x20<>"{}|^`\\]', about):
            raise BadRequest("'about' must be one of this dataset's IRIs, e.g. "
                             f"{iris.ID}iran or {base}id/iran.", where="about")
    svg = picture.picture(get_store(), base, about)
    response = Response(svg, mimetype=picture.MEDIA_TYPE)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.after_app_request
def _content_security_policy(response):
    """Defence in depth for every HTML page: scripts only from this server (the query page's files)."""
    if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "object-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
    return response

