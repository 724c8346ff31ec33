"""The one table of settings.

Every setting has a name, a default, an `ENTENTE_…` environment variable and a help text.
CLI flags override environment variables, which override defaults. No other module reads
the environment: they are handed a `Settings` object.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import resources

PROJECT_ROOT = resources.CHECKOUT
# Where the store and the built dataset go: inside the checkout, or the user's data folder once installed.
STATE_ROOT = PROJECT_ROOT if resources.IN_CHECKOUT else \
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "entente"


def _setting(default, help: str, env: str | None = None):
    return field(default=default, metadata={"help": help, "env": env})


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "Address to listen on.")
    port: int = _setting(8000, "Port to listen on.")
    workers: int = _setting(2, "gunicorn worker processes.")
    data_dir: Path = _setting(STATE_ROOT / "var" / "store", "Directory of the persistent store.")
    dataset: Path = _setting(STATE_ROOT / "build" / "entente.trig", "Built dataset loaded at start-up.")
    threads: int = _setting(
        32, "Threads per worker process (requests one worker answers at once; a SHACL validation holds one while it "
            "runs, so few threads let validations starve queries — docs/benchmarks.md)."
    )
    switch_interval: float = _setting(
        0.001, "Seconds a worker thread may hold Python's GIL while another waits (sys.setswitchinterval; Python's "
               "default is 0.005): shorter lets the event loop's cached answers and quick requests past threads that "
               "render pages (docs/benchmarks.md, mixed load)."
    )
    request_header_timeout: float = _setting(
        10.0, "Seconds a client has to send a request's head (line and headers); then 408 and the connection closes."
    )
    request_body_timeout: float = _setting(
        60.0, "Seconds a client has, after the head, to send the body; then 408 and the connection closes."
    )
    empty: bool = _setting(False, "Start with a scratch store and load nothing (for conformance runs).")
    base_iri: str = _setting("https://w3id.org/entente/", "Base IRI of the data; mapped onto the server's own URL.")
    public_url: str = _setting("", "The server's public URL (default: taken from each request's Host).")
    trusted_hosts: tuple[str, ...] = _setting(
        (), "Host names requests may name in Host (comma-separated; '.example.org' takes its subdomains too); "
            "others get 400. Default: localhost, 127.0.0.1, ::1, the listening address and the public URL's host."
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (), "Addresses or networks of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed "
            "(comma-separated; default: none)."
    )
    union_default_graph: bool = _setting(
        True, "Default graph is the union of all named graphs (override per query with ?union-default-graph=false)."
    )
    query_timeout: float = _setting(10.0, "Seconds a query or update may run before it is stopped (503).")
    max_results: int = _setting(10000, "Most rows/triples a query may return; larger answers are refused, never cut.")
    answer_cache_mb: float = _setting(
        32.0, "MiB for each of a worker's two caches: whole answers to repeated GETs, and serialized /sparql answers "
        "(emptied by every write; 0: both off)."
    )
    max_body_bytes: int = _setting(10 * 1024 * 1024, "Largest request body accepted (413 beyond).")
    max_contribution_triples: int = _setting(
        10000, "Most triples a contribution (or a /validate dry run) may hold (413 beyond); SHACL takes ~3 ms a triple."
    )
    max_literal_length: int = _setting(
        100_000, "Longest literal (characters) a contribution or /validate body may hold (413 beyond)."
    )
    parse_memory: int = _setting(
        1024 * 1024 * 1024, "Bytes of memory the child process that parses and validates one body may add (413 beyond)."
    )
    validation_timeout: float = _setting(
        30.0, "Seconds parsing, checking and SHACL validation of one body may take in all (in a child process, "
              "killed at the limit: 503)."
    )
    max_validations: int = _setting(
        2, "SHACL validations (dry runs and contributions) the whole server runs at once, all workers together; "
           "beyond it 503 with Retry-After and nothing stored (0: no bound). Each takes a core while it runs, and "
           "more at once than cores starve queries (docs/benchmarks.md, mixed load)."
    )
    service_allowlist: tuple[str, ...] = _setting(
        ("https://query.wikidata.org/sparql",), "SPARQL endpoints that SERVICE may call (comma-separated)."
    )
    service_timeout: float = _setting(
        10.0, "Seconds a query that calls SERVICE may take in all, remote calls included (then 503)."
    )
    maintainer_token: str = _setting("", "Bearer token for maintainers (writes, review).")
    contributor_token: str = _setting("", "Bearer token for contributors.")
    token_file: Path | None = _setting(None, "File of hashed tokens, one 'role sha256-hex' per line.")
    rate_limit: int = _setting(
        30, "Contributions a token (or anonymous dry runs an address, IPv6 by /64) may send per minute (429 beyond)."
    )
    anonymous_rate_limit: int = _setting(
        120, "Anonymous dry runs (/validate) all clients together may send per minute (429 beyond)."
    )
    license: str = _setting("https://creativecommons.org/licenses/by/4.0/", "Licence of the published data.")
    nanopub_key_file: Path | None = _setting(
        None, "RSA private key (PEM) that signs the nanopublications (trusty URIs); unsigned when unset (docs/exports.md)."
    )
    nanopub_orcid: str = _setting("", "ORCID of whoever signs the nanopublications (nanopub-sign requires one with a key).")
    full_text: bool = _setting(
        True, "`entente build` publishes the article's text; false (`--no-full-text`): only its SHA-256 and length."
    )
    store_url: str = _setting(
        "", "Query endpoint of a SPARQL 1.1 engine to run on instead of the embedded store (docs/remote-store.md)."
    )
    store_update_url: str = _setting("", "Update endpoint of the remote engine (default: store_url).")
    store_gsp_url: str = _setting("", "Graph Store Protocol endpoint of the remote engine (bulk loads, graph reads).")
    store_user: str = _setting("", "User name for the remote engine (HTTP basic or digest auth).")
    store_password: str = _setting("", "Password for the remote engine; set it in the environment, never on a command line.")
    store_auth: str = _setting("basic", "How to send the remote engine's credentials: basic or digest.")
    store_engine: str = _setting(
        "auto", "The remote engine's kind (virtuoso, fuseki, graphdb, qlever, neptune, generic; auto: from its Server header)."
    )
    store_default_graph: str = _setting(
        "urn:x-entente:default-graph", "Graph of the remote engine that holds Entente's default graph."
    )
    store_meta_graph: str = _setting(
        "urn:x-entente:store", "Graph of the remote engine where Entente keeps its version and load record."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then `ENTENTE_*` variables, then explicit overrides (None means 'not given')."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            var = env_var(f)
            if var in environ:
                values[f.name] = _convert(f, environ[var])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def env_var(f: dataclasses.Field) -> str:
    return f.metadata.get("env") or "ENTENTE_" + f.name.upper()


def _convert(f: dataclasses.Field, raw: str):
    default = f.default
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{env_var(f)}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if f.name in ("data_dir", "dataset", "token_file", "nanopub_key_file"):
        return Path(raw) if raw else None
    return raw


def describe() -> list[tuple[str, str, str, str]]:
    """(name, env var, default, help) for every setting: the README's table is generated from this."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default
        if isinstance(default, Path):
            default = str(default.relative_to(STATE_ROOT)) if default.is_relative_to(STATE_ROOT) else str(default)
        elif isinstance(default, tuple):
            default = ",".join(default)
        rows.append((f.name, env_var(f), str(default), f.metadata["help"]))
    return rows
