"""The store: one small interface (query, update, write, load, dump, version) and its backend.

`embedded.py` is pyoxigraph (snapshot reader, query process, writer process); `sparql_text.py` reads SPARQL text."""
from .embedded import (Store, ResultTooLarge, check_federation, check_update, get_store, init_app,  # noqa: F401
                       parse_rdf, set_writer_start_method)
