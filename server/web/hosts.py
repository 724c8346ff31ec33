"""Which Host a request may name, and whose X-Forwarded-* headers are believed: WSGI middleware in front of Flask.

Without a public URL, the server builds its links (Location, Link, VoID, pages) from the request's
Host, so a forged Host would be written into answers a shared cache may keep. Requests are therefore
answered only for the trusted host names (settings.trusted_hosts; by default localhost, 127.0.0.1,
::1, the listening address and the public URL's host), with a 400 otherwise; a Host that is not a
well-formed name (`xn--`, stray bytes) is a 400 too, before any code tries to decode it.

X-Forwarded-For/-Proto/-Host/-Port are applied (werkzeug's ProxyFix, one proxy deep) only when the
connection comes from an address in settings.trusted_proxies; from anyone else they are dropped.
"""

from __future__ import annotations

import ipaddress
import json
import re

from werkzeug.middleware.proxy_fix import ProxyFix

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
_FORWARDED = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
              "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")


def default_hosts(settings) -> tuple[str, ...]:
    """The host names answered when settings.trusted_hosts is empty."""
    from urllib.parse import urlsplit

    hosts = ["localhost", "127.0.0.1", "::1"]
    if settings.host not in ("0.0.0.0", "::", ""):
        hosts.append(settings.host)
    if settings.public_url:
        name = urlsplit(settings.public_url).hostname
        if name:
            hosts.append(name)
    return tuple(dict.fromkeys(h.lower() for h in hosts))


def split_host(host: str) -> tuple[str, str | None] | None:
    """(name, port) of a Host header value, None if it is not a well-formed host."""
    host = host.strip().lower()
    if host.startswith("["):                               # [IPv6]:port
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[1:end], host[end + 1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
        if rest and not (rest.startswith(":") and _PORT.match(rest[1:])):
            return None
        return name, rest[1:] or None
    name, _, port = host.partition(":")
    if port and not _PORT.match(port):
        return None
    labels = name.rstrip(".").split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    for label in labels:
        if label.startswith("xn--"):                       # punycode must decode (else 500s deeper down)
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return None
    return name.rstrip("."), port or None


def trusted(name: str, hosts) -> bool:
    """`name` is one of `hosts`, or under one written with a leading dot (".example.org")."""
    for h in hosts:
        if name == h or (h.startswith(".") and (name.endswith(h) or name == h[1:])):
            return True
    return False


class HostCheck:
    """WSGI middleware: trusted proxies' forwarded headers applied, others dropped; untrusted Host → 400."""

    def __init__(self, app, hosts, proxies):
        self.app = app
        self.hosts = tuple(h.lower() for h in hosts)
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in proxies]
        # ProxyFix rewrites the environ from the forwarded headers, then the Host check runs on the result
        self.proxied = ProxyFix(lambda env, sr: self._check(env, sr), x_for=1, x_proto=1, x_host=1, x_port=1)

    def _from_proxy(self, environ) -> bool:
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(peer in net for net in self.proxies)

    def __call__(self, environ, start_response):
        if self.proxies and self._from_proxy(environ):
            return self.proxied(environ, start_response)
        for key in _FORWARDED:
            environ.pop(key, None)
        return self._check(environ, start_response)

    def _check(self, environ, start_response):
        app = self.app
        raw = environ.get("HTTP_HOST")
        if raw is None:                                    # HTTP/1.0 without Host: the server's own name
            return app(environ, start_response)
        parsed = split_host(raw)
        if parsed is None:
            return _bad_request(environ, start_response,
                                f"The Host header {raw[:100]!r} is not a well-formed host name.")
        if not trusted(parsed[0], self.hosts):
            return _bad_request(environ, start_response,
                                f"This server does not answer for the host {parsed[0][:100]!r}. Its operator "
                                "can add it to ENTENTE_TRUSTED_HOSTS (or set ENTENTE_PUBLIC_URL).")
        return app(environ, start_response)


def _bad_request(environ, start_response, message: str):
    """A 400 in the shape of errors.render (JSON for JSON callers, else text); no Flask here."""
    if "json" in environ.get("HTTP_ACCEPT", ""):
        body = json.dumps({"status": 400, "error": "Bad Request", "message": message,
                           "where": {"header": "Host"}}, indent=2).encode()
        ctype = "application/json"
    else:
        body = f"400 Bad Request: {message}\nWhere: Host\n".encode()
        ctype = "text/plain; charset=utf-8"
    start_response("400 Bad Request", [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                       ("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-store")])
    return [body]


def init_app(app, settings) -> None:
    hosts = settings.trusted_hosts or default_hosts(settings)
    app.wsgi_app = HostCheck(app.wsgi_app, hosts, settings.trusted_proxies)
