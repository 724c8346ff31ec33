"""docs/exports.md and the README's export example stay true: their curl lines run against the real
server and answer what the docs show."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def curl_commands(path: Path, needle: str) -> list[str]:
    """The shell commands starting with `curl` in the ```sh blocks of `path` (continuation lines joined)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("curl ") and needle in command:
                commands.append(command)
    return commands


def run(command: str, server) -> str:
    command = command.replace("http://127.0.0.1:8000", server.url)
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 23, 141), (command, result.stderr)    # 23, 141: `| head` closed the pipe
    return result.stdout


def test_readme_reconciliation_example(server):
    (command,) = curl_commands(ROOT / "README.md", "/reconcile")
    shown = re.search(r"# (\{\"q0\".*)", (ROOT / "README.md").read_text()).group(1)
    out = run(command, server)
    assert out.startswith(shown.split("…")[0]) and '"match":true' in out


def test_docs_reconciliation_and_annotation_examples(server):
    docs = ROOT / "docs" / "exports.md"
    (reconcile,) = curl_commands(docs, "/reconcile")
    out = run(reconcile, server)
    assert '"q0":{"result":[{"id":"https://w3id.org/entente/id/islamic-revolutionary-guard-corps"' in out
    assert '"q1":{"result":[{"id":"https://w3id.org/entente/id/hezbollah"' in out
    assert '{"id":"property:https://w3id.org/entente/ontology#basedIn","value":true}' in out
    container, one = curl_commands(docs, "/annotations/")
    assert f'"{server.url}/annotations/claim/' in run(container, server)
    out = run(one, server)
    assert '"TextPositionSelector"' in out and '"start": 4661' in out and "U.S. Congressional reports (reported claim)" in out


def test_docs_nanopub_example(server):
    (command,) = curl_commands(ROOT / "docs" / "exports.md", "Accept-Profile")
    out = run(command, server)
    assert "prov:wasAttributedTo id:us-congressional-reports" in out and "span:4661-4819 nif:anchorOf" in out


def test_docs_quickstatements_example(server):
    (command,) = curl_commands(ROOT / "docs" / "exports.md", "/export/quickstatements.txt")
    out = run(command, server)
    shown = re.search(r"^Q57336\tP39\tQ332486\t.*$", (ROOT / "docs" / "exports.md").read_text(), re.M).group(0)
    full = run("curl -s http://127.0.0.1:8000/export/quickstatements.txt", server)
    assert out and shown in full.splitlines()


def test_readme_nanopub_and_quickstatements_examples(server):
    (nanopub,) = curl_commands(ROOT / "README.md", "Accept-Profile")
    out = run(nanopub, server)
    assert "np:hasAssertion" in out and "id:ali-khamenei ent:holdsPost id:supreme-leader-of-iran" in out
    (qs,) = curl_commands(ROOT / "README.md", "/export/quickstatements.txt")
    line = run(qs, server).strip()
    shown = re.search(r"^# (Q57336\tP39\tQ332486\t.*)$", (ROOT / "README.md").read_text(), re.M).group(1)
    assert line.startswith(shown.split("…")[0]) and 'en:"Iran’s supreme leader, Ali Khamenei"' in line
