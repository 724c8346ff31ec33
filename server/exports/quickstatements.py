"""QuickStatements (version 1 syntax): the claims Wikidata can take, each with a full reference.

A claim triple is exportable when its subject and object have verified Wikidata items (owl:sameAs in
the linkset, with a verification record) and its predicate a verified alignment to a Wikidata property
(`skos:closeMatch wdt:P…` with a record). Each (statement, evidence span) gives one line, so each
quotation is its own reference:

    Q794<TAB>P1344<TAB>Q178810<TAB>S854<TAB>"<article URL>"<TAB>S1683<TAB>en:"<exact span>"<TAB>S577<TAB>+2015-12-18T00:00:00Z/11
        <TAB>S813<TAB>+2026-12-06T00:00:00Z/11[<TAB>S123<TAB>Q… publisher, when the publisher has an item]

Which claims (docs/exports.md): by default only what the article asserts flatly — in its own voice,
not negated, certain (or unqualified), not future or hypothetical. `include_attributed` adds quoted,
paraphrased and reported claims (still not negated, certain, not future/hypothetical) with the
qualifier P3680 "statement supported by" = the speaker's item, so they are never the same as
article-voice facts; a speaker without a Wikidata item cannot be named, so such claims stay out.
Negated claims never become statements. Every claim left out is listed with the reason.

Property IDs used, each paired with its label by a public source (docs/exports.md lists them):
P854 reference URL, P1683 quotation, P577 publication date, P813 retrieved, P123 publisher,
P3680 statement supported by.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from ..graph import iris
from .dataset import Claim, Data

ENT = iris.ENT
WDT = iris.PREFIXES["wdt"]
ARTICLE_VOICE = ENT + "ArticleVoice"
ATTRIBUTED = {ENT + "DirectQuote", ENT + "IndirectSpeech", ENT + "ReportedClaim"}
REFERENCE_URL, QUOTATION, PUBLISHED, RETRIEVED, PUBLISHER = "S854", "S1683", "S577", "S813", "S123"
SUPPORTED_BY = "P3680"


@dataclass(frozen=True)
class Statement:
    """One exportable Wikidata statement with the evidence of one claim."""
    subject: str          # Q…
    property: str         # P…
    value: str            # Q…
    claim: str            # claim IRI
    triple: tuple         # (s, p, o) IRIs in Entente
    quotes: tuple         # the claim's evidence spans (Span)
    supported_by: str | None = None   # Q… of the speaker, for attributed claims


@dataclass
class Export:
    statements: list[Statement] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (claim IRI, reason)


def _flag(claim: Claim, predicate: str) -> set[str]:
    return {o.value for p, o in claim.qualifiers if p == ENT + predicate}


def why_not(claim: Claim, include_attributed: bool) -> str | None:
    """The reason a claim is not exported, or None."""
    if ENT + "Negated" in _flag(claim, "polarity"):
        return "negated: a negated claim is never a Wikidata statement"
    certainty = _flag(claim, "certainty")
    if certainty and certainty != {ENT + "Certain"}:
        return "not certain (" + ", ".join(sorted(c.rsplit("#", 1)[-1] for c in certainty)) + ")"
    if _flag(claim, "timeReference") & {ENT + "Future", ENT + "Hypothetical"}:
        return "future or hypothetical"
    if claim.modality == ARTICLE_VOICE:
        return None
    if claim.modality in ATTRIBUTED:
        return None if include_attributed else "attributed (quoted, paraphrased or reported): ask for include_attributed"
    return "hedged" if claim.modality == ENT + "Hedged" else f"modality {claim.modality}"


def statements(data: Data, include_attributed: bool = False) -> Export:
    out = Export()
    for claim in sorted(data.claims.values(), key=lambda c: c.iri):
        candidates = []
        for s, p, o in claim.triples:
            prop = data.alignments.get(p.value, "")
            if not prop.startswith(WDT) or not isinstance(o, ox.NamedNode):
                continue
            sq, oq = data.qid(s.value), data.qid(o.value)
            if sq and oq:
                candidates.append((sq, prop[len(WDT):], oq, (s.value, p.value, o.value)))
        if not candidates:
            continue
        reason = why_not(claim, include_attributed)
        speaker = None
        if reason is None and claim.modality != ARTICLE_VOICE:
            speaker = data.qid(claim.asserter) if claim.asserter else None
            if speaker is None:
                reason = f"attributed to {data.label(claim.asserter or '')}, who has no Wikidata item to name"
        if reason is None and not claim.spans:
            reason = "no evidence span to quote"
        if reason is not None:
            out.skipped.append((claim.iri, reason))
            continue
        for sq, pid, oq, triple in candidates:
            out.statements.append(Statement(sq, pid, oq, claim.iri, triple, tuple(claim.spans), speaker))
    return out


def _string(text: str) -> str:
    """A QuickStatements string: tabs and line breaks would end the field, so they are refused."""
    if any(c in text for c in "\t\r\n"):
        raise ValueError(f"cannot put a tab or line break in a QuickStatements string: {text[:60]!r}")
    return f'"{text}"'


def _day(lexical: str) -> str:
    return f"+{lexical[:10]}T00:00:00Z/11"


def lines(data: Data, export: Export) -> list[str]:
    """One QuickStatements V1 line (tab-separated) per (statement, evidence span)."""
    article = data.article
    if not article.address:
        raise ValueError("The article has no address (schema:url in graph:source): references need one (P854).")
    reference = [REFERENCE_URL, _string(article.address)]
    tail = []
    if article.published:
        tail += [PUBLISHED, _day(article.published)]
    if article.retrieved:
        tail += [RETRIEVED, _day(article.retrieved)]
    publisher = data.qid(article.publisher) if article.publisher else None
    if publisher:
        tail += [PUBLISHER, publisher]
    out = []
    for st in export.statements:
        head = [st.subject, st.property, st.value]
        if st.supported_by:
            head += [SUPPORTED_BY, st.supported_by]
        for span in st.quotes:
            if any(c in span.quote for c in "\t\r\n"):
                continue          # a quotation must be exact, and QuickStatements cannot carry a line break
            out.append("\t".join(head + reference + [QUOTATION, "en:" + _string(span.quote)] + tail))
    return out


def text(data: Data, include_attributed: bool = False) -> str:
    return "".join(line + "\n" for line in lines(data, statements(data, include_attributed)))
