"""Bearer tokens, roles and per-token rate limits.

Tokens come from settings (`maintainer_token`, `contributor_token`) and from `token_file` (lines
`role sha256-hex [name]`). Only their SHA-256 hashes are kept; a presented token is hashed and
compared with every known hash by `hmac.compare_digest`, so the comparison takes the same time
whichever hash (if any) matches. A maintainer may do everything a contributor may.

Missing token: 401 with `WWW-Authenticate: Bearer`. Unknown token or a role too low: 403.
Rate limits (a sliding minute) are counted in a small SQLite file under `<data_dir>/contributions/`, so that every
gunicorn worker process shares the same count.

In a view:
    @bp.post("/contributions")
    @auth.require("contributor", rate_limited=True)
    def create(): identity = auth.current_identity() …
or, in the middle of a view, `identity = auth.authorize("maintainer")`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Forbidden, TooManyRequests, Unauthorized
from ..settings import Settings

ROLES = ("contributor", "maintainer")   # lowest first: a role may do what the roles before it may


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who sent a request: the role and a public name. Never the token."""
    role: str
    name: str
    key: str       # the rate-limit key: a digest of the token's hash (so the counter file holds no token hash)

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class Tokens:
    """The known tokens, as sha256 hashes only."""

    def __init__(self, entries: list[tuple[str, str, str]]):
        self._entries = [(bytes.fromhex(h), role, name) for h, role, name in entries]   # (hash, role, name)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Tokens":
        entries = []
        if settings.maintainer_token:
            entries.append((sha256_hex(settings.maintainer_token), "maintainer", "maintainer"))
        if settings.contributor_token:
            entries.append((sha256_hex(settings.contributor_token), "contributor", "contributor"))
        if settings.token_file:
            entries += read_token_file(Path(settings.token_file))
        return cls(entries)

    def enables(self, role: str) -> bool:
        """Whether any token here has `role` (or higher): a server without one accepts no such writes."""
        return any(ROLES.index(r) >= ROLES.index(role) for _, r, _ in self._entries)

    @property
    def hashes(self) -> list[str]:
        return [h.hex() for h, _, _ in self._entries]

    def lookup(self, token: str) -> Identity | None:
        """The identity whose hash matches; every entry is compared, in constant time each."""
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        found = None
        for digest, role, name in self._entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = Identity(role, name, hashlib.sha256(b"rate-limit\0" + digest).hexdigest())
        return found


def read_token_file(path: Path) -> list[tuple[str, str, str]]:
    """Lines `role sha256-hex [name]`; `#` starts a comment. Raises ValueError naming the bad line."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 3) or parts[0] not in ROLES or len(parts[1]) != 64:
            raise ValueError(f"{path}:{number}: expected 'role sha256-hex [name]' with role in {ROLES}")
        try:
            bytes.fromhex(parts[1])
        except ValueError:
            raise ValueError(f"{path}:{number}: the hash is not hexadecimal") from None
        entries.append((parts[1].lower(), parts[0], parts[2] if len(parts) == 3 else parts[0]))
    return entries


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, None if there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check(authorization: str | None, tokens: Tokens, *roles: str) -> Identity:
    """The identity for an Authorization header that holds one of `roles` (or higher); raises 401/403."""
    needed = roles or ROLES[:1]
    if not any(tokens.enables(role) for role in needed):
        raise Forbidden(f"This server accepts no writes that need the role {' or '.join(needed)}: it was started "
                        f"without a {needed[0]} token. Its operator can enable them (docs/settings.md); "
                        "reading, SPARQL queries and /validate dry runs work without one.")
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized()
    identity = tokens.lookup(token)
    if identity is None:
        raise Forbidden("The bearer token is not valid here.")
    if not any(identity.may(role) for role in needed):
        raise Forbidden(f"This needs the role {' or '.join(needed)}; the token has the role {identity.role}.")
    return identity


class RateLimiter:
    """At most `per_minute` hits per key in any 60 seconds (a sliding log in SQLite, shared by processes)."""

    WINDOW = 60.0

    def __init__(self, path: Path, per_minute: int):
        self.path = Path(path)
        self.per_minute = per_minute
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute("CREATE TABLE IF NOT EXISTS hit_log (key TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS hit_log_key ON hit_log (key, at)")
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def hit(self, key: str, now: float | None = None, per_minute: int | None = None, what: str = "with this token") -> None:
        """Count one hit for `key`; raises TooManyRequests (429, Retry-After) past the limit
        (`per_minute`, default the limiter's own)."""
        per_minute = self.per_minute if per_minute is None else per_minute
        if per_minute <= 0:
            return
        now = time.time() if now is None else now
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM hit_log WHERE key = ? AND at <= ?", (key, now - self.WINDOW))
            count, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM hit_log WHERE key = ?", (key,)).fetchone()
            if count >= per_minute:
                db.execute("COMMIT")
                retry = max(1, math.ceil(oldest + self.WINDOW - now))
                raise TooManyRequests(f"More than {per_minute} requests a minute {what}; "
                                      f"try again in {retry} s.", headers={"Retry-After": str(retry)})
            db.execute("INSERT INTO hit_log (key, at) VALUES (?, ?)", (key, now))
            db.execute("COMMIT")
        finally:
            db.close()


def rate_limit_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "contributions" / "ratelimit.sqlite"


# --- Flask glue (imported lazily so that the functions above need no Flask) ---------------------

def _app_state():
    from flask import current_app

    from .urls import settings as app_settings

    ext = current_app.extensions
    if "entente.tokens" not in ext:
        settings = app_settings()
        limiter = RateLimiter(rate_limit_path(settings), settings.rate_limit)
        # the limiter first: another thread that sees the tokens must find it (gthread workers)
        ext["entente.ratelimiter"] = limiter
        ext["entente.tokens"] = Tokens.from_settings(settings)
    return ext["entente.tokens"], ext["entente.ratelimiter"]


def authorize(*roles: str, rate_limited: bool = False) -> Identity:
    """Function form: the identity of the current request, or 401/403 (and 429 when rate_limited)."""
    from flask import g, request

    tokens, _ = _app_state()
    identity = check(request.headers.get("Authorization"), tokens, *roles)
    if rate_limited:
        count(identity)
    g.entente_identity = identity
    return identity


def count(identity: Identity) -> None:
    """One request against the token's allowance (429 past it); for a caller that counts after its own checks."""
    _, limiter = _app_state()
    limiter.hit(identity.key)


def writes_enabled() -> dict[str, bool]:
    """Which writes this server accepts at all (for /health and the home page)."""
    tokens, _ = _app_state()
    return {"contributions": tokens.enables("contributor"), "review_and_updates": tokens.enables("maintainer")}


def address_key(address: str | None) -> str:
    """The rate-limit key of a client address: IPv4 as it is, IPv6 by its /64 (one site or host may hold a
    whole /64, and rotating addresses inside it must not multiply its allowance)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "address:" + (address or "unknown")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"address:{ip}"


def limit_anonymous(address: str | None) -> None:
    """Rate-limit a request without a token (e.g. a dry run): by the client's address (IPv6 by /64), and all
    anonymous requests together under settings.anonymous_rate_limit; 429 past either."""
    from .urls import settings as app_settings

    _, limiter = _app_state()
    limiter.hit(address_key(address), what="from this address")
    limiter.hit("anonymous:all", per_minute=app_settings().anonymous_rate_limit,
                what="from all clients without a token together (this server's ceiling)")


def require(*roles: str, rate_limited: bool = False):
    """Decorator for Flask views: the request must carry a token with one of `roles` (or higher)."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {ROLES}")

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            authorize(*roles, rate_limited=rate_limited)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def current_identity() -> Identity | None:
    from flask import g

    return g.get("entente_identity")


__all__ = ["Identity", "Tokens", "RateLimiter", "check", "authorize", "count", "require", "current_identity", "limit_anonymous",
           "sha256_hex", "read_token_file", "bearer_token"]
