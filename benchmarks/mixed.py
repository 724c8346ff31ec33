"""Entente under mixed load: many clients at once sending queries, page requests, dry-run validations
and contributions, as in issue 11 (32 clients, 60 s). Prints, per kind of request, how many were
answered, their status codes, and p50/p95 latency — the figure to watch is the queries' p95 while
SHACL validations run. Bounded in time; only talks to the server it starts on 127.0.0.1.

    .venv/bin/python benchmarks/mixed.py --clients 32 --duration 60
    .venv/bin/python benchmarks/mixed.py --duration 30 --rounds 2 \
        --variant "default" --variant "one validation at a time ENTENTE_MAX_VALIDATIONS=1"

Each --variant is a label and the ENTENTE_* settings it changes; variants run one after another,
--rounds times over (figures on a shared machine drift: compare variants of the same run).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sparql  # noqa: E402
import servers  # noqa: E402

ROOT = servers.ROOT
CONTRIBUTOR, MAINTAINER = "mixed-load-contributor", "mixed-load-maintainer"
GOOD = (ROOT / "tests" / "data" / "contributions" / "good-katz-friendly.trig").read_bytes()
PAGES = ["/", "/id/iran", "/id/vladimir-putin", "/article", "/sparql", "/void"]
KINDS = (("query", 0.6), ("page", 0.2), ("validate", 0.12), ("contribute", 0.08))


def client(url: str, stop_at: float, queries: list[str], seed: int, results: dict, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    kinds, weights = zip(*KINDS)
    while time.perf_counter() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        t = time.perf_counter()
        try:
            if kind == "query":
                r = session.get(url + "/sparql", params={"query": rng.choice(queries)},
                                headers={"Accept": bench_sparql.ACCEPT}, timeout=60)
            elif kind == "page":
                r = session.get(url + rng.choice(PAGES), headers={"Accept": "text/html"}, timeout=60)
            elif kind == "validate":
                r = session.post(url + "/validate", data=GOOD, headers={"Content-Type": "application/trig"}, timeout=60)
            else:
                r = session.post(url + "/contributions", data=GOOD, timeout=60,
                                 headers={"Content-Type": "application/trig", "Accept": "application/json",
                                          "Authorization": f"Bearer {CONTRIBUTOR}"})
            status = r.status_code
            if status == 503 and "Retry-After" in r.headers:     # all validation slots taken: "come back"
                status = "503 busy"
        except requests.RequestException as e:
            status = type(e).__name__
        with lock:
            results[kind].append((time.perf_counter() - t, status))


def run(clients: int, duration: float, seed: int = 1, env: dict | None = None, label: str = "",
        log: Path | None = None) -> str:
    queries = list(bench_sparql.queries_for("real", ["all"], False).values())
    with tempfile.TemporaryDirectory(prefix="entente-mixed-") as tmp:
        server = servers.entente(ROOT / "build" / "entente.trig", Path(tmp), 10, env={
            "ENTENTE_CONTRIBUTOR_TOKEN": CONTRIBUTOR, "ENTENTE_MAINTAINER_TOKEN": MAINTAINER,
            "ENTENTE_RATE_LIMIT": "100000", **(env or {})})
        base = server.url.rsplit("/sparql", 1)[0]
        results, lock = collections.defaultdict(list), threading.Lock()
        try:
            server_cpu, own_cpu, load = server.cpu_seconds(), time.process_time(), os.getloadavg()[0]
            stop_at = time.perf_counter() + duration
            threads = [threading.Thread(target=client, args=(base, stop_at, queries, seed + i, results, lock))
                       for i in range(clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rss, pss = server.memory_mib()
            server_cpu, own_cpu = server.cpu_seconds() - server_cpu, time.process_time() - own_cpu
            load = (load + os.getloadavg()[0]) / 2
        finally:
            server.stop()
            if log is not None:
                shutil.copyfile(Path(tmp) / "entente.log", log)
    lines = [f"{label + ': ' if label else ''}{clients} clients for {duration:g} s against Entente on the real "
             f"dataset{' with ' + ' '.join(f'{k}={v}' for k, v in env.items()) if env else ''}; memory after: "
             f"RSS {rss:.0f} MiB, PSS {pss:.0f} MiB; CPU: server {server_cpu:.0f} s "
             f"({1000 * server_cpu / max(1, sum(map(len, results.values()))):.1f} ms an answer), these clients {own_cpu:.0f} s; "
             f"machine load average {load:.1f} on {os.cpu_count()} cores", "",
             "| kind | answered | per second | status codes | p50 (ms) | p95 (ms) |", "|---|---|---|---|---|---|"]
    for kind, _ in KINDS:
        got = results.get(kind, [])
        if not got:
            lines.append(f"| {kind} | 0 | | | | |")
            continue
        codes = collections.Counter(str(s) for _, s in got)
        lines.append(_row(kind, got, duration, ", ".join(f"{c}×{n}" for c, n in sorted(codes.items()))))
        if len(codes) > 1:          # a quick refusal and a full answer are different things: each on its own too
            for code in sorted(codes):
                lines.append(_row(f"{kind}: {code} only", [g for g in got if str(g[1]) == code], duration, ""))
    return "\n".join(lines) + "\n"


def _row(kind: str, got: list, duration: float, codes: str) -> str:
    times = sorted(t for t, _ in got)
    return (f"| {kind} | {len(got)} | {len(got) / duration:.1f} | {codes} | {1000 * times[len(times) // 2]:.0f} | "
            f"{1000 * times[int(0.95 * (len(times) - 1))]:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[],
                        help="'label NAME=VALUE …': a run with these settings (repeatable; default: one run as is)")
    parser.add_argument("--rounds", type=int, default=1, help="run every variant this many times, in turn")
    parser.add_argument("--log", type=Path, help="keep the server's log of the last run here")
    args = parser.parse_args(argv)
    variants = [_variant(v) for v in args.variant] or [("", {})]
    for _round in range(max(1, args.rounds)):
        for label, env in variants:
            print(run(args.clients, min(args.duration, 600), args.seed, env, label, args.log), flush=True)
    return 0


def _variant(text: str) -> tuple[str, dict]:
    """'one at a time ENTENTE_MAX_VALIDATIONS=1' -> ('one at a time', {'ENTENTE_MAX_VALIDATIONS': '1'})."""
    words = text.split()
    env = dict(w.split("=", 1) for w in words if "=" in w and w.split("=", 1)[0].isupper())
    return " ".join(w for w in words if w.split("=", 1)[0] not in env), env


if __name__ == "__main__":
    sys.exit(main())
