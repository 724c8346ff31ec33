"""`entente build` and `entente validate` on the real files, through the real command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib

from server.graph import dumps, iris
from server.settings import Settings
from server.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DATA = Path(__file__).parent / "data" / "shapes"


def entente(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env)


def test_build_output_has_the_expected_graphs(built_dataset):
    ds = rdflib.Dataset()
    ds.parse(built_dataset, format="trig")
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    for name in (iris.GRAPH_ARTICLE, iris.GRAPH_CLAIMS, iris.GRAPH_ONTOLOGY, iris.GRAPH_LINKSET,
                 iris.GRAPH_INFERRED + "/article-voice"):
        assert name in names, name
    assert sum(n.startswith(iris.CLAIM) for n in names) > 50
    assert len(ds.default_graph) == 0, "nothing belongs in the default graph"
    article = ds.graph(rdflib.URIRef(iris.GRAPH_ARTICLE))
    nif = rdflib.Namespace(iris.PREFIXES["nif"])
    text = article.value(rdflib.URIRef(iris.ARTICLE), nif.isString)
    assert str(text) == (ROOT / iris.SEED_FILE).read_bytes().decode("utf-8")
    assert len(str(text)) == 5451


def test_build_is_deterministic(tmp_path):
    """Two full builds, reasoner on, in two processes with different hash seeds, from one snapshot of
    the sources (other work may change data/ meanwhile) give the same inferred-triple count, the same
    dataset file and the same dumps (SHA-256), each build loaded into its own store. Seeds 1 and 2 gave
    834 and 825 inferred triples before the reasoner input was freed of punning (reasoning._puns), and
    every load gave other dumps before the store kept the file's blank node labels."""
    import re
    import shutil

    for name in ("seeds", "data", "ontology", "shapes"):
        shutil.copytree(ROOT / name, tmp_path / name)
    script = ("import sys; from pathlib import Path; from server.graph import build, validation; "
              f"src = Path({str(tmp_path)!r}); build.SEEDS_DIR, build.DATA_DIR, build.ONTOLOGY_DIR = "
              "src / 'seeds', src / 'data', src / 'ontology'; validation.SHAPES_DIR = src / 'shapes'; "
              "sys.exit(build.main(Path(sys.argv[1]), reason=True))")
    runs = {}
    for seed in ("1", "2"):  # both at once: one reasoner run each, on two cores
        out = tmp_path / f"out-{seed}.trig"
        runs[seed] = (out, subprocess.Popen([sys.executable, "-c", script, str(out)], cwd=ROOT, text=True,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONHASHSEED": seed}))
    digests, counts = [], []
    for out, process in runs.values():
        stdout, _ = process.communicate()
        assert process.returncode == 0, stdout
        counts.append(int(re.search(r"HermiT: .*?(\d+) inferred triples", stdout).group(1)))
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert counts[0] > 0 and counts[0] == counts[1], counts
    assert digests[0] == digests[1]
    # and what a server publishes from each build: every dump, each build loaded into its own store
    served = [dump_digests(out, tmp_path / f"store-{seed}") for seed, (out, _) in runs.items()]
    assert len(served[0]) == len(dumps.DUMPS) and served[0] == served[1]


def dump_digests(dataset: Path, data_dir: Path) -> dict[str, str]:
    """SHA-256 of every published dump of `dataset`, loaded into a fresh embedded store."""
    store = Store(Settings(data_dir=data_dir))
    assert store.load_dataset(dataset)
    return {d.name: dumps.make(store, d).sha256 for d in dumps.DUMPS}


def test_validate_accepts_the_build(built_dataset):
    result = entente("validate", str(built_dataset))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHACL: conforms" in result.stdout


def test_validate_rejects_a_bad_file_with_a_readable_report():
    result = entente("validate", str(SHAPES_DATA / "evidence-wrong-quote.trig"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("Violation: span:348-362") and "[shapes:EvidenceRule]" in line for line in lines), \
        result.stdout
    assert "does not match the text of its document" in result.stdout
    assert lines[-1].startswith("SHACL: does NOT conform: ")


def test_validate_reports_a_parse_error_with_its_line(tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text("@prefix ent: <https://w3id.org/entente/ontology#> .\n<a> ent:x ;;; .\n")
    result = entente("validate", str(bad))
    assert result.returncode == 2
    assert "cannot parse" in result.stderr and "line" in result.stderr.lower()


def test_validate_without_a_dataset_says_what_to_do(tmp_path):
    import os

    env = {**os.environ, "ENTENTE_DATASET": str(tmp_path / "missing.trig")}
    result = entente("validate", env=env)
    assert result.returncode == 2
    assert "entente build" in result.stderr


def test_build_fails_on_a_shape_violation_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from server.graph import build

    data = tmp_path / "data"
    data.mkdir()
    (data / "claims.trig").write_bytes((SHAPES_DATA / "claim-no-modality.trig").read_bytes())
    monkeypatch.setattr(build, "DATA_DIR", data)
    out = tmp_path / "out.trig"
    assert build.main(out, reason=False) == 1
    captured = capsys.readouterr()
    assert "Violation: claim:t-x ent:modality" in captured.out
    assert "do not conform" in captured.err
    assert not out.exists()


def test_build_names_the_file_that_does_not_parse(tmp_path, monkeypatch, capsys):
    from server.graph import build

    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.trig").write_text("@prefix ent: <https://w3id.org/entente/ontology#> .\n<a> { <b> ent:x }\n")
    monkeypatch.setattr(build, "DATA_DIR", data)
    assert build.main(tmp_path / "out.trig", reason=False) == 1
    err = capsys.readouterr().err
    assert "broken.trig" in err and "cannot parse" in err


def test_build_refuses_triples_in_the_default_graph(tmp_path, monkeypatch, capsys):
    from server.graph import build

    data = tmp_path / "data"
    data.mkdir()
    (data / "loose.trig").write_text("<https://w3id.org/entente/id/a> <https://w3id.org/entente/ontology#allyOf> "
                                     "<https://w3id.org/entente/id/b> .\n")
    monkeypatch.setattr(build, "DATA_DIR", data)
    assert build.main(tmp_path / "out.trig", reason=False) == 1
    assert "default graph" in capsys.readouterr().err


# --- rights and the publishing mode without the full text ------------------------------------------------

DCTERMS = rdflib.Namespace(iris.PREFIXES["dcterms"])
NIF = rdflib.Namespace(iris.PREFIXES["nif"])
ENT = rdflib.Namespace(iris.ENT)
SEED = ROOT / iris.SEED_FILE


def test_every_graph_states_its_licence_and_the_article_graph_whose_words_it_holds(built_dataset):
    ds = rdflib.Dataset()
    ds.parse(built_dataset, format="trig")
    rights = ds.graph(rdflib.URIRef(iris.GRAPH_RIGHTS))
    names = {g.identifier for g in ds.graphs() if len(g) and g.identifier != rdflib.graph.DATASET_DEFAULT_GRAPH_ID}
    cc_by = rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert {g for g in names if (g, DCTERMS.license, cc_by) not in rights} == set()
    article_rights = str(rights.value(rdflib.URIRef(iris.GRAPH_ARTICLE), DCTERMS.rights))
    assert "Bloomberg" in article_rights and "not covered by the CC BY 4.0" in article_rights
    assert "Bloomberg" in str(rights.value(rdflib.URIRef(iris.GRAPH_CLAIMS), DCTERMS.rights))


@pytest.fixture(scope="module")
def without_text(tmp_path_factory) -> Path:
    """The real sources built with --no-full-text (no reasoner: the mode does not touch inferences)."""
    out = tmp_path_factory.mktemp("no-full-text") / "entente.trig"
    result = entente("build", "--no-reason", "--no-full-text", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--no-full-text:" in result.stdout
    return out


def test_no_full_text_withholds_the_text_and_keeps_every_span(without_text, built_dataset):
    full, bare = rdflib.Dataset(default_union=True), rdflib.Dataset(default_union=True)
    full.parse(built_dataset, format="trig")
    bare.parse(without_text, format="trig")
    article = rdflib.URIRef(iris.ARTICLE)
    text = SEED.read_bytes().decode("utf-8")
    assert not list(bare.quads((None, NIF.isString, None, None)))
    sentences = set(bare.subjects(rdflib.RDF.type, NIF.Sentence))
    assert len(sentences) > 30 and not any(bare.value(s, NIF.anchorOf) for s in sentences)
    assert all(bare.value(s, NIF.beginIndex) is not None for s in sentences)
    assert str(bare.value(article, ENT.sha256)) == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert int(bare.value(article, NIF.endIndex)) == len(text)
    spans = lambda ds: {(s, str(ds.value(s, NIF.anchorOf)), int(ds.value(s, NIF.beginIndex)),  # noqa: E731
                         int(ds.value(s, NIF.endIndex))) for s in ds.subjects(rdflib.RDF.type, ENT.EvidenceSpan)}
    assert len(spans(bare)) > 100 and spans(bare) == spans(full)
    for _, quote, begin, end in spans(bare):
        assert text[begin:end] == quote
    assert max(len(str(o)) for o in bare.objects() if isinstance(o, rdflib.Literal)) < len(text) // 4
    assert "withheld" in str(bare.graph(rdflib.URIRef(iris.GRAPH_RIGHTS)).value(
        rdflib.URIRef(iris.GRAPH_ARTICLE), DCTERMS.rights))


def test_validate_checks_the_spans_against_the_users_copy_and_rejects_a_wrong_one(without_text, tmp_path):
    env = {**os.environ, "ENTENTE_DATASET": str(without_text)}
    right = entente("validate", "--article", str(SEED), env=env)
    assert right.returncode == 0, right.stdout + right.stderr
    assert "SHACL: conforms" in right.stdout
    wrong = tmp_path / "copy.txt"
    wrong.write_bytes(SEED.read_bytes().replace("Putin".encode(), "Putim".encode(), 1))
    refused = entente("validate", "--article", str(wrong), env=env)
    assert refused.returncode == 1
    assert "is not the article's" in refused.stderr and hashlib.sha256(SEED.read_bytes()).hexdigest() in refused.stderr
    assert "does not match the text of its document" in refused.stdout and "Putim" in refused.stdout
    shorter = tmp_path / "shorter.txt"
    shorter.write_bytes(SEED.read_bytes()[:-200])
    refused = entente("validate", "--article", str(shorter), env=env)
    assert refused.returncode == 1 and "code points long" in refused.stderr


def test_a_dataset_built_with_other_options_is_stale(tmp_path):
    """`entente serve` rebuilds when ENTENTE_FULL_TEXT or ENTENTE_LICENSE no longer match the build."""
    from server.graph import build

    out = tmp_path / "entente.trig"
    out.write_text("")
    build.digest_path(out).write_text(build.sources_digest(True, build.DEFAULT_LICENSE) + "\n")
    assert build.is_current(out, True, build.DEFAULT_LICENSE)
    assert not build.is_current(out, False, build.DEFAULT_LICENSE)
    assert not build.is_current(out, True, "https://creativecommons.org/publicdomain/zero/1.0/")
