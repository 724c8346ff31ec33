"""The README's example queries give the answers the README shows, on the real data, over real HTTP.

Each example in README.md is a ```sparql block followed by a Markdown table of its answer. IRIs in the
table are written with the prefixes of server/graph/iris.py (`id:iran`), literals by their lexical form.
The queries order their answers, so the tables are compared row by row.
"""

from __future__ import annotations

import re
from pathlib import Path

import requests

from server.graph.iris import PREFIXES

ROOT = Path(__file__).resolve().parent.parent

# A sparql block, then (before any other code block) the table of its answer. Blocks with no table
# (the federated examples, which need the Internet) are shown but not run.
EXAMPLE = re.compile(r"```sparql\n(?P<query>(?:(?!```).)*?)```[ \t]*\n(?:(?!```)[^\n|]*\n)*?(?P<table>(?:\|[^\n]*\|\n)+)", re.S)


def examples() -> list[tuple[str, list[str], list[list[str]]]]:
    found = []
    for m in EXAMPLE.finditer((ROOT / "README.md").read_text(encoding="utf-8")):
        lines = [line.strip() for line in m["table"].strip().splitlines()]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
        found.append((m["query"], header, rows))
    return found


def compact(term: dict) -> str:
    value = term["value"]
    if term["type"] == "uri":
        for prefix, namespace in sorted(PREFIXES.items(), key=lambda p: -len(p[1])):
            if value.startswith(namespace):
                return f"{prefix}:{value[len(namespace):]}"
        return f"<{value}>"
    return value


def test_readme_has_at_least_five_examples_with_answers():
    found = examples()
    assert len(found) >= 5, f"README has {len(found)} example queries with answer tables"
    for query, header, rows in found:
        assert rows, f"an example has an empty answer table:\n{query}"


def test_readme_examples_give_the_answers_shown(server):
    for query, header, rows in examples():
        r = requests.post(server.url + "/sparql", data={"query": query},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert r.status_code == 200, f"{r.status_code} {r.text[:300]}\n{query}"
        result = r.json()
        assert result["head"]["vars"] == header, query
        got = [[compact(b[v]) if v in b else "" for v in header] for b in result["results"]["bindings"]]
        assert got == rows, f"README answer differs for:\n{query}\ngot:\n" + "\n".join(" | ".join(r) for r in got)
