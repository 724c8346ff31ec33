"""`entente wikidata diff` and `check` against a stand-in Wikidata endpoint: Oxigraph's own SPARQL server
(PyPI `oxigraph`), started here and loaded with tests/data/wikidata/stand-in.ttl, a hand-written fixture
in Wikidata's RDF model holding existing, new, conflicting, redirected and mis-typed cases. No test
reaches the Internet.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "wikidata" / "stand-in.ttl"
ID = "https://w3id.org/entente/id/"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    location = tmp_path_factory.mktemp("wikidata-stand-in")
    subprocess.run([oxigraph, "load", "--location", str(location), "--file", str(FIXTURE)], check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    process = subprocess.Popen([oxigraph, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(url, params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("the stand-in Oxigraph server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def entente(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_diff_gives_existing_new_and_conflict_with_reasons(endpoint, built_dataset):
    result = entente("wikidata", "diff", "--endpoint", endpoint, "--dataset", str(built_dataset), "--json")
    assert result.returncode == 0, result.stderr
    rows = {(r["subject"], r["property"], r["value"]): r for r in json.loads(result.stdout)}
    verdict = {k: (r["verdict"], r["reason"]) for k, r in rows.items()}
    assert verdict[("Q57336", "P39", "Q332486")] == ("existing", "already referenced to the article")
    assert verdict[("Q11268", "P361", "Q30")] == ("existing", "present; no reference to the article yet")
    assert verdict[("Q348144", "P39", "Q838380")] == ("conflict", "Wikidata has this value with deprecated rank")
    assert verdict[("Q178810", "P276", "Q858")][0] == "conflict" and "single-value" in verdict[("Q178810", "P276", "Q858")][1]
    assert verdict[("Q892014", "P598", "Q311381")][0] == "existing"                  # through the value's redirect
    assert "Q311381 redirects to Q4000000001" in verdict[("Q892014", "P598", "Q311381")][1]
    assert verdict[("Q794", "P1344", "Q178810")] == ("new", "")
    assert verdict[("Q378605", "P361", "Q794")] == ("new", "Wikidata has other values: Q1")
    assert rows[("Q57336", "P39", "Q332486")]["claims"] == ["https://w3id.org/entente/claim/khamenei-supreme-leader-of-iran"]
    # The same statements as the QuickStatements export, no more, no less.
    qs = entente("export", "quickstatements", "--dataset", str(built_dataset)).stdout.splitlines()
    assert set(rows) == {tuple(line.split("\t")[:3]) for line in qs}
    text = entente("wikidata", "diff", "--endpoint", endpoint, "--dataset", str(built_dataset))
    assert text.returncode == 0 and text.stdout.startswith(f"{len(rows)} statements: ")
    assert "conflict  Q348144 P39 Q838380  — Wikidata has this value with deprecated rank" in text.stdout


def test_check_finds_missing_redirected_mislabelled_and_mistyped_links(endpoint, built_dataset):
    result = entente("wikidata", "check", "--endpoint", endpoint, "--dataset", str(built_dataset), "--json")
    assert result.returncode == 1, result.stderr          # some links do not hold: non-zero exit
    rows = {r["entity"][len(ID):]: r for r in json.loads(result.stdout)}
    assert rows["iran"]["verdict"] == "ok" and rows["ali-khamenei"]["verdict"] == "ok"
    assert rows["russia"]["verdict"] == "ok"              # its P31 class is a subclass (P279) of sovereign state
    assert rows["quds-force"]["verdict"] == "redirect" and "Q4000000001" in rows["quds-force"]["problems"][0]
    assert rows["tehran"]["verdict"] == "mismatch" and rows["tehran"]["problems"][0].startswith("type: Q3616")
    assert "Q515" in rows["tehran"]["problems"][0] and "Q5" in rows["tehran"]["problems"][0]
    assert rows["syria"]["verdict"] == "mismatch" and "label 'Lebanon'" in rows["syria"]["problems"][0]
    assert rows["vladimir-putin"]["verdict"] == "missing"
    assert len(rows) >= 30                                # every owl:sameAs link is checked
    text = entente("wikidata", "check", "--endpoint", endpoint, "--dataset", str(built_dataset))
    assert "redirect  quds-force → Q311381" in text.stdout and "mismatch  tehran → Q3616 (Tehran)" in text.stdout


def test_an_unreachable_endpoint_is_an_error_that_says_so(built_dataset):
    dead = f"http://127.0.0.1:{free_port()}/sparql"
    result = entente("wikidata", "check", "--endpoint", dead, "--dataset", str(built_dataset))
    assert result.returncode == 1 and f"cannot reach {dead}" in result.stderr
    bad = entente("wikidata", "diff", "--endpoint", "file:///etc/passwd", "--dataset", str(built_dataset))
    assert bad.returncode == 1 and "http(s) URL" in bad.stderr
