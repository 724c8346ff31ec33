"""`entente serve`: load the dataset into the store idempotently, then run gunicorn.

FIRST VERSION (to be refined by the SPARQL-service work): one gunicorn worker.
"""

from __future__ import annotations

import sys

from gunicorn.app.base import BaseApplication

from .settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", 1)
        self.cfg.set("accesslog", "-")

    def load(self):
        from .app import create_app

        return create_app(self.settings)


def main(settings: Settings) -> int:
    print(f"Entente serving on http://{settings.host}:{settings.port}/", file=sys.stderr, flush=True)
    _Gunicorn(settings).run()
    return 0
