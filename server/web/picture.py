"""Graph pictures: who relates to whom, drawn by Graphviz `dot` as SVG.

Edges are labelled by the relation and styled by who asserts it: the article's own voice solid,
quoted / paraphrased / reported claims dashed, hedged ones dotted. Nodes and edges link to their
pages on this server. The DOT text is built only from store data, with every label escaped for
DOT (dot then escapes it again for XML), and `dot` runs with a timeout. Pictures are cached per
store version, so a write to the store redraws them.
"""

from __future__ import annotations

import html
import re
import subprocess
import threading
from collections import OrderedDict

from ..graph import describe, iris, page_data, vocab
from ..errors import ServiceUnavailable

MEDIA_TYPE = "image/svg+xml"
DOT_TIMEOUT = 20.0
STRENGTH = {"solid": 0, "dashed": 1, "dotted": 2}
# constant markup for the legend node (DOT HTML-like label); no data goes into it
LEGEND_ROWS = [("────", "the article says"), ("– – –", "quoted, paraphrased or reported"), ("· · · · ·", "hedged")]

_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()
CACHE_SIZE = 64


def quote(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped (so \\N, \\G… are not expanded), one line."""
    text = " ".join(str(text).split())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Characters XML 1.0 does not allow even as references (C0 controls but tab/newline/CR, surrogates, U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: str) -> str:
    """A label or tooltip as a DOT string whose SVG is well-formed: dot reads `&…;` as an entity (so
    `&#1;` would become a character XML forbids), so `&` is escaped, and forbidden characters become U+FFFD."""
    return quote(_NOT_XML.sub("\ufffd", str(value)).replace("&", "&amp;"))


def _url(iri: str, public_url: str) -> str | None:
    """The link of a node or edge, XML-escaped: dot copies URL= into the SVG's xlink:href as it is (it
    escapes labels and tooltips, not URLs), so a `"` would end the attribute."""
    url = iris.to_public(iri, public_url)
    if not url.startswith(("http://", "https://")):
        return None
    if url != iri and "#" not in url:        # ours: link to the HTML twin directly
        url += ".html"
    return html.escape(url, quote=True)


def dot_source(relations, labels: dict[str, str], symmetric: set[str], public_url: str,
               focus: str | None = None) -> str:
    """The DOT text for `relations` (page_data.Relation): one edge per (subject, object, style), labelled
    with its relations; a symmetric relation is drawn once, without arrowhead."""
    def name(i):
        return labels.get(i) or vocab.local_name(i)

    edges: dict[tuple, dict] = {}
    for r in relations:
        s, o = r.subject, r.object
        sym = r.predicate in symmetric
        if sym and o < s:
            s, o = o, s
        key = vocab.modality_key(r.modality)
        style = vocab.MODALITIES[key].line if key else "solid"
        edge = edges.setdefault((s, r.predicate, o), {"style": style, "claims": [], "sym": sym})
        if STRENGTH[style] < STRENGTH[edge["style"]]:
            edge["style"] = style
        how = vocab.MODALITIES[key].label if key else ""
        who = name(r.asserter) if r.asserter else ""
        edge["claims"].append((r.claim, f"{how} {who}".strip() if how == "reported by" or not how else
                               f"{how} ({who})" if who else how))

    nodes = sorted({k[0] for k in edges} | {k[2] for k in edges} | ({focus} if focus else set()))
    ids = {iri: f"n{i}" for i, iri in enumerate(nodes)}
    # around one entity: a radial layout with the entity at the centre; the whole article: left to right
    layout = (f'layout=twopi, root={ids[focus]}, overlap=prism, splines=true, ranksep=2.2, sep="+8"' if focus
              else 'layout=dot, rankdir=LR, nodesep=0.3')
    lines = ["digraph entente {",
             f'  graph [{layout}, fontname="Helvetica", fontsize=11, bgcolor="white", pad=0.2];',
             '  node [shape=box, style="rounded,filled", fillcolor="#f3f6fb", color="#8aa0bf", '
             'fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#4a5a70", fontcolor="#33404f"];']
    for iri in nodes:
        attrs = [f"label={text(name(iri))}", f"tooltip={text(name(iri) + ' — ' + iri)}"]
        url = _url(iri, public_url)
        if url:
            attrs += [f"URL={quote(url)}", 'target="_top"']
        if iri == focus:
            attrs += ['fillcolor="#ffe9a8"', 'color="#b58900"', "penwidth=2"]
        lines.append(f"  {ids[iri]} [{', '.join(attrs)}];")
    # relations between the same two nodes drawn the same way share one edge (labels one per line)
    bundles: dict[tuple, list] = {}
    for (s, p, o), edge in sorted(edges.items()):
        bundles.setdefault((s, o, edge["style"], edge["sym"]), []).append((p, edge))
    for (s, o, style, sym), members in sorted(bundles.items()):
        rels = [name(p) for p, _ in members]
        tip = "; ".join(f"{name(s)} {name(p)} {name(o)}: " + ", ".join(sorted({how for _, how in e['claims']}))
                        for p, e in members)
        attrs = [f"label={text(' / '.join(rels))}", f"style={style}", f"tooltip={text(tip)}",
                 f"labeltooltip={text(tip)}"]
        url = _url(sorted(members[0][1]["claims"])[0][0], public_url)
        if url:
            attrs += [f"URL={quote(url)}", 'target="_top"']
        if sym:
            attrs.append("dir=none")
        lines.append(f"  {ids[s]} -> {ids[o]} [{', '.join(attrs)}];")
    rows = "".join(f'<tr><td>{sample}</td><td align="left">{text}</td></tr>' for sample, text in LEGEND_ROWS)
    lines.append('  legend [shape=plaintext, style="", fontsize=9, label=<<table border="1" color="#cccccc" '
                 'cellborder="0" cellspacing="2"><tr><td colspan="2"><b>who asserts it</b></td></tr>'
                 + rows + '</table>>];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str) -> bytes:
    try:
        result = subprocess.run(["dot", "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                                timeout=DOT_TIMEOUT, check=False)
    except FileNotFoundError as e:
        raise ServiceUnavailable("Graphviz `dot` is not installed here; scripts/setup.sh installs it.") from e
    except subprocess.TimeoutExpired as e:
        raise ServiceUnavailable(f"Drawing the picture took longer than {DOT_TIMEOUT:.0f} s.") from e
    if result.returncode != 0:
        raise ServiceUnavailable("Graphviz could not draw the picture: "
                                 + result.stderr.decode("utf-8", "replace").strip()[:300])
    return fit(result.stdout)


def fit(svg: bytes) -> bytes:
    """Scale the drawing to whatever box shows it, whole and centred (Graphviz gives a fixed size in pt,
    which a page could only show in a scrolling frame, most of it off-screen)."""
    return re.sub(rb'<svg width="[0-9.]+pt" height="[0-9.]+pt"',
                  b'<svg width="100%" height="100%" preserveAspectRatio="xMidYMid meet"', svg, count=1)


def picture(store, public_url: str, focus: str | None = None) -> bytes:
    """SVG of the whole article's actors (focus None) or of everything around `focus`; cached per store version."""
    key = (store.version, public_url, focus)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    relations = page_data.relations(store, focus)
    wanted = {i for r in relations for i in (r.subject, r.predicate, r.object, r.asserter) if i}
    if focus:
        wanted.add(focus)
    svg = render_svg(dot_source(relations, describe.labels_of(store, wanted), page_data.symmetric_properties(store),
                                public_url, focus))
    with _lock:
        _cache[key] = svg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return svg
