"""Installing and starting, as a new user does: the wheel works from any folder, and `entente serve`
builds the dataset when there is none or the sources changed, and reuses it otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, f"server exited with {process.returncode}:\n{log.read_text()}"
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"server did not become healthy:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_the_wheel_installs_in_a_fresh_venv_and_serves_and_validates_from_any_folder(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("entente-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    # The dependencies come from this test's environment (no download); `server` itself only from the wheel.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTENTE_") and k != "PYTHONPATH"}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "home" / "data"))
    where = subprocess.run([str(python), "-c", "import server; print(server.__file__)"], cwd=elsewhere, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv)), f"`server` came from {where}, not from the wheel"

    entente = venv / "bin" / "entente"
    good = shutil.copy(ROOT / "tests" / "data" / "contributions" / "good-katz-friendly.trig", elsewhere)
    bad = shutil.copy(ROOT / "tests" / "data" / "contributions" / "bad-no-evidence.trig", elsewhere)
    assert subprocess.run([str(entente), "validate", Path(good).name], cwd=elsewhere, env=env,
                          capture_output=True).returncode == 0
    refused = subprocess.run([str(entente), "validate", Path(bad).name], cwd=elsewhere, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 1, refused.stdout + refused.stderr

    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen([str(entente), "serve", "--port", str(port)], cwd=elsewhere,
                               env={**env, "ENTENTE_CONTRIBUTOR_TOKEN": "t"}, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        assert "building it" in log.read_text(), "with no dataset yet, serve builds one"
        r = requests.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"},
                         headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert int(r.json()["results"]["bindings"][0]["n"]["value"]) > 5000
        page = requests.get(url + "/id/iran", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and "Iran" in page.text
        checked = requests.post(url + "/validate", data=Path(bad).read_bytes(),
                                headers={"Content-Type": "application/trig"}, timeout=60)
        assert checked.status_code == 200 and checked.json()["conforms"] is False, checked.text
        editor = requests.get(url + "/sparql", headers={"Accept": "text/html"}, timeout=30)
        assert editor.status_code == 200 and "/static/vendor/yasgui/yasgui.min.js" in editor.text
        assert requests.get(url + "/static/vendor/yasgui/yasgui.min.js", timeout=30).status_code == 200
    finally:
        _stop(process)
    assert (tmp_path / "home" / "data" / "entente" / "build" / "entente.trig").exists()


def test_serve_reuses_a_current_dataset_and_rebuilds_a_stale_one(tmp_path, built_dataset):
    from server.graph import build

    dataset = tmp_path / "entente.trig"
    shutil.copy(built_dataset, dataset)
    shutil.copy(build.digest_path(built_dataset), build.digest_path(dataset))
    assert build.is_current(dataset)
    build.digest_path(dataset).write_text("0" * 64 + "\n")        # as if built from other sources
    assert not build.is_current(dataset)
    shutil.copy(build.digest_path(built_dataset), build.digest_path(dataset))

    def serve_log(name: str) -> str:
        port = free_port()
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                                    "--data-dir", str(tmp_path / "store"), "--dataset", str(dataset)],
                                   cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", process, log)
        finally:
            _stop(process)
        return log.read_text()

    assert "building it" not in serve_log("current")
    build.digest_path(dataset).write_text("0" * 64 + "\n")
    assert "the sources changed" in serve_log("stale")
    assert build.is_current(dataset)
