"""Auth: hashed tokens, roles, constant-time comparison, rate limits shared by processes.

Quick checks with a small Flask app and the test client; the real server's 401/403/429 answers
are tested over HTTP in test_contributions.py.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import pickle

import pytest
from flask import Flask

from server.web import auth

from server import errors
from server.errors import Forbidden, TooManyRequests, Unauthorized
from server.settings import Settings

MAINTAINER = "m-secret-token-0001"
CONTRIBUTOR = "c-secret-token-0002"


def make_app(tmp_path, **settings) -> Flask:
    app = Flask(__name__)
    app.config["ENTENTE"] = Settings(data_dir=tmp_path, maintainer_token=MAINTAINER,
                                     contributor_token=CONTRIBUTOR, **settings)
    errors.init_app(app)

    @app.post("/write")
    @auth.require("maintainer")
    def write():
        return auth.current_identity().role

    @app.post("/contribute")
    @auth.require("contributor", rate_limited=True)
    def contribute():
        return auth.current_identity().name

    @app.get("/inline")
    def inline():
        return auth.authorize("contributor").role

    return app


def test_missing_token_is_401_with_bearer_challenge(tmp_path):
    client = make_app(tmp_path).test_client()
    response = client.post("/write")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/write", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.post("/write", headers={"Authorization": "Bearer "}).status_code == 401


def test_wrong_token_is_403(tmp_path):
    client = make_app(tmp_path).test_client()
    response = client.post("/write", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403


def test_contributor_may_not_do_maintainer_work_but_maintainer_may_contribute(tmp_path):
    client = make_app(tmp_path).test_client()
    assert client.post("/write", headers={"Authorization": f"Bearer {CONTRIBUTOR}"}).status_code == 403
    assert client.post("/write", headers={"Authorization": f"Bearer {MAINTAINER}"}).get_data(as_text=True) == "maintainer"
    assert client.post("/contribute", headers={"Authorization": f"Bearer {MAINTAINER}"}).status_code == 200
    assert client.get("/inline", headers={"Authorization": f"bearer {CONTRIBUTOR}"}).get_data(as_text=True) == "contributor"
    assert client.get("/inline").status_code == 401


def test_tokens_keep_only_hashes():
    tokens = auth.Tokens.from_settings(Settings(maintainer_token=MAINTAINER, contributor_token=CONTRIBUTOR))
    dumped = pickle.dumps(tokens) + repr(vars(tokens)).encode()
    assert MAINTAINER.encode() not in dumped and CONTRIBUTOR.encode() not in dumped
    assert sorted(tokens.hashes) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in (MAINTAINER, CONTRIBUTOR))
    identity = tokens.lookup(CONTRIBUTOR)
    assert CONTRIBUTOR not in repr(identity)


def test_comparison_uses_compare_digest_on_every_entry(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    tokens = auth.Tokens.from_settings(Settings(maintainer_token=MAINTAINER, contributor_token=CONTRIBUTOR))
    assert tokens.lookup(MAINTAINER).role == "maintainer"
    assert len(calls) == 2          # no early exit: every known hash is compared
    assert all(a == hashlib.sha256(MAINTAINER.encode()).digest() for a, _ in calls)
    calls.clear()
    assert tokens.lookup("unknown") is None and len(calls) == 2


def test_token_file_holds_hashes_and_names(tmp_path):
    path = tmp_path / "tokens"
    digest = hashlib.sha256(b"alice-token").hexdigest()
    path.write_text(f"# researchers\ncontributor {digest} alice\n\nmaintainer {'0' * 64}\n")
    tokens = auth.Tokens.from_settings(Settings(token_file=path))
    identity = tokens.lookup("alice-token")
    assert (identity.role, identity.name) == ("contributor", "alice")
    path.write_text("contributor not-a-hash\n")
    with pytest.raises(ValueError, match="tokens:1"):
        auth.read_token_file(path)
    path.write_text(f"admin {digest}\n")
    with pytest.raises(ValueError, match="role"):
        auth.read_token_file(path)


def test_check_function_form_without_flask():
    tokens = auth.Tokens.from_settings(Settings(maintainer_token=MAINTAINER))
    with pytest.raises(Unauthorized):
        auth.check(None, tokens, "maintainer")
    with pytest.raises(Forbidden):
        auth.check("Bearer x", tokens, "maintainer")
    assert auth.check(f"Bearer {MAINTAINER}", tokens, "contributor", "maintainer").role == "maintainer"


def test_rate_limit_gives_429_with_retry_after(tmp_path):
    client = make_app(tmp_path, rate_limit=2).test_client()
    headers = {"Authorization": f"Bearer {CONTRIBUTOR}"}
    assert [client.post("/contribute", headers=headers).status_code for _ in range(2)] == [200, 200]
    response = client.post("/contribute", headers=headers)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # another token has its own count
    assert client.post("/contribute", headers={"Authorization": f"Bearer {MAINTAINER}"}).status_code == 200


def test_rate_limit_window_slides(tmp_path):
    limiter = auth.RateLimiter(tmp_path / "r.sqlite", 2)
    limiter.hit("k", now=100.0)
    limiter.hit("k", now=159.0)
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit("k", now=159.5)          # two hits in the last minute, across a minute boundary
    assert refused.value.headers["Retry-After"] == "1"
    limiter.hit("k", now=160.5)              # the hit at 100 has left the window
    with pytest.raises(TooManyRequests):
        limiter.hit("k", now=161.0)


def _hit_many(path, n, out):
    limiter = auth.RateLimiter(path, 25)
    ok = 0
    for _ in range(n):
        try:
            limiter.hit("shared", now=600.0)
            ok += 1
        except TooManyRequests:
            pass
    out.put(ok)


def test_rate_limit_is_shared_by_processes(tmp_path):
    path = tmp_path / "r.sqlite"
    auth.RateLimiter(path, 25)
    out = multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(target=_hit_many, args=(path, 20, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert out.get(timeout=5) + out.get(timeout=5) == 25
