"""The words Entente uses for its own vocabulary: how each modality and qualifier is said (in pages,
documents and pictures), how a picture draws a modality, and which of several labels of a thing is shown.

One table, so that a page, a resource description and a graph picture never word a modality differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import iris


@dataclass(frozen=True)
class Modality:
    label: str        # short: "reported by" (a legend, a document's evidence, a picture's tooltip)
    sentence: str     # with who asserts it: "reported by {who}"
    line: str         # how a picture draws its edges: solid, dashed or dotted


# ent:<key> → its wording, in the order the pages list them.
MODALITIES = {
    "ArticleVoice": Modality("the article says", "the article says", "solid"),
    "DirectQuote": Modality("quoted", "quoted: {who} said this", "dashed"),
    "IndirectSpeech": Modality("said (paraphrased)", "said by {who} (paraphrased)", "dashed"),
    "ReportedClaim": Modality("reported by", "reported by {who}", "dashed"),
    "Hedged": Modality("hedged (reportedly / speculation)", "hedged (reportedly / speculation)", "dotted"),
}


# What a reader must not miss beside the modality: a denial, a hedge, a future or a condition. Affirmed,
# certain, past and ongoing say nothing more than the plain statement, so they add no word.
QUALIFIER_WORDS = {
    iris.ENT + "Negated": "denied",
    iris.ENT + "Probable": "probable",
    iris.ENT + "Possible": "possible",
    iris.ENT + "Future": "intended or future",
    iris.ENT + "Hypothetical": "conditional",
}
QUALIFIERS = (iris.ENT + "polarity", iris.ENT + "certainty", iris.ENT + "timeReference")


def local_name(iri: str) -> str:
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def modality_key(iri: str | None) -> str:
    """'ReportedClaim' for ent:ReportedClaim; '' for anything that is not one of Entente's modalities."""
    name = local_name(iri) if iri else ""
    return name if name in MODALITIES else ""


def modality_sentence(iri: str | None, who: str | None, fallback: str | None = None) -> str:
    """How a page says a statement is asserted: 'reported by U.S. Congressional reports'."""
    key = modality_key(iri)
    if not key:
        return fallback or "asserted"
    return MODALITIES[key].sentence.format(who=who or "someone")


def best_label(literals) -> str | None:
    """The label to show among several literals: English first, then untagged, then any (ties: the
    first in code point order)."""
    def rank(lit):
        lang = (getattr(lit, "language", None) or "").lower()
        return (0 if lang.startswith("en") else 1 if not lang else 2, lit.value)
    return min(literals, key=rank).value if literals else None
