"""Shared fixtures: the real dataset, built once, and the real server process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
MAINTAINER_TOKEN = "test-maintainer-token-3f9a"
CONTRIBUTOR_TOKEN = "test-contributor-token-77c1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def data_sources():
    """data/*.trig as they are in the repository, parsed once per session (read-only: do not change it)."""
    import rdflib

    d = rdflib.Dataset()
    for f in sorted((ROOT / "data").glob("*.trig")):
        d.parse(f, format="trig")
    return d


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory) -> Path:
    """The real dataset, built by `entente build` from the real sources (once per session)."""
    out = tmp_path_factory.mktemp("build") / "entente.trig"
    result = subprocess.run([sys.executable, "-m", "server.cli", "build", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"entente build failed:\n{result.stdout}\n{result.stderr}"
    return out


# --- the store behind a test server: the embedded one, or a real Virtuoso (remote-store mode) --------
# A test marked @pytest.mark.backends("embedded", "virtuoso") (or in a module with that as `pytestmark`)
# that uses the `backend` fixture — directly, or through `server`, `make_server` or a LiveServer fixture
# of its module — runs once per backend: the same test, not a copy. Other tests run on the embedded store.


# In a module marked for both: a test whose subject the store does not change (the web layer's URL mapping,
# refusals made before anything reaches the store) stays on the embedded store, to keep the suite short.
EMBEDDED_ONLY = pytest.mark.backends("embedded")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        backends = marker.args if marker else ("embedded",)
        metafunc.parametrize("backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request) -> str:
    """"embedded" (pyoxigraph in the server) or "virtuoso" (`entente serve --store` on a scratch Virtuoso)."""
    return getattr(request, "param", "embedded")


_idle_virtuosos: list = []     # scratch instances emptied of Entente's data, ready for the next server


def start_virtuoso(directory: Path):
    """A scratch Virtuoso open source (scripts/virtuoso.py) on free ports with its database in `directory`,
    or an idle one emptied by release_virtuoso (starting one takes ~5 s)."""
    import atexit
    import importlib.util

    if _idle_virtuosos:
        return _idle_virtuosos.pop()
    spec = importlib.util.spec_from_file_location("entente_virtuoso", ROOT / "scripts" / "virtuoso.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    instance = module.Virtuoso(directory).start()
    atexit.register(instance.stop)
    rows = requests.get(instance.url + "/sparql", params={"query": "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
                        headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    instance.own_graphs = [row["g"]["value"] for row in rows["results"]["bindings"]]     # Virtuoso's system graphs
    return instance


def release_virtuoso(instance) -> None:
    """Empty the instance of everything but its own system graphs and keep it for the next server."""
    keep = ", ".join(f"iri_to_id('{g}')" for g in instance.own_graphs)
    instance.isql(f"DELETE FROM DB.DBA.RDF_QUAD WHERE NOT (G IN ({keep}));", "checkpoint;")
    _idle_virtuosos.append(instance)


class LiveServer:
    """An `entente serve` subprocess on 127.0.0.1; `url` has no trailing slash. With backend="virtuoso"
    it runs on its own scratch Virtuoso (started with it, stopped with it) through `--store`."""

    def __init__(self, data_dir: Path, dataset: Path | None, extra_args=(), env=None, backend: str = "embedded"):
        self.backend = backend
        self.virtuoso = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.args = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
                     "--port", str(self.port), "--data-dir", str(data_dir), *extra_args]
        if dataset is None:
            self.args.append("--empty")
        else:
            self.args += ["--dataset", str(dataset)]
        self.env = {**os.environ, "ENTENTE_MAINTAINER_TOKEN": MAINTAINER_TOKEN,
                    "ENTENTE_CONTRIBUTOR_TOKEN": CONTRIBUTOR_TOKEN, **(env or {})}
        self.log = data_dir.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "LiveServer":
        if self.backend == "virtuoso" and self.virtuoso is None:
            self.virtuoso = start_virtuoso(self.data_dir.parent / f"virtuoso-{self.port}")
            self.env.update(self.virtuoso.settings_env())
            # as docs/remote-store.md advises for Virtuoso: its whole-article picture query takes ~15 s
            self.env.setdefault("ENTENTE_QUERY_TIMEOUT", "60")
            self.args += ["--store", self.virtuoso.query_url]
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=open(self.log, "ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log.read_text()}")

    def stop(self, sig: int | None = None) -> None:
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig or signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.virtuoso is not None and sig is None:       # a signal test restarts the server on the same store
            release_virtuoso(self.virtuoso)
            self.virtuoso = None


@pytest.fixture(scope="session")
def server(built_dataset, tmp_path_factory, backend):
    """The real server with the real dataset, shared by read-only tests. Do not write to it."""
    live = LiveServer(tmp_path_factory.mktemp("served") / "store", built_dataset, backend=backend).start()
    yield live
    live.stop()


@pytest.fixture
def make_server(tmp_path, backend):
    """Start extra servers (scratch or writable) that are stopped after the test."""
    started = []

    def _make(dataset: Path | None = None, extra_args=(), env=None, data_dir: Path | None = None) -> LiveServer:
        live = LiveServer(data_dir or tmp_path / f"store{len(started)}", dataset, extra_args, env,
                          backend=backend).start()
        started.append(live)
        return live

    yield _make
    for live in started:
        live.stop()


@pytest.fixture
def app_client(tmp_path):
    """In-process: `create_app` with a scratch store and Flask's test client, for checks where the
    real process does not matter. `app_client(**settings)` gives a client for other settings."""
    from server.settings import Settings
    from server.web.app import create_app

    def _make(**overrides):
        settings = Settings.from_env({}, data_dir=tmp_path / f"store{len(list(tmp_path.iterdir()))}",
                                     empty=True, **overrides)
        return create_app(settings).test_client()

    return _make
