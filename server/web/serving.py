"""`entente serve`: load the dataset into the store idempotently, then run gunicorn.

The load happens once, in the master, before any worker is forked (it runs in a writer process; the
master itself never opens RocksDB). Workers are gunicorn *gthread* processes (settings.workers, default
2, each with settings.threads threads) run by server/worker.py, which reads every request in its event
loop before a thread takes it, so slow clients hold no thread. SPARQL evaluation and validation run in
child processes (CPU work on both cores), so a thread mostly waits. Each worker opens the current
read-only snapshot of the store.
"""

from __future__ import annotations

import os
import sys
import traceback
from functools import partial
from pathlib import Path

from gunicorn.app.base import BaseApplication

from ..settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", max(1, self.settings.workers))
        self.cfg.set("worker_class", "server.web.worker.Worker")
        self.cfg.set("threads", max(1, self.settings.threads))
        # X-Forwarded-Proto is believed only from the configured proxies (none by default)
        self.cfg.set("forwarded_allow_ips", ",".join(self.settings.trusted_proxies))
        # gunicorn's own timeout only catches a worker that is stuck: queries stop at query_timeout,
        # SHACL validation of a contribution at validation_timeout.
        self.cfg.set("timeout", int(max(self.settings.query_timeout, self.settings.service_timeout,
                                        self.settings.validation_timeout) + 30))
        self.cfg.set("graceful_timeout", 5)
        self.cfg.set("post_fork", partial(_in_worker, self.settings))
        self.cfg.set("accesslog", "-")
        self.cfg.set("control_socket_disable", True)   # one shared ~/.gunicorn socket would clash between servers

    def load(self):
        from .app import create_app

        return create_app(self.settings)


def _in_worker(settings: Settings, _arbiter, _worker) -> None:
    """gunicorn's post_fork hook, in each new worker. A worker is one process whose event loop and threads
    share the GIL: with Python's default 5 ms switch interval, an answer the event loop could send at once
    (web/response_cache.py) or a quick request waited 5 ms at each hand-over while threads rendered pages.
    Measured by benchmarks/mixed.py (docs/benchmarks.md)."""
    sys.setswitchinterval(settings.switch_interval)


def prepare(settings: Settings) -> None:
    """Create the store if needed and load the dataset unless the same file is loaded already."""
    from .. import store as store_module

    # The master forks workers, so no fork server here; a plain fork of it (it never opens RocksDB and has
    # no threads yet) spares each writer a new interpreter and its imports.
    store_module.set_writer_start_method("fork")
    try:
        _prepare(store_module.open_store(settings), settings)
    finally:
        store_module.set_writer_start_method("forkserver")


def _prepare(store, settings: Settings) -> None:
    if settings.empty:
        return
    dataset = Path(settings.dataset)
    from ..graph import freshness

    if not freshness.is_current(dataset, settings.full_text, settings.license):
        why = "the sources changed since" if dataset.exists() else "no dataset yet at"
        print(f"entente: {why} {dataset}; building it (SHACL and HermiT, about 30 s)", file=sys.stderr, flush=True)
        dataset.parent.mkdir(parents=True, exist_ok=True)
        if _build_apart(dataset, settings) != 0:
            raise SystemExit("entente: the build failed (see above); nothing served")
    loaded = store.load_dataset(dataset)
    print(f"entente: {'loaded' if loaded else 'already loaded'} {dataset}", file=sys.stderr, flush=True)


def _build_apart(dataset: Path, settings: Settings) -> int:
    """build.main in a forked child, its exit code: the pipeline (rdflib, pySHACL, owlready2) and the
    build's garbage stay out of this process, whose memory every gunicorn worker would inherit."""
    pid = os.fork()
    if pid == 0:                                       # child: never returns into the server's code
        code = 1
        try:
            from ..graph import build

            code = build.main(dataset, full_text=settings.full_text, license=settings.license)
        except BaseException:  # noqa: BLE001 — reported here, the parent refuses to serve
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main(settings: Settings) -> int:
    prepare(settings)
    print(f"Entente serving on http://{settings.host}:{settings.port}/ "
          f"(SPARQL: http://{settings.host}:{settings.port}/sparql)", file=sys.stderr, flush=True)
    print(f"http://{settings.host}:{settings.port}/", flush=True)
    _Gunicorn(settings).run()
    return 0
