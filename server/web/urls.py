"""The one home of this server's addresses (as Datasette's url_builder): the running app's settings, the
URL this server is reached at, and the mapping between the data's IRIs and this server's URLs.

The data always uses settings.base_iri; links, Locations and pages point at `public_root()`:
settings.public_url, else the URL the request came in on (its `url_root`, so a mount prefix is kept).
"""

from __future__ import annotations

from flask import Response, current_app, has_request_context, request

from ..graph import iris
from ..settings import Settings


def settings() -> Settings:
    """The settings of the running app (set once by `create_app`)."""
    return current_app.config["ENTENTE"]


def public_root() -> str:
    """The URL this server is reached at, without a trailing slash ('' outside a request)."""
    url = settings().public_url or (request.url_root if has_request_context() else "")
    return url.rstrip("/")


def public_base() -> str:
    """`public_root()` with its trailing slash: what pages resolve their links against."""
    return public_root() + "/"


def to_public(iri: str, base: str | None = None) -> str:
    """The URL of this server where `iri` is fetched (unchanged if `iri` is not under `base`)."""
    return iris.to_public(iri, public_root(), base or settings().base_iri)


def data_iri(path: str) -> str:
    """The data IRI a server path (without leading slash) names."""
    root = public_root()
    return iris.from_public(root + "/" + path, root, settings().base_iri)


def see_other(location: str) -> Response:
    """A 303 that depends only on the request and the data (caches revalidate it; the worker's response
    cache may send it again until the next write)."""
    body = f"303 See Other: {location}\n"
    return Response(body, 303, headers={"Location": location, "Cache-Control": "public, no-cache"},
                    content_type="text/plain; charset=utf-8")
