"""The benchmark runs end to end on tiny settings, so that it cannot rot. It asserts no time: only that
every server started, answered every query with the same number of rows, and that the table has its
figures and ratios."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("entente", "entente-nocache", "entente-virtuoso")
PEERS = ("oxigraph", "virtuoso", "rdflib-endpoint")
SERVERS = OURS + PEERS
QUERIES = ("describe", "provenance")


def test_benchmark_compares_every_server_on_a_tiny_generated_graph(tmp_path):
    subprocess.run(["bash", str(ROOT / "benchmarks" / "peers.sh")], check=True, timeout=600)
    table = tmp_path / "bench.md"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sparql.py"), "--sizes", "1000",
                          "--duration", "1", "--connections", "2", "--peers", ",".join(SERVERS), "--queries", ",".join(QUERIES),
                          "--markdown", str(table)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    text = table.read_text(encoding="utf-8")
    for server in SERVERS:
        assert re.search(rf"^\| {server} \| [\d.]+ \| [\d.]+ \| \d+ \| \d+ \| [\d.]+ \|$", text, re.M), f"{server} did not start:\n{text}"
    for server in OURS:                                      # memory per worker, against the engine's own
        assert re.search(rf"^\| {server} \| 2 \| \d+ \| \d+ \| \d+ \| \d+ \| [+-]\d+ \|$", text, re.M), text
    header = next(line for line in text.splitlines() if line.startswith("| query |"))
    assert header == "| query | rows | conns | " + " | ".join([*SERVERS, *(f"{e}÷{p}" for e in OURS for p in PEERS)]) + " |"
    for query in QUERIES:
        rows = [line for line in text.splitlines() if line.startswith(f"| {query} |")]
        assert len(rows) == 1, text                          # one line per number of connections
        first = rows[0].split(" | ")
        assert first[1].isdigit() and int(first[1]) > 0, f"row counts differ or are zero: {rows[0]}"
        for line in rows:
            cells = line.strip("| ").split(" | ")
            figures, ratios = cells[3:3 + len(SERVERS)], cells[3 + len(SERVERS):]
            assert all(re.fullmatch(r"[\d,]+ \([\d.]+ / [\d.]+; [\d.]+\)", f) for f in figures), line
            assert all(re.fullmatch(r"[\d.]+", r) for r in ratios), line


def test_mixed_load_reports_every_kind_of_request_without_server_errors():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import mixed

    table = mixed.run(clients=4, duration=3)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines() if line.startswith("| ")}
    assert {"query", "page", "validate", "contribute"} <= set(rows), table
    query = rows["query"].strip("| ").split(" | ")
    assert int(query[1]) > 0 and set(re.findall(r"(\w+)×", query[3])) == {"200"}, table
    for line in rows.values():
        # no 5xx, no failed connection; "503 busy" (all validation slots taken, Retry-After) is an answer
        assert not re.search(r"\b5\d\d×|Error×", line), table
