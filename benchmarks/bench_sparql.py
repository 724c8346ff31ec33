"""Entente against Oxigraph's server, Virtuoso and rdflib-endpoint, side by side, in one run.

For each dataset (the built one, and generated graphs of the same shape at the sizes asked for), each
server is started on it in turn (its load time measured, wall clock and CPU), every query is asked once
to count its rows (the counts are compared between servers), then driven by `wrk` with keep-alive at each number of
connections; after its runs the server's memory (RSS and PSS of its whole process tree, and for Entente
of each worker with its query processes, against Oxigraph's server as the engine's own) is read. The
tables give requests/s, p50 and p99 latency and the ratio Entente ÷ each peer (above 1: Entente is
faster). Nothing asserts a time: these are figures to read (see docs/benchmarks.md).

    bash benchmarks/peers.sh                       # the peers' own virtualenv (oxigraph, rdflib-endpoint)
    .venv/bin/entente build                        # build/entente.trig, the real dataset
    .venv/bin/python benchmarks/bench_sparql.py --sizes real,3000,1000000 --duration 5
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402
import servers  # noqa: E402

ROOT = servers.ROOT
ACCEPT = "application/sparql-results+json"
PREFIXES = """PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
# The fixed mix. {target} is a well-connected entity and {word} a word in some labels of the dataset.
MIX = {
    "describe": "SELECT ?p ?o WHERE { <{target}> ?p ?o }",
    "two-hop": "SELECT ?x ?p ?y WHERE { ?x ent:partOf <{target}> . ?x ?p ?y }",
    "label-search": 'SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(CONTAINS(LCASE(STR(?label)), "{word}")) }',
    "group-by": "SELECT ?m (COUNT(?c) AS ?n) WHERE { ?c a ent:Claim ; ent:modality ?m } GROUP BY ?m ORDER BY ?m",
    "optional-lang": """SELECT ?x ?en ?fr WHERE { ?x ent:partOf <{target}> .
        OPTIONAL { ?x rdfs:label ?en FILTER(LANG(?en) = "en") }
        OPTIONAL { ?x rdfs:label ?fr FILTER(LANG(?fr) = "fr") } }""",
    "property-path": "SELECT DISTINCT ?x WHERE { ?x (ent:partOf|ent:governs)+ <{target}> }",
    "provenance": """SELECT ?claim ?p ?o ?who ?modality ?quote ?begin WHERE {
        GRAPH ?claim { <{target}> ?p ?o }
        ?claim a ent:Claim ; ent:assertedBy ?who ; ent:modality ?modality ; ent:evidence ?span .
        ?span nif:anchorOf ?quote ; nif:beginIndex ?begin }""",
}
REAL = {"target": "https://w3id.org/entente/id/iran", "word": "iran"}
GENERATED = {"target": generate.TARGET, "word": generate.WORD}


def competency_questions() -> dict[str, str]:
    return {f"cq{p.name[2:4]}": p.read_text(encoding="utf-8")
            for p in sorted((ROOT / "docs" / "competency").glob("cq*.rq"))}


def queries_for(dataset: str, which: list[str], cq_everywhere: bool) -> dict[str, str]:
    values = REAL if dataset == "real" else GENERATED
    chosen = {name: PREFIXES + text.replace("{target}", values["target"]).replace("{word}", values["word"])
              for name, text in MIX.items()}
    if dataset == "real" or cq_everywhere:
        chosen.update(competency_questions())
    if which != ["all"]:
        wanted = set(which)
        chosen = {n: q for n, q in chosen.items() if n in wanted or ("mix" in wanted and n in MIX)
                  or ("cq" in wanted and n.startswith("cq"))}
    return chosen


def count_rows(url: str, query: str, timeout: float) -> tuple[int, float]:
    """(rows, seconds) of one answer; an ASK answer counts as one row."""
    t = time.perf_counter()
    r = requests.get(url, params={"query": query}, headers={"Accept": ACCEPT}, timeout=timeout)
    seconds = time.perf_counter() - t
    if r.status_code != 200:
        raise ValueError(f"HTTP {r.status_code}: {' '.join(r.text.split())[:160]}")
    data = r.json()
    return (1 if "boolean" in data else len(data["results"]["bindings"])), seconds


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else math.nan


def drive(url: str, query: str, connections: int, duration: float, timeout: float) -> dict:
    """wrk with keep-alive: requests/s, p50 and p99 latency (ms), and how many answers were not 2xx."""
    target = url + ("&" if "?" in url else "?") + "query=" + urllib.parse.quote(query, safe="")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(duration))}s", f"--timeout={timeout:g}s",
                          "--latency", "-H", f"Accept: {ACCEPT}", target],
                         capture_output=True, text=True, timeout=duration + timeout + 30)
    text = out.stdout
    figures = {"rps": math.nan, "p50": math.nan, "p99": math.nan, "bad": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        figures["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", text):
        figures["requests"] = int(m.group(1))
    for pct in ("50", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M):
            figures[f"p{pct}"] = _ms(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        figures["bad"] += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        figures["bad"] += int(m.group(1)) + int(m.group(3)) + int(m.group(4))
    if out.returncode != 0 or math.isnan(figures["rps"]):
        figures["error"] = (out.stderr or text).strip()[-200:]
    return figures


def settle(url: str, limit: float = 120) -> None:
    """Wait until the server has worked off what wrk left queued (requests it accepted before wrk
    stopped): three quick answers in a row to a trivial query, so one query's backlog does not slow
    the next one's figures."""
    deadline, quick, asked = time.perf_counter() + limit, 0, 0
    while quick < 3 and time.perf_counter() < deadline:
        t = time.perf_counter()
        asked += 1
        try:   # a new text each time (a comment), so no cache answers it: it waits behind the backlog
            requests.get(url, params={"query": f"ASK {{}} # settle {time.time_ns()} {asked}"},
                         headers={"Accept": ACCEPT}, timeout=limit)
        except requests.RequestException:
            pass
        quick = quick + 1 if time.perf_counter() - t < 0.25 else 0


def measure(name: str, dataset: Path, work: Path, queries: dict, args) -> dict:
    server_work = work / name
    server_work.mkdir()
    result = {"queries": {}}
    waited = _children_cpu_seconds()
    try:
        server = servers.STARTERS[name](dataset, server_work, args.timeout)
    except Exception as e:  # noqa: BLE001 — a peer that cannot start is reported, the others still run
        print(f"  {name}: did not start: {e}", flush=True)
        result["error"] = str(e)[:200]
        return result
    result["load_s"] = server.load_s
    # CPU seconds of the start-up: the server's processes so far, and the tools the starter ran and waited
    # for (`oxigraph load`, isql). On a busy machine this holds up better than the wall-clock time.
    result["load_cpu_s"] = server.cpu_seconds() + _children_cpu_seconds() - waited
    print(f"  {name}: up in {server.load_s:.1f} s ({result['load_cpu_s']:.1f} s of CPU)", flush=True)
    try:
        for qname, query in queries.items():
            entry = result["queries"][qname] = {}
            try:
                entry["rows"], first = count_rows(server.url, query, args.timeout)
            except (requests.RequestException, ValueError, KeyError) as e:
                entry["error"] = f"{type(e).__name__}: {str(e)[:120]}"
                print(f"  {name} {qname}: {entry['error']}", flush=True)
                continue
            if first > args.slow:
                entry["slow_s"] = first
                print(f"  {name} {qname}: {entry['rows']} rows, first answer {first:.1f} s: not driven", flush=True)
                continue
            for c in args.connections:
                cpu = server.cpu_seconds()
                entry[c] = drive(server.url, query, c, args.duration, args.timeout)
                settle(server.url)
                entry[c]["cpu_ms"] = 1000 * (server.cpu_seconds() - cpu) / max(1, entry[c].get("requests", 0))
            print(f"  {name} {qname}: {entry['rows']} rows, " + ", ".join(
                f"c={c} {entry[c]['rps']:.0f} req/s" for c in args.connections), flush=True)
        result["rss"], result["pss"] = server.memory_mib()
        result["workers"] = server.worker_memory_mib()
        result["disk"] = server.disk_mib()
    finally:
        server.stop()
    return result


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fmt_cell(entry: dict, c: int) -> str:
    if "error" in entry:
        return "error"
    if "slow_s" in entry:
        return f"first {entry['slow_s']:.1f} s"
    f = entry.get(c, {})
    if "error" in f or math.isnan(f.get("rps", math.nan)):
        return "error"
    bad = f" ({f['bad']} failed)" if f["bad"] else ""
    return f"{f['rps']:,.0f} ({f['p50']:.2f} / {f['p99']:.2f}; {f['cpu_ms']:.2f}){bad}"


def ratio(a: dict, b: dict, c: int) -> float:
    try:
        x, y = a[c]["rps"], b[c]["rps"]
    except KeyError:
        return math.nan
    return x / y if x > 0 and y > 0 and not (a[c]["bad"] or b[c]["bad"]) else math.nan


def report(title: str, results: dict, queries: dict, connections: list[int]) -> str:
    names = list(results)
    ours = [n for n in names if n.startswith("entente")]
    peers = [n for n in names if not n.startswith("entente")]
    pairs = [(e, p) for e in ours for p in peers]
    lines = [f"### {title}", "",
             "| server | load (s) | load CPU (s) | RSS (MiB) | PSS (MiB) | disk (MiB) |", "|---|---|---|---|---|---|"]
    for n in names:
        r = results[n]
        if "error" in r:
            lines.append(f"| {n} | did not start: {r['error'][:80]} | | | | |")
        else:
            lines.append(f"| {n} | {r['load_s']:.1f} | {r['load_cpu_s']:.1f} | {r.get('rss', math.nan):.0f} | {r.get('pss', math.nan):.0f} "
                         f"| {r.get('disk', math.nan):.1f} |")
    lines += per_worker(results)
    lines += ["", "req/s (p50 / p99 latency in ms; the server's CPU ms per request) with keep-alive; "
              "ratio = Entente's req/s ÷ the peer's (above 1: Entente faster).", "",
              "| query | rows | conns | " + " | ".join(names) + " | " + " | ".join(f"{e}÷{p}" for e, p in pairs) + " |",
              "|---" * (3 + len(names) + len(pairs)) + "|"]
    logs = {pair: [] for pair in pairs}
    for q in queries:
        entries = {n: results[n].get("queries", {}).get(q, {}) for n in names}
        rows = {n: e["rows"] for n, e in entries.items() if "rows" in e}
        rows_cell = str(next(iter(rows.values()))) if len(set(rows.values())) == 1 else \
            "differ: " + ", ".join(f"{n} {v}" for n, v in rows.items())
        for c in connections:
            ratios = []
            for e, p in pairs:
                value = ratio(entries[e], entries[p], c)
                if value > 0 and rows.get(p) == rows.get(e):      # (nan > 0 is False)
                    logs[(e, p)].append(math.log(value))
                ratios.append("—" if math.isnan(value) else f"{value:.2f}")
            lines.append(f"| {q} | {rows_cell if c == connections[0] else ''} | {c} | "
                         + " | ".join(fmt_cell(entries[n], c) for n in names) + " | " + " | ".join(ratios) + " |")
    lines.append("| geometric mean (same rows) | | | " + " | " * (len(names) - 1) + " | " + " | ".join(
        f"{math.exp(sum(v) / len(v)):.2f}" if v else "—" for v in logs.values()) + " |")
    return "\n".join(lines) + "\n"


def per_worker(results: dict) -> list[str]:
    """Issue 11's memory target, read off: each Entente worker with its query processes (the largest
    worker), against the engine's own memory (Oxigraph's server, the same engine, on the same data)."""
    ours = {n: r["workers"] for n, r in results.items() if r.get("workers")}
    if not ours:
        return []
    engine = results.get("oxigraph", {}).get("rss")
    lines = ["", "Memory per worker: the largest gunicorn worker with its query processes, after the runs; "
             "the engine's own is Oxigraph's server on the same data"
             + (f" ({engine:.0f} MiB RSS)." if engine else " (not run)."), "",
             "| server | workers | processes in the largest | RSS (MiB) | PSS (MiB) | USS (MiB) | RSS above the engine's own (MiB) |",
             "|---|---|---|---|---|---|---|"]
    for name, workers in ours.items():
        w = max(workers, key=lambda f: f["rss"])
        above = f"{w['rss'] - engine:+.0f}" if engine else "—"
        lines.append(f"| {name} | {len(workers)} | {w['processes']} | {w['rss']:.0f} | {w['pss']:.0f} | {w['uss']:.0f} "
                     f"| {above} |")
    return lines


def dataset_file(size: str, work: Path, seed: int) -> tuple[Path, str]:
    if size == "real":
        path = ROOT / "build" / "entente.trig"
        if not path.exists():
            raise SystemExit(f"{path} not found: run `.venv/bin/entente build` first")
        import pyoxigraph as ox

        n = len(set(ox.parse(path=str(path), format=ox.RdfFormat.TRIG)))
        return path, f"the real dataset (build/entente.trig), {n:,} triples"
    path = work / f"generated-{size}.trig"
    with open(path, "w", encoding="utf-8") as out:
        n = generate.generate(int(size), seed, out)
    return path, f"generated, {int(size):,} asked, {n:,} written (seed {seed})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="real,3000,1000000",
                        help="datasets: 'real' and/or triple counts of generated graphs")
    parser.add_argument("--peers", default="entente,entente-nocache,oxigraph,virtuoso,rdflib-endpoint")
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per query and connection count (whole)")
    parser.add_argument("--queries", default="all", help="all, mix, cq, or query names (comma-separated)")
    parser.add_argument("--cq-everywhere", action="store_true",
                        help="also run the competency questions on generated data (by default only on the real)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per answer")
    parser.add_argument("--slow", type=float, default=5, help="a query whose first answer takes longer is not driven")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args(argv)
    args.connections = [int(c) for c in args.connections.split(",")]
    peers = args.peers.split(",")
    unknown = [p for p in peers if p not in servers.STARTERS]
    if unknown:
        raise SystemExit(f"unknown server(s) {', '.join(unknown)}; choose from {', '.join(servers.STARTERS)}")
    command = "benchmarks/bench_sparql.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = [f"`{command}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
           f"load average {os.getloadavg()[0]:.1f} at the start\n"]
    with tempfile.TemporaryDirectory(prefix="entente-bench-") as tmp:
        for size in args.sizes.split(","):
            work = Path(tmp) / f"size-{size}"
            work.mkdir()
            path, described = dataset_file(size, work, args.seed)
            queries = queries_for(size, args.queries.split(","), args.cq_everywhere)
            print(f"dataset {size}: {described}; {len(queries)} queries", flush=True)
            results = {name: measure(name, path, work, queries, args) for name in peers}
            if args.markdown:          # the raw figures first, so that a failing report loses nothing
                import json

                args.markdown.with_suffix(f".{size}.json").write_text(json.dumps(results, indent=1, default=str))
            table = report(f"{described}", results, queries, args.connections)
            print("\n" + table, flush=True)
            out.append(table)
    if args.markdown:
        args.markdown.write_text("\n".join(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
