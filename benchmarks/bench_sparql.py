"""Benchmark Entente's SPARQL endpoint against its peers, side by side, on the same data and queries.

Peers (installed by benchmarks/peers.sh into their own virtualenv):
  * oxigraph      — Oxigraph's own HTTP server (same engine and version as our pyoxigraph), read-only,
                    --union-default-graph so that it answers the same queries the same way;
  * rdflib-endpoint — rdflib's SPARQL evaluator behind FastAPI/uvicorn.
Entente runs as users run it: `entente serve` (gunicorn, its default workers, per-query process isolation).

Data: the built dataset (build/entente.trig) and, with --scale N, the same plus N synthetic claims shaped
like the article's (a claim graph with one fact, its metadata and an evidence span), so that the figures
also say something about a graph bigger than one article.

Prints, per server and query: median and p95 latency (sequential, keep-alive), requests per second under
--clients concurrent clients, resident memory of the server's process tree after the run, and the ratio to
Oxigraph. It checks that every server gives the same number of answers, and says so when one does not.
Nothing here asserts a time: the figures are for reading (these machines are shared and noisy).

    bash benchmarks/peers.sh
    .venv/bin/python benchmarks/bench_sparql.py [--scale 100000] [--repeat 100] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "benchmarks" / ".venv-peers" / "bin"
PREFIXES = """PREFIX ent: <https://w3id.org/entente/ontology#>
PREFIX id: <https://w3id.org/entente/id/>
PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""

QUERIES = {
    "describe-iran": "SELECT ?p ?o WHERE { id:iran ?p ?o }",
    "iran-finances": "SELECT ?what WHERE { ?who ent:finances ?what }",
    "who-says-where": """SELECT ?s ?o ?who ?quote ?begin WHERE {
        GRAPH ?c { ?s ent:finances ?o }
        ?c ent:assertedBy ?who ; ent:evidence ?span .
        ?span nif:anchorOf ?quote ; nif:beginIndex ?begin }""",
    "types-count": "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) ?type",
    "label-search": """SELECT ?s ?label WHERE { ?s rdfs:label ?label
        FILTER(CONTAINS(LCASE(STR(?label)), "iran")) } ORDER BY ?s ?label""",
    "claims-by-modality": """SELECT ?m (COUNT(?c) AS ?n) WHERE { ?c ent:modality ?m } GROUP BY ?m""",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_claims(n: int) -> str:
    """N claims shaped like the article's: a fact graph, its metadata and an evidence span."""
    lines = ["@prefix ent: <https://w3id.org/entente/ontology#> .",
             "@prefix id: <https://w3id.org/entente/id/> .",
             "@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> ."]
    for i in range(n):
        c = f"<https://w3id.org/entente/claim/synthetic-{i}>"
        span = f"<https://w3id.org/entente/span/synthetic-{i}>"
        lines.append(f'{c} {{ id:synthetic-{i} a ent:Organization ; rdfs:label "Synthetic org {i}"@en ; '
                     f"ent:finances id:synthetic-{(i * 7919) % n} . }}")
        lines.append(f"<https://w3id.org/entente/graph/claims> {{ {c} a ent:Claim ; ent:modality ent:ArticleVoice ; "
                     f"ent:assertedBy id:synthetic-source ; ent:evidence {span} . "
                     f'{span} nif:anchorOf "synthetic quote {i}" ; nif:beginIndex {i} ; nif:endIndex {i + 1} . }}')
    return "\n".join(lines) + "\n"


@dataclass
class Server:
    name: str
    url: str                       # the SPARQL endpoint
    process: subprocess.Popen
    figures: dict = field(default_factory=dict)

    def rss_mib(self) -> float:
        """Resident memory of the whole process group (gunicorn master + workers, and the like)."""
        out = subprocess.run(["ps", "-o", "rss=", "-g", str(self.process.pid)], capture_output=True, text=True)
        return sum(int(x) for x in out.stdout.split()) / 1024

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def wait_until_up(server: Server, timeout: float = 300) -> Server:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.process.returncode}")
        try:
            r = requests.get(server.url, params={"query": "ASK {}"},
                             headers={"Accept": "application/sparql-results+json"}, timeout=2)
            if r.status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"{server.name} did not come up")


def start(name: str, args: list[str], url: str, log: Path) -> Server:
    proc = subprocess.Popen(args, cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return wait_until_up(Server(name, url, proc))


def start_entente(dataset: Path, work: Path) -> Server:
    port = free_port()
    args = [str(ROOT / ".venv" / "bin" / "entente"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(work / "entente"), "--dataset", str(dataset), "--max-results", "1000000"]
    return start("entente", args, f"http://127.0.0.1:{port}/sparql", work / "entente.log")


def start_oxigraph(dataset: Path, work: Path) -> Server:
    port = free_port()
    location = work / "oxigraph"
    subprocess.run([str(PEERS / "oxigraph"), "load", "--location", str(location), "--file", str(dataset)],
                   check=True, capture_output=True)
    args = [str(PEERS / "oxigraph"), "serve-read-only", "--location", str(location),
            "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    return start("oxigraph", args, f"http://127.0.0.1:{port}/query", work / "oxigraph.log")


def start_rdflib_endpoint(dataset: Path, work: Path) -> Server:
    port = free_port()
    args = [str(PEERS / "rdflib-endpoint"), "serve", str(dataset), "--host", "127.0.0.1", "--port", str(port)]
    return start("rdflib-endpoint", args, f"http://127.0.0.1:{port}/", work / "rdflib-endpoint.log")


def ask(session: requests.Session, url: str, query: str, timeout: float) -> tuple[float, int]:
    """One query; returns (seconds, number of result rows)."""
    t = time.perf_counter()
    r = session.post(url, data={"query": PREFIXES + query},
                     headers={"Accept": "application/sparql-results+json"}, timeout=timeout)
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, len(r.json()["results"]["bindings"])


def measure(server: Server, repeat: int, clients: int, timeout: float, slow: float, budget: float) -> None:
    """Latency per query (at most `repeat` runs or `budget` seconds); a query whose first answer takes
    longer than `slow` seconds is not repeated."""
    session = requests.Session()
    for name, query in QUERIES.items():
        try:
            first, rows = ask(session, server.url, query, timeout)
            if first > slow:
                server.figures[name] = {"slow_s": first, "rows": rows}
                print(f"  {server.name} {name}: first answer {first:.1f} s, not repeated", flush=True)
                continue
            for _ in range(2):
                ask(session, server.url, query, timeout)
            times = []
            started = time.perf_counter()
            for _ in range(repeat):
                seconds, rows = ask(session, server.url, query, timeout)
                times.append(seconds)
                if time.perf_counter() - started > budget:
                    break
            times.sort()
            server.figures[name] = {"median_ms": 1000 * statistics.median(times),
                                    "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))], "rows": rows}
            print(f"  {server.name} {name}: median {server.figures[name]['median_ms']:.2f} ms", flush=True)
        except (requests.RequestException, ValueError, KeyError) as e:
            server.figures[name] = {"error": f"{type(e).__name__}: {str(e)[:80]}"}
    fast = [q for n, q in QUERIES.items() if "median_ms" in server.figures[n]]
    server.figures["throughput_rps"] = throughput(server, fast, budget, clients, timeout)
    server.figures["rss_mib"] = server.rss_mib()


def throughput(server: Server, queries: list[str], budget: float, clients: int, timeout: float) -> float:
    """Requests per second with `clients` threads cycling through the (not slow) queries for `budget` seconds."""
    done, errors = [], []
    stop_at = time.perf_counter() + budget

    def client() -> None:
        session = requests.Session()
        while time.perf_counter() < stop_at:
            for query in queries:
                try:
                    ask(session, server.url, query, timeout)
                    done.append(1)
                except requests.RequestException as e:
                    errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(done) / (time.perf_counter() - t) if done else 0.0


def report(servers: list[Server]) -> None:
    base = next((s for s in servers if s.name == "oxigraph"), servers[0])
    print(f"\n{'query':<20}" + "".join(f"{s.name:>30}" for s in servers))
    for name in QUERIES:
        cells = []
        for s in servers:
            f = s.figures.get(name, {})
            if "error" in f:
                cells.append(f"{'error':>30}")
                continue
            if "slow_s" in f:
                cells.append(f"first answer {f['slow_s']:.1f} s, not repeated".rjust(30))
                continue
            ratio = f["median_ms"] / base.figures[name]["median_ms"] if "median_ms" in base.figures.get(name, {}) else float("nan")
            cells.append(f"{f['median_ms']:8.2f} ms p95 {f['p95_ms']:7.2f} ×{ratio:5.2f}".rjust(30))
        print(f"{name:<20}" + "".join(cells))
        rows = {s.name: s.figures.get(name, {}).get("rows") for s in servers}
        if len({r for r in rows.values() if r is not None}) > 1:
            print(f"{'':<20}  rows differ: {rows}")
    print(f"{'throughput (req/s)':<20}" + "".join(f"{s.figures['throughput_rps']:>30.1f}" for s in servers)
          + "   (fast queries only)" * any("slow_s" in f for s in servers for f in s.figures.values() if isinstance(f, dict)))
    print(f"{'memory (MiB RSS)':<20}" + "".join(f"{s.figures['rss_mib']:>30.1f}" for s in servers))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "build" / "entente.trig")
    parser.add_argument("--scale", type=int, default=0, help="add N synthetic claims")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--slow", type=float, default=5, help="seconds after which a query is not repeated")
    parser.add_argument("--budget", type=float, default=15, help="seconds per query, and for the throughput run")
    parser.add_argument("--peers", default="entente,oxigraph,rdflib-endpoint")
    args = parser.parse_args()
    if not args.dataset.exists():
        raise SystemExit(f"{args.dataset} not found: run `entente build` first")
    with tempfile.TemporaryDirectory(prefix="entente-bench-") as tmp:
        work = Path(tmp)
        dataset = args.dataset
        if args.scale:
            dataset = work / "scaled.trig"
            dataset.write_text(args.dataset.read_text(encoding="utf-8") + synthetic_claims(args.scale), encoding="utf-8")
        n_lines = sum(1 for _ in open(dataset, encoding="utf-8"))
        print(f"dataset {dataset.name}: {dataset.stat().st_size / 1e6:.1f} MB, {n_lines} lines; "
              f"{args.repeat} sequential runs per query, {args.clients} concurrent clients; cpus={os.cpu_count()}")
        starters = {"entente": start_entente, "oxigraph": start_oxigraph, "rdflib-endpoint": start_rdflib_endpoint}
        servers = []
        for name in args.peers.split(","):
            t = time.perf_counter()
            server = starters[name](dataset, work)
            print(f"{name}: up in {time.perf_counter() - t:.1f} s at {server.url}", flush=True)
            try:
                measure(server, args.repeat, args.clients, args.timeout, args.slow, args.budget)
            finally:
                server.stop()
            servers.append(server)
        report(servers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
