"""A synthetic news graph shaped like Entente's data, of about N triples, the same for the same seed.

Shape (as in data/): articles whose sentences are NIF strings in graph:article; entities (people,
organizations, states, cities) with English labels, some French ones, and a partOf tree; claims, each
a named graph holding one or two facts, described in graph:claims by who asserts it, its modality,
the article it is reported in and one or two evidence spans (anchorOf, begin/end index, sentence).
Entity popularity is skewed (rank^-0.8), so some entities sit in many claims, as Iran does in the article.

    python benchmarks/generate.py --triples 1000000 --seed 1 > synthetic.trig
"""

from __future__ import annotations

import argparse
import random
import sys
from bisect import bisect
from itertools import accumulate

PREFIXES = """@prefix ent: <https://w3id.org/entente/ontology#> .
@prefix id: <https://w3id.org/entente/id/> .
@prefix claim: <https://w3id.org/entente/claim/> .
@prefix span: <https://w3id.org/entente/span/> .
@prefix sentence: <https://w3id.org/entente/sentence/> .
@prefix graph: <https://w3id.org/entente/graph/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .
"""
TYPES = ("ent:Person", "ent:Organization", "ent:SovereignState", "ent:City", "ent:GovernmentBody")
FACTS = ("ent:finances", "ent:backs", "ent:opposes", "ent:allyOf", "ent:friendlyWith", "ent:leads",
         "ent:basedIn", "ent:affiliatedWith", "ent:reliesOn", "ent:governs")
MODALITIES = (("ent:ArticleVoice", 0.8), ("ent:IndirectSpeech", 0.08), ("ent:DirectQuote", 0.07),
              ("ent:Hedged", 0.03), ("ent:ReportedClaim", 0.02))
SYLLABLES = ("ka", "ro", "mi", "ta", "ve", "lun", "sar", "dor", "bel", "nik", "os", "zan", "quel", "tri", "fa")
SENTENCES_PER_ARTICLE = 40
TRIPLES_PER_CLAIM = 16.6      # on average, with the entities and sentences that go with a claim
# The benchmark's queries name these; they exist at every size.
TARGET = "https://w3id.org/entente/id/g-e3"
WORD = "kestrel"


def name(rng: random.Random, n: int) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return f"{word.capitalize()} {WORD if n % 97 == 3 else rng.choice(SYLLABLES)}{n}"


def generate(triples: int, seed: int = 1, out=sys.stdout) -> int:
    """Write TriG of about `triples` triples to `out`; return the exact count."""
    rng = random.Random(seed)
    n_claims = max(10, int(triples / TRIPLES_PER_CLAIM))
    n_entities = max(10, n_claims // 4)
    n_articles = max(1, n_claims // 100)
    cumulative = list(accumulate(1 / (r + 1) ** 0.8 for r in range(n_entities)))

    def entity() -> int:
        return bisect(cumulative, rng.random() * cumulative[-1])

    count = 0
    w = out.write
    w(PREFIXES)
    w("\ngraph:entities {\n")
    for e in range(n_entities):
        label = name(rng, e)
        w(f'id:g-e{e} a {TYPES[e % len(TYPES)]} ; rdfs:label "{label}"@en')
        count += 2
        if e % 3 == 0:
            w(f' , "{label} (fr)"@fr')
            count += 1
        if e >= 3:
            w(f" ; ent:partOf id:g-e{(e - 1) // 3}")      # a tree: e3's descendants are a third of all
            count += 1
        w(" .\n")
    w("}\n\ngraph:article {\n")
    for a in range(n_articles):
        w(f'id:g-article{a} a ent:NewsArticle ; rdfs:label "Synthetic article {a}"@en .\n')
        count += 2
        for s in range(SENTENCES_PER_ARTICLE):
            begin = s * 200
            w(f'sentence:g{a}-{s} a nif:Sentence ; nif:referenceContext id:g-article{a} ; '
              f'nif:beginIndex "{begin}"^^xsd:nonNegativeInteger ; nif:endIndex "{begin + 180}"^^xsd:nonNegativeInteger ; '
              f'nif:anchorOf "Sentence {s} of synthetic article {a}." .\n')
            count += 5
    w("}\n")
    modalities, weights = zip(*MODALITIES)
    for c in range(n_claims):
        subject = entity()
        facts = [(subject, rng.choice(FACTS), entity()) for _ in range(1 if rng.random() < 0.7 else 2)]
        w(f"\nclaim:g{c} {{\n")
        for s, p, o in facts:
            w(f"  id:g-e{s} {p} id:g-e{o} .\n")
        article = rng.randrange(n_articles)
        asserter = entity() if rng.random() < 0.2 else None
        modality = rng.choices(modalities, weights)[0] if asserter is not None else "ent:ArticleVoice"
        spans = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            s = rng.randrange(SENTENCES_PER_ARTICLE)
            begin = s * 200 + rng.randrange(150)
            spans.append((f"span:g{article}-{begin}-{begin + 20}", s, begin))
        w(f"}}\ngraph:claims {{\n  claim:g{c} a ent:Claim ; ent:modality {modality} ; "
          f"ent:assertedBy {f'id:g-e{asserter}' if asserter is not None else f'id:g-article{article}'} ; "
          f"ent:reportedIn id:g-article{article} ; ent:evidence {' , '.join(iri for iri, _, _ in spans)} .\n")
        count += len(facts) + 4 + len(spans)
        for iri, s, begin in spans:
            w(f'  {iri} a ent:EvidenceSpan ; nif:anchorOf "words {begin} of article {article}" ; '
              f'nif:beginIndex "{begin}"^^xsd:nonNegativeInteger ; nif:endIndex "{begin + 20}"^^xsd:nonNegativeInteger ; '
              f"nif:referenceContext id:g-article{article} ; ent:inSentence sentence:g{article}-{s} .\n")
            count += 6
        w("}\n")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = generate(args.triples, args.seed)
    print(f"generated about {n} triples", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
