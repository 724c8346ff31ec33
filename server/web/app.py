"""`create_app(settings)`: the Flask application with its store, blueprints, error handler and header hooks."""

from __future__ import annotations

from flask import Flask

from ..settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True   # pages without template indentation
    app.config["ENTENTE"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes

    from .. import errors, store

    from . import headers, hosts

    store.init_app(app, settings)
    from ..store.answers import AnswerCache

    app.extensions["entente.answers"] = AnswerCache(settings.answer_cache_mb * 2**20)
    errors.init_app(app)
    headers.init_app(app)

    from . import contributions, exports, linked_data, pages, reconcile, sparql

    app.register_blueprint(sparql.bp)
    app.register_blueprint(linked_data.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(contributions.bp)
    app.register_blueprint(reconcile.bp)
    app.register_blueprint(exports.bp)
    hosts.init_app(app, settings)
    return app
