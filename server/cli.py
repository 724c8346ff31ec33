"""The `entente` command: one front door for building, validating, serving and contributing.

Each subcommand reads its options, builds a `Settings` and calls the module that does the work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .settings import Settings


def _comma_list(_ctx, _param, value):
    return None if value is None else tuple(p.strip() for p in value.split(",") if p.strip())


@click.group()
@click.version_option(package_name="entente")
def main() -> None:
    """Entente: an evidence-backed linked-data knowledge graph of one news article."""


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write the dataset (TriG).")
@click.option("--no-reason", is_flag=True, help="Skip HermiT (faster; publishes no inferred graphs).")
@click.option("--no-full-text", is_flag=True, default=None,
              help="Publish the article without its text: spans keep quotes and offsets, the article its "
                   "SHA-256 and length [ENTENTE_FULL_TEXT=false].")
def build(out: Path | None, no_reason: bool, no_full_text: bool | None) -> None:
    """Build the published dataset from seeds/, ontology/, data/ and the reasoner."""
    from .graph import build as build_module

    settings = Settings.from_env(full_text=False if no_full_text else None)
    sys.exit(build_module.main(out or settings.dataset, reason=not no_reason, full_text=settings.full_text,
                               license=settings.license))


@main.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "rdf_format", default=None, help="RDF format of FILE (default: from its extension).")
@click.option("--article", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Your copy of the article's text: checked against the dataset's SHA-256 and length, and "
                   "every span's quote against it (for a dataset built with --no-full-text).")
def validate(file: Path | None, rdf_format: str | None, article: Path | None) -> None:
    """Validate the built dataset (or FILE, a contribution) against the shapes; non-zero exit on violations."""
    from .graph import submissions, validation

    settings = Settings.from_env()
    sys.exit(validation.main(file, rdf_format=rdf_format, dataset=settings.dataset,
                             parse_user_file=submissions.parse_file, article=article))


@main.command()
@click.option("--host", default=None, help="Address to listen on [ENTENTE_HOST].")
@click.option("--port", type=int, default=None, help="Port [ENTENTE_PORT].")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes [ENTENTE_WORKERS].")
@click.option("--threads", type=int, default=None, help="Threads per worker process [ENTENTE_THREADS].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of the persistent store [ENTENTE_DATA_DIR].")
@click.option("--dataset", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Built dataset to load [ENTENTE_DATASET].")
@click.option("--empty", is_flag=True, default=None, help="Scratch store, nothing loaded [ENTENTE_EMPTY].")
@click.option("--union-default-graph/--no-union-default-graph", default=None,
              help="Default graph = union of named graphs [ENTENTE_UNION_DEFAULT_GRAPH].")
@click.option("--query-timeout", type=float, default=None, help="Seconds per query [ENTENTE_QUERY_TIMEOUT].")
@click.option("--max-results", type=int, default=None, help="Row/triple limit [ENTENTE_MAX_RESULTS].")
@click.option("--public-url", default=None, help="Public URL of the server [ENTENTE_PUBLIC_URL].")
@click.option("--service-allowlist", default=None,
              callback=lambda ctx, param, v: _comma_list(ctx, param, v),
              help="SPARQL endpoints SERVICE may call, comma-separated [ENTENTE_SERVICE_ALLOWLIST].")
@click.option("--service-timeout", type=float, default=None,
              help="Seconds for a query that calls SERVICE [ENTENTE_SERVICE_TIMEOUT].")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Run on this SPARQL engine's query endpoint instead of the embedded store [ENTENTE_STORE_URL]; "
                   "see docs/remote-store.md.")
@click.option("--trusted-hosts", default=None, callback=_comma_list,
              help="Host names the server answers for [ENTENTE_TRUSTED_HOSTS].")
@click.option("--trusted-proxies", default=None, callback=_comma_list,
              help="Reverse proxies whose X-Forwarded-* headers are believed [ENTENTE_TRUSTED_PROXIES].")
def serve(**options) -> None:
    """Load the dataset into the store (idempotently) and serve it with gunicorn."""
    from .web import serving

    settings = Settings.from_env(**options)
    sys.exit(serving.main(settings))


@main.command()
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Query endpoint of the SPARQL engine [ENTENTE_STORE_URL]; update and Graph Store endpoints "
                   "from ENTENTE_STORE_UPDATE_URL / ENTENTE_STORE_GSP_URL, credentials from ENTENTE_STORE_USER / "
                   "ENTENTE_STORE_PASSWORD. Without it: the embedded store under --data-dir.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of the embedded store [ENTENTE_DATA_DIR].")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Built dataset to load [ENTENTE_DATASET].")
def load(**options) -> None:
    """Put the built dataset into the store by its bulk path (a remote engine: small graphs many to one SPARQL Update,
    large ones by a Graph Store PUT each); nothing is done when the same file is loaded already."""
    import time

    from .errors import EntenteError
    from .store import open_store

    settings = Settings.from_env(**options)
    if not Path(settings.dataset).exists():
        raise click.ClickException(f"no dataset at {settings.dataset} (run `entente build`)")
    started = time.monotonic()
    store = open_store(settings)
    loaded = store.load_dataset(Path(settings.dataset))
    elapsed = time.monotonic() - started
    where = settings.store_url or str(settings.data_dir)
    if loaded:
        graphs = len(store.graph_names())
        try:
            size = f"{store.count()} quads in {graphs} named graphs"
        except EntenteError:      # a remote engine may not count tens of thousands of graphs in the time limit
            size = f"{graphs} named graphs (not counted within the query time limit)"
        click.echo(f"entente: loaded {settings.dataset} into {where}: {size}, {elapsed:.2f} s")
    else:
        click.echo(f"entente: {settings.dataset} is loaded already in {where}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", "server_url", required=True, help="Base URL of an Entente server.")
@click.option("--format", "rdf_format", default=None, help="RDF format of FILE (default: from its extension).")
def contribute(file: Path, server_url: str, rdf_format: str | None) -> None:
    """Send FILE as a contribution (token from ENTENTE_CONTRIBUTOR_TOKEN); non-zero exit if refused."""
    from . import client

    sys.exit(client.contribute(file, server_url, rdf_format=rdf_format))


@main.group()
def export() -> None:
    """Write the graph in other ecosystems' formats (reads the built dataset; see docs/exports.md)."""


_dataset_option = click.option("--dataset", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="Built dataset to read [ENTENTE_DATASET] (run `entente build` first).")
_out_option = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                           help="Write here instead of standard output.")
_url_option = click.option("--public-url", default=None,
                           help="Server URL that the output's own IRIs start with [ENTENTE_PUBLIC_URL] "
                                "(default: the data's base IRI).")


def _export_data(dataset: Path | None):
    from .exports.dataset import Data, DatasetFile

    settings = Settings.from_env(dataset=dataset)
    try:
        return settings, Data.load(DatasetFile(settings.dataset))
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None


def _export_root(settings, public_url: str | None) -> str:
    return (public_url or settings.public_url or settings.base_iri).rstrip("/")


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        out.write_text(text, encoding="utf-8")


@export.command("reconcile")
@click.argument("names", nargs=-1, required=True)
@click.option("--type", "types", multiple=True, help="Only candidates of this class (e.g. ent:Person); repeatable.")
@click.option("--limit", type=int, default=3, show_default=True, help="Candidates per name.")
@_dataset_option
def export_reconcile(names, types, limit, dataset) -> None:
    """Reconcile NAMES against the entities, as /reconcile does (a 0.2 result batch as JSON)."""
    import json

    from .exports import reconcile

    _, data = _export_data(dataset)
    try:
        queries = reconcile.parse_batch({f"q{i}": {"query": n, "type": list(types), "limit": limit}
                                         for i, n in enumerate(names)})
    except reconcile.ReconcileError as e:
        raise click.BadParameter(str(e)) from None
    click.echo(json.dumps(reconcile.answer_batch(data, queries), ensure_ascii=False, indent=1))


@export.command("annotations")
@_dataset_option
@_out_option
@_url_option
def export_annotations(dataset, out, public_url) -> None:
    """Every evidence span as a W3C Web Annotation: one JSON-LD AnnotationCollection (as /annotations/)."""
    import json

    from .exports import annotations

    settings, data = _export_data(dataset)
    doc = annotations.collection(data, _export_root(settings, public_url), settings.license)
    _write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", out)


@export.command("nanopubs")
@_dataset_option
@_out_option
@click.option("--claim", default=None, help="Only this claim (its IRI or local name, e.g. clerics-finance-hezbollah).")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="RSA private key (PEM) to sign with [ENTENTE_NANOPUB_KEY_FILE]; unsigned without one.")
@click.option("--orcid", default=None, help="ORCID of the signer [ENTENTE_NANOPUB_ORCID].")
def export_nanopubs(dataset, out, claim, key_file, orcid) -> None:
    """Every claim as a nanopublication (TriG); signed, with trusty URIs, when a key is given."""
    from datetime import datetime, timezone

    from .exports import nanopubs

    settings, data = _export_data(dataset)
    settings = settings.replace(nanopub_key_file=key_file or settings.nanopub_key_file,
                                nanopub_orcid=orcid or settings.nanopub_orcid)
    created = datetime.fromtimestamp(Path(settings.dataset).stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        signer = nanopubs.signer_from(settings)
        if claim:
            found = nanopubs.find(data, claim if ":" in claim else settings.base_iri + "claim/" + claim)
            if found is None:
                raise click.ClickException(f"No claim {claim!r} with triples in {settings.dataset}.")
            text = nanopubs.nanopub(data, found, created, settings.license, signer)
        else:
            text = nanopubs.all_nanopubs(data, created, settings.license, signer)
    except nanopubs.SigningError as e:
        raise click.ClickException(str(e)) from None
    _write(text, out)


@export.command("quickstatements")
@_dataset_option
@_out_option
@click.option("--include-attributed", is_flag=True,
              help="Also quoted, paraphrased and reported claims, with the speaker as qualifier P3680.")
def export_quickstatements(dataset, out, include_attributed) -> None:
    """The claims Wikidata can take, with references, as QuickStatements V1; what is left out goes to stderr."""
    from .exports import quickstatements

    _, data = _export_data(dataset)
    export = quickstatements.statements(data, include_attributed)
    try:
        text = "".join(line + "\n" for line in quickstatements.lines(data, export))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    _write(text, out)
    click.echo(f"{len(export.statements)} statements from {len({s.claim for s in export.statements})} claims; "
               f"{len(export.skipped)} claims with linked items left out:", err=True)
    for claim, reason in export.skipped:
        click.echo(f"  {claim}: {reason}", err=True)


@main.group()
def wikidata() -> None:
    """Compare the data with a Wikidata SPARQL endpoint (only the endpoint named is contacted)."""


_endpoint_option = click.option("--endpoint", required=True,
                                help="SPARQL endpoint in Wikidata's RDF model, e.g. https://query.wikidata.org/sparql")
_json_option = click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")


@wikidata.command("diff")
@_endpoint_option
@_json_option
@_dataset_option
@click.option("--include-attributed", is_flag=True, help="Also the attributed statements (as in QuickStatements).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per query.")
def wikidata_diff(endpoint, as_json, dataset, include_attributed, timeout) -> None:
    """For each exportable statement: already in Wikidata, new, or in conflict (and why)."""
    from .exports import wikidata as wd

    _, data = _export_data(dataset)
    try:
        rows = wd.diff(data, wd.Endpoint(endpoint, timeout), include_attributed)
    except wd.EndpointError as e:
        raise click.ClickException(str(e)) from None
    click.echo(wd.as_json(rows) if as_json else wd.diff_text(rows), nl=False)


@wikidata.command("check")
@_endpoint_option
@_json_option
@_dataset_option
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per query.")
def wikidata_check(endpoint, as_json, dataset, timeout) -> None:
    """For each owl:sameAs link: the item exists, is no redirect, and its label and type fit; exit 1 if not."""
    from .exports import wikidata as wd

    _, data = _export_data(dataset)
    try:
        rows = wd.check(data, wd.Endpoint(endpoint, timeout))
    except wd.EndpointError as e:
        raise click.ClickException(str(e)) from None
    click.echo(wd.as_json(rows) if as_json else wd.check_text(rows), nl=False)
    sys.exit(1 if any(r.verdict != "ok" for r in rows) else 0)


@main.command("settings-table")
def settings_table() -> None:
    """Print the table of docs/settings.md: every setting with its flag, variable, default and help."""
    click.echo(markdown_table(), nl=False)


def markdown_table() -> str:
    """The table of docs/settings.md, from the one settings table and `entente serve`'s flags."""
    from . import settings as settings_module

    flags = {}
    for param in serve.params:
        if param.name and param.opts:
            flags[param.name] = " / ".join(f"`{o}`" for o in param.opts + list(param.secondary_opts))
    lines = ["| setting | `entente serve` flag | environment variable | default | what |",
             "|---|---|---|---|---|"]
    for name, var, default, help_text in settings_module.describe():
        shown = f"`{default}`" if default else "(empty)"
        lines.append(f"| `{name}` | {flags.get(name, '—')} | `{var}` | {shown} | {help_text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
