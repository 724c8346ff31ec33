"""Start Entente and each peer on a dataset file, on a free port, and measure their memory.

Every server runs in its own session (process group) so that its whole process tree can be measured
(RSS and PSS, from /proc/<pid>/smaps_rollup) and stopped. `start` returns once the server answers a
query; the seconds until then are its load time (loading the data included).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "benchmarks" / ".venv-peers" / "bin"
ENTENTE = ROOT / ".venv" / "bin" / "python"   # `python -m server.cli`, as the tests start it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    url: str                                   # the SPARQL query endpoint
    processes: list[subprocess.Popen] = field(default_factory=list)
    load_s: float = 0.0
    data_dir: Path | None = None               # where it keeps the loaded data (for its size on disk)

    def _pids(self) -> list[str]:
        pids = []
        for proc in self.processes:
            out = subprocess.run(["ps", "-o", "pid=", "-s", str(proc.pid)], capture_output=True, text=True)
            pids += out.stdout.split()
        return pids

    def cpu_seconds(self) -> float:
        """CPU time (user + system, with waited-for children) of all its processes so far."""
        total = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in fields[11:15])
        return total / os.sysconf("SC_CLK_TCK")

    def disk_mib(self) -> float:
        if self.data_dir is None:
            return 0.0
        out = subprocess.run(["du", "-sk", "--exclude=data.nq", str(self.data_dir)], capture_output=True, text=True)
        return int(out.stdout.split()[0]) / 1024 if out.returncode == 0 else float("nan")

    def memory_mib(self) -> tuple[float, float]:
        """(RSS, PSS) of all processes of the server's sessions, in MiB."""
        rss = pss = 0
        for pid in self._pids():
            m = _smaps_rollup(pid)
            if m:
                rss, pss = rss + m["Rss"], pss + m["Pss"]
        return rss / 1024, pss / 1024

    def worker_memory_mib(self) -> list[dict]:
        """Per gunicorn worker (a child of the server's first process with the same command line, as
        gunicorn forks them), the worker and its descendants (its query processes): RSS, PSS and USS in
        MiB and how many processes. Empty for a server without such workers (the peers)."""
        if not self.processes:
            return []
        master = str(self.processes[0].pid)
        out = subprocess.run(["ps", "-o", "pid=,ppid=,args=", "-s", master], capture_output=True, text=True)
        rows = [line.split(None, 2) for line in out.stdout.splitlines() if len(line.split(None, 2)) == 3]
        args = {pid: a for pid, _ppid, a in rows}
        children: dict[str, list[str]] = {}
        for pid, ppid, _a in rows:
            children.setdefault(ppid, []).append(pid)
        workers = []
        for pid in children.get(master, []):
            if args.get(pid) != args.get(master):
                continue                                   # multiprocessing's resource tracker, a writer
            tree, todo = [], [pid]
            while todo:
                tree.append(todo.pop())
                todo += children.get(tree[-1], [])
            figures = {"processes": 0, "rss": 0.0, "pss": 0.0, "uss": 0.0}
            for p in tree:
                m = _smaps_rollup(p)
                if m:
                    figures["processes"] += 1
                    figures["rss"] += m["Rss"] / 1024
                    figures["pss"] += m["Pss"] / 1024
                    figures["uss"] += (m["Private_Clean"] + m["Private_Dirty"]) / 1024
            workers.append(figures)
        return workers

    def stop(self) -> None:
        for proc in self.processes:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _smaps_rollup(pid: str) -> dict[str, int] | None:
    """A process's /proc/<pid>/smaps_rollup as {field: kB}; None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    return {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in text.splitlines()[1:])}


def _spawn(args: list[str], log: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=kwargs.pop("cwd", ROOT), stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **kwargs.pop("env", {})})


def _wait_up(server: Server, started: float, timeout: float) -> Server:
    deadline = started + timeout
    while time.perf_counter() < deadline:
        for proc in server.processes:
            if proc.poll() is not None:
                server.stop()
                raise RuntimeError(f"{server.name} exited with {proc.returncode}")
        try:
            r = requests.get(server.url, params={"query": "ASK { ?s ?p ?o }"},
                             headers={"Accept": "application/sparql-results+json"}, timeout=5)
            if r.status_code == 200:
                server.load_s = time.perf_counter() - started
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {timeout:g} s")


def entente(dataset: Path, work: Path, timeout: float, workers: int | None = None, env: dict | None = None,
            extra: tuple = ()) -> Server:
    """`entente serve` as users run it (its default workers), with the result limit lifted so that
    large answers are compared, not refused."""
    port = free_port()
    args = [str(ENTENTE), "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(work / "entente"),
            "--dataset", str(dataset), "--max-results", "10000000", *extra]
    if workers:
        args += ["--workers", str(workers)]
    started = time.perf_counter()
    proc = _spawn(args, work / "entente.log", env={"ENTENTE_QUERY_TIMEOUT": str(timeout), **(env or {})})
    return _wait_up(Server("entente", f"http://127.0.0.1:{port}/sparql", [proc], data_dir=work / "entente"),
                    started, 1800)


def oxigraph(dataset: Path, work: Path, timeout: float) -> Server:
    """Oxigraph's own server (the same engine as our pyoxigraph): bulk load, then serve read-only with
    the union default graph, as Entente answers by default. Without --timeout-s: in 0.5.13 each query
    then starts a thread that sleeps for the whole timeout, and under wrk the server runs out of
    threads within seconds and aborts."""
    port = free_port()
    location = work / "oxigraph"
    started = time.perf_counter()
    subprocess.run([str(PEERS / "oxigraph"), "load", "--location", str(location), "--file", str(dataset)],
                   check=True, capture_output=True)
    proc = _spawn([str(PEERS / "oxigraph"), "serve-read-only", "--location", str(location),
                   "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                  work / "oxigraph.log")
    return _wait_up(Server("oxigraph", f"http://127.0.0.1:{port}/query", [proc], data_dir=location), started, 600)


def rdflib_endpoint(dataset: Path, work: Path, timeout: float) -> Server:
    """rdflib's SPARQL evaluator behind FastAPI/uvicorn (it parses the file at start-up)."""
    port = free_port()
    started = time.perf_counter()
    proc = _spawn([str(PEERS / "rdflib-endpoint"), "serve", str(dataset), "--host", "127.0.0.1", "--port", str(port)],
                  work / "rdflib-endpoint.log")
    return _wait_up(Server("rdflib-endpoint", f"http://127.0.0.1:{port}/", [proc]), started, 1800)


def _scratch_virtuoso(work: Path, timeout: float):
    """A fresh Virtuoso by scripts/virtuoso.py (the one place that configures it), not started: about 2 GB
    of buffers (Virtuoso's guidance, 8 KiB a buffer), no result cap and no cost estimate."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("entente_virtuoso", ROOT / "scripts" / "virtuoso.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Virtuoso(work / "virtuoso", max_rows=10_000_000, buffers=170000, query_limit=int(timeout),
                           estimate_limit=0)


def virtuoso(dataset: Path, work: Path, timeout: float) -> Server:
    """Virtuoso open source (Debian's virtuoso-opensource 7) on a fresh database in a temporary folder on
    free ports (_scratch_virtuoso); the dataset converted to N-Quads and put in by Virtuoso's bulk loader
    (ld_dir + rdf_loader_run + checkpoint). Its SPARQL default graph is the union of all graphs, like
    Entente's."""
    started = time.perf_counter()
    instance = _scratch_virtuoso(work, timeout)
    nquads = instance.dir / "data.nq"
    _to_nquads(dataset, nquads)
    instance.start()
    server = Server("virtuoso", instance.url + "/sparql", [instance.process], data_dir=instance.dir)
    try:
        instance.isql(f"ld_dir('{instance.dir}', 'data.nq', 'urn:entente:default');", "rdf_loader_run();",
                      "checkpoint;", timeout=1800)
    except Exception:
        server.stop()
        raise
    return _wait_up(server, started, 1800)


def entente_virtuoso(dataset: Path, work: Path, timeout: float, env: dict | None = None) -> Server:
    """Entente on Virtuoso (issue 11's remote store): the same scratch Virtuoso as `virtuoso`, empty,
    `entente load --store` (Entente's own load, through SPARQL Update and the Graph Store Protocol), then
    `entente serve --store`. Its load time runs from Virtuoso's start to Entente's first answer; its
    memory is Entente's process tree and Virtuoso's, its disk Virtuoso's database."""
    started = time.perf_counter()
    instance = _scratch_virtuoso(work, timeout).start()
    env = {**instance.settings_env(), "ENTENTE_QUERY_TIMEOUT": str(timeout), **(env or {})}
    try:
        subprocess.run([str(ENTENTE), "-m", "server.cli", "load", "--store", instance.query_url, "--dataset",
                        str(dataset)], cwd=ROOT, env={**os.environ, **env}, check=True, timeout=3600,
                       stdout=open(work / "entente-load.log", "ab"), stderr=subprocess.STDOUT)
        server = entente(dataset, work, timeout, env=env, extra=("--store", instance.query_url))
    except Exception:
        instance.stop()
        raise
    server.name, server.data_dir = "entente-virtuoso", instance.dir
    server.processes.append(instance.process)      # after Entente's master: per_worker reads the first
    server.load_s = time.perf_counter() - started
    return server


def _to_nquads(dataset: Path, target: Path) -> None:
    import pyoxigraph as ox

    fmt = ox.RdfFormat.N_QUADS if dataset.suffix == ".nq" else ox.RdfFormat.TRIG
    with open(target, "wb") as out:
        ox.serialize(ox.parse(path=str(dataset), format=fmt), out, format=ox.RdfFormat.N_QUADS)


def entente_nocache(dataset: Path, work: Path, timeout: float) -> Server:
    """Entente with its answer cache off: every request goes to the query process and the engine."""
    server = entente(dataset, work, timeout, env={"ENTENTE_ANSWER_CACHE_MB": "0"})
    server.name = "entente-nocache"
    return server


def entente_virtuoso_nocache(dataset: Path, work: Path, timeout: float) -> Server:
    """Entente on Virtuoso with its answer cache off: every request reaches the engine."""
    server = entente_virtuoso(dataset, work, timeout, env={"ENTENTE_ANSWER_CACHE_MB": "0"})
    server.name = "entente-virtuoso-nocache"
    return server


STARTERS = {"entente": entente, "entente-nocache": entente_nocache, "entente-virtuoso": entente_virtuoso,
            "entente-virtuoso-nocache": entente_virtuoso_nocache, "oxigraph": oxigraph, "virtuoso": virtuoso, "rdflib-endpoint": rdflib_endpoint}
