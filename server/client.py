"""`entente contribute FILE --server URL`: send a contribution and print what the server says, readably.

The token comes from ENTENTE_CONTRIBUTOR_TOKEN (read through Settings). Exit codes: 0 accepted for
review (201), 1 refused (violations, bad input, auth), 2 could not send (file, format, network).
A server busy with other validations answers 503 with Retry-After (ENTENTE_MAX_VALIDATIONS; nothing
stored): the contribution is sent again after that many seconds, up to BUSY_ATTEMPTS times in all.
Uses only the standard library, so the command works wherever Entente is installed.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import formats
from .settings import Settings


BUSY_ATTEMPTS = 4
MAX_WAIT = 60        # seconds at most between attempts, whatever Retry-After says


def contribute(file: Path, server_url: str, rdf_format: str | None = None, *, token: str | None = None,
               out=None, timeout: float = 120, sleep=time.sleep) -> int:
    out = out or sys.stdout
    path = Path(file)
    fmt = formats.by_name(rdf_format) if rdf_format else formats.by_extension(path.suffix)
    if fmt is None or fmt not in formats.RDF:
        print(f"entente contribute: unknown RDF format {rdf_format or path.suffix!r}; use --format "
              + "|".join(f.name for f in formats.RDF), file=sys.stderr)
        return 2
    token = token if token is not None else Settings.from_env().contributor_token
    if not token:
        print("entente contribute: set ENTENTE_CONTRIBUTOR_TOKEN to your contributor token", file=sys.stderr)
        return 2
    request = urllib.request.Request(
        server_url.rstrip("/") + "/contributions", data=path.read_bytes(), method="POST",
        headers={"Content-Type": fmt.media_type, "Accept": "application/json",
                 "Authorization": f"Bearer {token}"})
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body = response.status, response.read()
                location = response.headers.get("Location")
        except urllib.error.HTTPError as e:
            status, body, location = e.code, e.read(), None
            retry = e.headers.get("Retry-After", "")
            if status == 503 and retry.isdigit() and attempt < BUSY_ATTEMPTS:
                wait = min(int(retry), MAX_WAIT)
                print(f"entente contribute: the server is busy validating other contributions; sending again in "
                      f"{wait} s (attempt {attempt + 1} of {BUSY_ATTEMPTS})", file=sys.stderr)
                sleep(wait)
                continue
        except (urllib.error.URLError, OSError) as e:
            print(f"entente contribute: cannot reach {server_url}: {getattr(e, 'reason', e)}", file=sys.stderr)
            return 2
        break
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = {"message": body.decode("utf-8", "replace")[:500]}
    if status == 201:
        print(f"Sent: contribution {answer.get('id')} is pending review.", file=out)
        print(f"  {location or answer.get('url')}", file=out)
        print(report_text(answer.get("report") or {}), file=out)
        return 0
    print(f"Refused ({status} {answer.get('error', '')}): {answer.get('message', '')}", file=out)
    if answer.get("where") is not None:
        print(f"  where: {json.dumps(answer['where'])}", file=out)
    details = answer.get("details")
    if isinstance(details, dict) and "results" in details:
        print(report_text(details), file=out)
    return 1


def report_text(report: dict) -> str:
    """A SHACL report (the server's JSON) as lines: severity, focus node, path, value, message, shape."""
    lines = []
    for r in report.get("results", []):
        severity = (r.get("severity") or "").rsplit("#", 1)[-1] or "Result"
        where = r.get("focusNode") or "-"
        if r.get("resultPath"):
            where += f" {r['resultPath']}"
        value = f" = {r['value']!r}" if r.get("value") not in (None, r.get("focusNode")) else ""
        lines.append(f"  {severity}: {where}{value}: {r.get('message', '')} [{r.get('sourceShape') or '-'}]")
    verdict = "conforms" if report.get("conforms") else f"does NOT conform ({len(lines)} result(s))"
    lines.append(f"  SHACL: {verdict}; {report.get('checked', '?')} focus nodes checked.")
    return "\n".join(lines)
