#!/usr/bin/env python3
"""A scratch Virtuoso open source instance for tests, benchmarks and conformance runs.

    python scripts/virtuoso.py DIR        # start one in DIR on free ports; prints the ENTENTE_STORE_* settings
                                          # to use, runs until Ctrl-C or SIGTERM, then stops it (DIR is kept)

From Python: `with Virtuoso(tmp_dir) as v: v.settings_env()`. It writes virtuoso.ini into DIR (database,
logs and locks all under DIR; HTTP and SQL ports free at start), runs `virtuoso-t +foreground`, and with
`isql` creates a user `entente` with a random password and the SPARQL_UPDATE role: Entente reaches it
through Virtuoso's digest-authenticated endpoints (/sparql-auth, /sparql-graph-crud-auth), so the open
/sparql endpoint stays read-only. The Debian package `virtuoso-opensource` provides virtuoso-t and isql-vt.
The tests, the conformance runs and benchmarks/servers.py (a bigger instance, `Virtuoso(dir,
buffers=170000, …)`, loaded by the bulk loader through `isql`) all start Virtuoso here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:{sql_port}
LiteMode                 = 0
DisableUnixSocket        = 1
DisableTcpSocket         = 0
MaxClientConnections     = 20
CheckpointInterval       = 60
O_DIRECT                 = 0
CaseMode                 = 2
MaxStaticCursorRows      = 5000
AllowOSCalls             = 0
DirsAllowed              = {dir}
ThreadsPerQuery          = 2
NumberOfBuffers          = {buffers}
MaxDirtyBuffers          = {dirty}

[HTTPServer]
ServerPort                  = 127.0.0.1:{http_port}
ServerRoot                  = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections        = 20
DavRoot                     = DAV
EnabledDavVSP               = 0
HTTPProxyEnabled            = 0
ServerThreads               = 20
MaxKeepAlives               = 20
KeepAliveTimeout            = 10
HTTPThreadSize              = 280000
HttpPrintWarningsInOutput   = 0
Charset                     = UTF-8
EnabledGzipContent          = 0

[SPARQL]
; Entente refuses answers over its own limit (ENTENTE_MAX_RESULTS, 10000 by default) and never cuts
; one; Virtuoso cuts silently at ResultSetMaxRows, so this must stay above Entente's limit.
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = {estimate_limit}
MaxQueryExecutionTime      = {query_limit}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isql_binary() -> str:
    for name in ("isql-vt", "isql"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("isql-vt not found: install the Debian package virtuoso-opensource")


class Virtuoso:
    """One virtuoso-t process with its database in `directory`."""

    user = "entente"

    def __init__(self, directory: Path, max_rows: int = 100000, buffers: int = 20000, query_limit: int = 60,
                 estimate_limit: int = 400):
        """buffers: 8 KiB pages of memory (Virtuoso's guidance: 170000 for about 2 GB); query_limit: its
        MaxQueryExecutionTime (s); estimate_limit: its MaxQueryCostEstimationTime (s; 0: no estimate);
        max_rows: its ResultSetMaxRows (above Entente's ENTENTE_MAX_RESULTS, see docs/remote-store.md)."""
        self.dir = Path(directory).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.http_port, self.sql_port = free_port(), free_port()
        self.password = secrets.token_hex(12)
        self.dba_password = "dba"          # the fresh database's; changed in start()
        self.max_rows, self.buffers = max_rows, buffers
        self.query_limit, self.estimate_limit = query_limit, estimate_limit
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def query_url(self) -> str:
        return self.url + "/sparql-auth"

    @property
    def gsp_url(self) -> str:
        return self.url + "/sparql-graph-crud-auth"

    def settings_env(self) -> dict[str, str]:
        """The environment that points `entente serve` / `entente load` at this instance."""
        return {"ENTENTE_STORE_URL": self.query_url, "ENTENTE_STORE_UPDATE_URL": self.query_url,
                "ENTENTE_STORE_GSP_URL": self.gsp_url, "ENTENTE_STORE_USER": self.user,
                "ENTENTE_STORE_PASSWORD": self.password, "ENTENTE_STORE_AUTH": "digest"}

    def start(self, timeout: float = 60) -> "Virtuoso":
        (self.dir / "virtuoso.ini").write_text(INI.format(
            dir=self.dir, sql_port=self.sql_port, http_port=self.http_port, max_rows=self.max_rows,
            buffers=self.buffers, dirty=self.buffers * 3 // 4, query_limit=self.query_limit,
            estimate_limit=self.estimate_limit))
        binary = shutil.which("virtuoso-t")
        if binary is None:
            raise FileNotFoundError("virtuoso-t not found: install the Debian package virtuoso-opensource")
        self.process = subprocess.Popen([binary, "+foreground", "+configfile", str(self.dir / "virtuoso.ini")],
                                        cwd=self.dir, stdout=open(self.dir / "stdout.log", "ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: "
                                   f"{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/sparql?query=ASK%7B%7D", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"virtuoso-t did not answer within {timeout:g} s: {self._log_tail()}")
            time.sleep(0.3)
        dba = secrets.token_hex(12)
        self.isql(f"USER_CREATE('{self.user}', '{self.password}');",
                  f"GRANT SPARQL_UPDATE TO \"{self.user}\";",
                  # GSP writes check the user's default graph permissions (1 read, 2 write, 4 sponge…):
                  # read and write, never sponge (which would fetch URLs).
                  f"DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{self.user}', 3);",
                  "DB.DBA.RDF_DEFAULT_USER_PERMS_SET('nobody', 1);",
                  f"USER_SET_PASSWORD('dba', '{dba}');")
        self.dba_password = dba
        return self

    def isql(self, *statements: str, timeout: float = 60) -> str:
        """Run SQL statements as dba (the bulk loader: `ld_dir(DIR, FILE, GRAPH)`, `rdf_loader_run()`,
        `checkpoint`; files must be under the database folder, the only one in DirsAllowed)."""
        script = "\n".join(statements) + "\n"
        result = subprocess.run([isql_binary(), f"127.0.0.1:{self.sql_port}", "dba", self.dba_password],
                                input=script, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0 or "*** Error" in result.stdout:
            raise RuntimeError(f"isql failed: {result.stdout}\n{result.stderr}")
        return result.stdout

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def _log_tail(self) -> str:
        log = self.dir / "virtuoso.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def __enter__(self) -> "Virtuoso":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))    # `kill PID` stops the instance too
    with Virtuoso(Path(argv[0])) as v:
        print(f"Virtuoso on {v.url} (SQL port {v.sql_port}, dba password {v.dba_password}).")
        for name, value in v.settings_env().items():
            print(f"export {name}={value}")
        print("Ctrl-C (or SIGTERM) stops it.", flush=True)
        try:
            v.process.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
