"""The store: one small interface (query, update, write, load, dump, version) and its two backends.

`embedded.py` is pyoxigraph (snapshot reader, query process, writer process) and documents the interface;
`remote.py` is the same interface on an existing SPARQL 1.1 engine over HTTP (settings.store_url);
`sparql_text.py` reads SPARQL text. `open_store(settings)` picks the backend."""

from __future__ import annotations

from pathlib import Path

from ..settings import Settings
from .embedded import (Store, ResultTooLarge, check_federation, check_update, parse_rdf,  # noqa: F401
                       set_writer_start_method)


def open_store(settings: Settings):
    """A RemoteStore on the SPARQL engine at settings.store_url when it is set, else the embedded Store."""
    if settings.store_url:
        from .remote import RemoteStore

        return RemoteStore(settings)
    return Store(settings)


def init_app(app, settings: Settings) -> None:
    """Attach the store. `entente serve` loads the dataset before forking workers; an app made some
    other way (a test client) loads it here if this store has never loaded one. A worker that gunicorn
    restarts never reloads a rebuilt dataset behind the other workers' backs: that waits for a restart."""
    store = open_store(settings)
    if not settings.empty and Path(settings.dataset).exists() and not store.has_loaded_dataset():
        store.load_dataset(Path(settings.dataset))
    app.extensions["entente.store"] = store


def get_store():
    from flask import current_app

    return current_app.extensions["entente.store"]
