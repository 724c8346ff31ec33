"""What the server needs to know about a query's or update's text before pyoxigraph runs it.

pyoxigraph parses and evaluates, but exposes no syntax tree, and two protocol features depend on the
text's top-level clauses:
- a query with its own FROM / FROM NAMED must not be widened to the union default graph
  (pyoxigraph's use_default_graph_as_union would override the FROM clauses);
- using-graph-uri / using-named-graph-uri (SPARQL 1.1 Protocol §2.2.3): pyoxigraph's update() takes
  no dataset, so the protocol's dataset is written into the update as `USING <g>` / `USING NAMED <g>`
  clauses before each top-level WHERE (where the Update grammar puts them); the protocol forbids the
  parameters when the update has its own USING or WITH (a 400).
A small lexer finds the top-level keywords: it skips strings, IRIs and comments and counts braces,
so nothing inside a group pattern or a literal is looked at. Syntax errors stay pyoxigraph's to report.
"""

from __future__ import annotations

import re

from ..errors import BadRequest

# IRIREF, with the \u / \U escapes the engine also reads there (else the lexer would read an escaped
# IRI as code, and a '#' in it as the start of a comment hiding the rest of the line)
_IRI = re.compile(r'<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>')
# the local part of a prefixed name, with its \-escapes (PN_LOCAL_ESC: `ex:a\(\#` is one name)
_LOCAL = re.compile(r"(?:\\.|[^\s{}();,\[\]\\])*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_ABSOLUTE_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^<>"{}|^`\\\x00-\x20]*')


MAX_NESTING = 1000     # deeper nesting overflows the parser's stack in the query process


def top_level_keywords(text: str) -> list[tuple[str, int]]:
    """(upper-cased word, offset) of every keyword outside braces, strings, IRIs and comments."""
    return _scan(text)[0]


_PNAME_NS = re.compile(r"(?:[A-Za-z][\w\-.]*)?:")


def graph_constants(text: str) -> list[tuple[int, int, int]] | None:
    """(offset of GRAPH, start, end) of every graph name written after GRAPH as an IRI or a prefixed name (not a
    variable), at any depth; None when one cannot be read (the caller then assumes the worst)."""
    found = []
    for word, offset in _scan(text, anywhere=True)[0]:
        if word != "GRAPH":
            continue
        i = offset + len(word)
        while i < len(text) and (text[i].isspace() or text[i] == "#"):
            i = i + 1 if text[i].isspace() else _skip_inert(text, i)
        if i >= len(text) or text[i] in "?${":
            continue
        m = _IRI.match(text, i) if text[i] == "<" else _PNAME_NS.match(text, i)
        if m is None:
            return None
        end = m.end() if text[i] == "<" else _LOCAL.match(text, m.end()).end()
        found.append((offset, i, end))
    return found


def nesting(text: str) -> tuple[int, int]:
    """The deepest nesting of (), [] and {} outside strings, IRIs and comments, and where it is reached
    (or, beyond MAX_NESTING, where that limit is first passed)."""
    return _scan(text)[1]


def _scan(text: str, anywhere: bool = False):
    """(keywords outside braces — or at any depth when `anywhere` —, (deepest nesting, where))."""
    words, depth, i, n = [], 0, 0, len(text)
    level, deepest = 0, (0, 0)
    while i < n:
        c = text[i]
        if c == "#" or c in "\"'":
            i = _skip_inert(text, i)
        elif c == "<":
            m = _IRI.match(text, i)
            if m is None:
                i += 1
                continue
            # `?a<=f(g(?x))&&?b>` looks like an IRI but may be code: its brackets count towards the
            # nesting (a ')' in it closes nothing, so an IRI never lowers the count)
            inner = level
            for j in range(i + 1, m.end() - 1) if "(" in m.group() or "[" in m.group() else ():
                if text[j] in "([":
                    inner += 1
                    deepest = _deeper(deepest, inner, j)
                elif text[j] in ")]":
                    inner -= 1
            level = max(level, inner)
            i = m.end()
        elif c in "{([":
            depth += c == "{"
            level += 1
            deepest = _deeper(deepest, level, i)
            i += 1
        elif c in "})]":
            depth -= c == "}"
            level -= 1
            i += 1
        elif c.isalpha() or c == "_":
            m = _WORD.match(text, i)
            end = m.end()
            if (anywhere or depth == 0) and (end >= n or text[end] != ":") and (i == 0 or text[i - 1] not in ":?$"):
                words.append((m.group().upper(), i))
            i = end
            while i < n and text[i] == ":":           # a prefixed name: skip its local part
                i = _LOCAL.match(text, i + 1).end()
        else:
            i += 1
    return words, deepest


def _deeper(deepest: tuple[int, int], level: int, offset: int) -> tuple[int, int]:
    """The deepest level so far, and the offset where MAX_NESTING is first passed (or the deepest is)."""
    if level <= deepest[0]:
        return deepest
    return (level, offset) if deepest[0] <= MAX_NESTING else (level, deepest[1])


def check_nesting(text: str) -> None:
    """BadRequest when a query or update nests deeper than the engine can parse."""
    depth, offset = nesting(text)
    if depth > MAX_NESTING:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise BadRequest(f"The request nests brackets and braces {depth} deep; this server parses at most "
                         f"{MAX_NESTING} levels.", where={"line": line, "column": column})


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = i + 3
        while True:
            end = text.find(quote * 3, end)
            if end < 0:
                return len(text)
            if text[end - 1] != "\\" or text[end - 2] == "\\":
                return end + 3
            end += 1
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote or text[j] == "\n":
            return j + 1
        j += 1
    return j


def has_dataset_clause(query: str) -> bool:
    """True if the query names its own dataset (FROM or FROM NAMED at the top level)."""
    return any(word == "FROM" for word, _ in top_level_keywords(query))


def apply_using(update: str, using: list[str], using_named: list[str]) -> str:
    """The update with the protocol's dataset as USING clauses; BadRequest on USING/WITH conflicts."""
    for name, values in (("using-graph-uri", using), ("using-named-graph-uri", using_named)):
        for value in values:       # written into the update's text: anything but an IRI could add operations
            if not _ABSOLUTE_IRI.fullmatch(value):
                raise BadRequest(f"{name} must be an absolute IRI, not {value!r}.", where=name)
    words = top_level_keywords(update)
    for word, offset in words:
        if word in ("USING", "WITH"):
            raise BadRequest(f"The update has its own {word} clause, so using-graph-uri and "
                             f"using-named-graph-uri must not be given (SPARQL 1.1 Protocol §2.2.3).",
                             where="using-graph-uri" if using else "using-named-graph-uri")
    clause = " ".join([f"USING <{g}>" for g in using] + [f"USING NAMED <{g}>" for g in using_named]) + " "
    out, last = [], 0
    previous, previous_end = None, 0
    for word, offset in words:
        shorthand = previous == "DELETE" and not update[previous_end:offset].strip()   # DELETE WHERE { … }
        if word == "WHERE" and not shorthand:
            out.append(update[last:offset])
            out.append(clause)
            last = offset
        previous, previous_end = word, offset + len(word)
    out.append(update[last:])
    return "".join(out)


def insert_data_as_template(update: str) -> str:
    """The update with every top-level `INSERT DATA { … }` written as `INSERT { … } WHERE {}`: the same
    operation (blank nodes are fresh either way), for engines that refuse blank nodes in INSERT DATA
    (Virtuoso 7)."""
    words = top_level_keywords(update)
    out, last = [], 0
    for (word, offset), (following, data_offset) in zip(words, words[1:]):
        if word != "INSERT" or following != "DATA" or update[offset + 6:data_offset].strip():
            continue
        start = update.find("{", data_offset + 4)
        end = _block_end(update, start) if start >= 0 else -1
        if end < 0:
            continue                    # unbalanced: leave it for the engine to report
        out += [update[last:data_offset], update[data_offset + 4:end], " WHERE {}"]
        last = end
    out.append(update[last:])
    return "".join(out)


def _block_end(text: str, start: int) -> int:
    """The offset just after the `}` that closes the `{` at `start` (-1 if it is never closed)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c in "{}":
            depth += 1 if c == "{" else -1
            if depth == 0:
                return i + 1
            i += 1
        elif c == "<":
            m = _IRI.match(text, i)
            i = m.end() if m else i + 1
        else:
            i = _skip_inert(text, i) if c == "#" or c in "\"'" else i + 1
    return -1


def _skip_inert(text: str, i: int) -> int:
    """The offset just after the comment (`#`) or string that starts at `i`."""
    if text[i] == "#":
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    return _skip_string(text, i)
