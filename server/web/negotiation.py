"""Content negotiation: an Accept header and a list of candidate formats give one format, or a 406.

Follows RFC 9110 §12.5.1: the most specific matching range sets a type's quality; q=0 excludes;
ties go to the candidate listed first (the server's preference).
"""

from __future__ import annotations

from ..errors import NotAcceptable
from ..formats import Format


def parse_accept(header: str | None) -> list[tuple[str, str, float]]:
    """[(type, subtype, q)]; unparseable parts are skipped, an empty header means */*."""
    if not header or not header.strip():
        return [("*", "*", 1.0)]
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        main, _, sub = media.partition("/")
        if not main or not sub:
            continue
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value.strip())))
                except ValueError:
                    q = 0.0
        ranges.append((main, sub, q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, str, float]]) -> tuple[float, int]:
    """The q of the most specific range matching media_type, and that specificity (0 = no match)."""
    main, _, sub = media_type.partition("/")
    best = (0.0, 0)
    for rmain, rsub, q in ranges:
        if rmain == main and rsub == sub:
            spec = 3
        elif rmain == main and rsub == "*":
            spec = 2
        elif rmain == "*" and rsub == "*":
            spec = 1
        else:
            continue
        if spec > best[1]:
            best = (q, spec)
    return best


_DECIDED: dict = {}       # (Accept, candidates, default) -> Format or the 406 message; clients repeat their headers


def negotiate(accept: str | None, candidates: tuple[Format, ...], default: Format | None = None) -> Format:
    """The best candidate for `accept`; `default` wins ties with */*; raises NotAcceptable (406)."""
    key = (accept, tuple(map(id, candidates)), id(default))
    decided = _DECIDED.get(key)
    if decided is None:
        try:
            decided = _negotiate(accept, candidates, default)
        except NotAcceptable as e:
            decided = e.message
        if len(_DECIDED) > 1024:             # bounded: headers are client-chosen
            _DECIDED.clear()
        _DECIDED[key] = decided
    if isinstance(decided, str):
        raise NotAcceptable(decided)
    return decided


def _negotiate(accept: str | None, candidates: tuple[Format, ...], default: Format | None) -> Format:
    ranges = parse_accept(accept)
    if not ranges:
        ranges = [("*", "*", 1.0)]
    ordered = list(candidates)
    if default is not None and default in ordered:
        ordered.remove(default)
        ordered.insert(0, default)
    best: tuple | None = None
    chosen: Format | None = None
    for index, fmt in enumerate(ordered):
        # A format's quality comes from the most specific range naming any of its media types, so
        # `application/json;q=0` excludes JSON even when `*/*` would match it.
        matches = [(spec, q, mt == fmt.media_type)
                   for mt in fmt.media_types for q, spec in [_quality(mt, ranges)] if spec > 0]
        if not matches:
            continue
        spec, q, canonical = max(matches)
        if q <= 0:
            continue
        # Higher q first; for equal q an explicitly named type beats a wildcard, a format's own media
        # type beats an alias (text/* picks text/csv, not text/xml), then the server's order.
        key = (q, spec, canonical, -index)
        if best is None or key > best:
            best, chosen = key, fmt
    if chosen is None:
        offered = ", ".join(f.media_type for f in candidates)
        raise NotAcceptable(f"None of the types in the Accept header ({accept!r}) can be served here. "
                            f"Acceptable: {offered}.")
    return chosen
