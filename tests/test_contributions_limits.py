"""Contributions that would once crash a worker, over real HTTP: bodies nested too deeply for the
parsers, contributions with more triples than ENTENTE_MAX_CONTRIBUTION_TRIPLES, and SHACL runs past
ENTENTE_VALIDATION_TIMEOUT. Each is refused with Entente's own status and message, leaves nothing
behind, and the server answers afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from conftest import CONTRIBUTOR_TOKEN, LiveServer

DATA = Path(__file__).parent / "data" / "contributions"
GOOD_TRIG = (DATA / "good-katz-friendly.trig").read_bytes()     # 11 triples
CONTRIB = {"Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}
JSON = "application/json"
MAX_TRIPLES = 40
ENDPOINTS = ("/validate", "/contributions")

DEEP = 100_000
DEEP_BODIES = {   # well-formed except for their depth
    "json-ld arrays": ("application/ld+json", '{"@id":"http://x/s","http://x/p":' + "[" * DEEP + "1" + "]" * DEEP + "}"),
    "json-ld objects": ("application/ld+json",
                        '{"@id":"http://x/s","http://x/p":' + '{"http://x/p":' * DEEP + "1" + "}" * DEEP + "}"),
    "turtle lists": ("text/turtle", "<http://x/s> <http://x/p> " + "( " * DEEP + "1" + " )" * DEEP + " ."),
    "turtle blank nodes": ("text/turtle",
                           "<http://x/s> <http://x/p> " + "[ <http://x/p> " * DEEP + "1" + " ]" * DEEP + " ."),
    "trig lists": ("application/trig", "<#g> { <http://x/s> <http://x/p> " + "( " * DEEP + "1" + " )" * DEEP + " . }"),
}


@pytest.fixture(scope="module")
def limited_server(built_dataset, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("limits") / "store", built_dataset,
                        env={"ENTENTE_RATE_LIMIT": "10000",
                             "ENTENTE_MAX_CONTRIBUTION_TRIPLES": str(MAX_TRIPLES)}).start()
    yield server
    server.stop()


def state_of(limited_server) -> tuple:
    """What a refusal must not change: store version and size, and the contribution files on disk."""
    health = requests.get(limited_server.url + "/health", timeout=10).json()
    inbox = limited_server.data_dir / "contributions"
    files = sorted(p.name for p in inbox.iterdir() if re.match(r"^\.?\d{8}T", p.name)) if inbox.exists() else []
    return health["version"], health["triples"], files


def send(limited_server, path: str, body: bytes, content_type: str) -> requests.Response:
    headers = {"Content-Type": content_type, "Accept": JSON, **(CONTRIB if path == "/contributions" else {})}
    return requests.post(limited_server.url + path, data=body, headers=headers, timeout=120)


def people(n: int) -> bytes:
    """n typed, labelled people in Turtle: 2 n triples the shapes check one by one."""
    lines = ["@prefix ent: <https://w3id.org/entente/ontology#> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> ."]
    lines += [f'<#p{i}> a ent:Person ; rdfs:label "Person {i}" .' for i in range(n)]
    return "\n".join(lines).encode()


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case", list(DEEP_BODIES))
def test_deeply_nested_bodies_are_a_400(limited_server, case, path):
    content_type, body = DEEP_BODIES[case]
    before = state_of(limited_server)
    r = send(limited_server, path, body.encode(), content_type)
    assert r.status_code == 400, (r.status_code, r.text[:500])
    message = r.json()["message"]
    assert "parse" in message and "nest" in message, message
    assert state_of(limited_server) == before
    assert send(limited_server, "/validate", GOOD_TRIG, "application/trig").status_code == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_deeply_nested_rdfxml_is_refused_like_any_body(limited_server, path):
    """expat and rdflib's RDF/XML parser do not recurse: 3,000 nested descriptions parse, into 3,001
    triples, which the triple limit refuses (with the default limit the shapes refuse them: 422)."""
    body = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://x/">'
            '<rdf:Description rdf:about="http://x/s">' + "<e:p><rdf:Description>" * 3000 + "<e:p>1</e:p>"
            + "</rdf:Description></e:p>" * 3000 + "</rdf:Description></rdf:RDF>")
    before = state_of(limited_server)
    r = send(limited_server, path, body.encode(), "application/rdf+xml")
    assert r.status_code == 413, (r.status_code, r.text[:500])
    assert state_of(limited_server) == before


@pytest.mark.parametrize("path", ENDPOINTS)
def test_more_triples_than_the_limit_is_a_413_naming_it(limited_server, path):
    before = state_of(limited_server)
    r = send(limited_server, path, people(MAX_TRIPLES), "text/turtle")       # 2 x MAX_TRIPLES triples
    assert r.status_code == 413, (r.status_code, r.text[:500])
    error = r.json()
    assert "ENTENTE_MAX_CONTRIBUTION_TRIPLES" in error["message"] and str(MAX_TRIPLES) in error["message"]
    assert error["where"] == {"limit": MAX_TRIPLES}
    assert state_of(limited_server) == before


def test_the_limit_counts_triples_not_bytes(limited_server):
    """A body under the limit still goes through: 20 people are 40 triples, the limit exactly."""
    r = send(limited_server, "/validate", people(MAX_TRIPLES // 2), "text/turtle")
    assert r.status_code == 200, r.text[:500]
    assert r.json()["checked"] >= MAX_TRIPLES // 2


def test_a_huge_body_is_refused_quickly_not_by_killing_the_worker(limited_server):
    """60,000 typed, labelled people (the hardening engineer's body had them in 4.8 MB, this in 3 MB):
    once the worker validated them until gunicorn killed it (a bare 500); now parsing stops at the limit."""
    before = state_of(limited_server)
    body = people(60_000)
    assert len(body) > 3_000_000
    for path in ENDPOINTS:
        r = send(limited_server, path, body, "text/turtle")
        assert r.status_code == 413, (r.status_code, r.text[:500])
        assert "ENTENTE_MAX_CONTRIBUTION_TRIPLES" in r.json()["message"]
    assert state_of(limited_server) == before


def test_a_contribution_within_the_limit_is_stored(limited_server):
    before = state_of(limited_server)
    r = send(limited_server, "/contributions", GOOD_TRIG, "application/trig")
    assert r.status_code == 201, r.text[:500]
    assert len(state_of(limited_server)[2]) == len(before[2]) + 1


def test_validation_past_the_time_limit_is_a_503_and_nothing_is_stored(built_dataset, make_server):
    limited_server = make_server(built_dataset, env={"ENTENTE_VALIDATION_TIMEOUT": "0.05", "ENTENTE_RATE_LIMIT": "10000"})
    before = state_of(limited_server)
    for path in ENDPOINTS:
        r = send(limited_server, path, GOOD_TRIG, "application/trig")
        assert r.status_code == 503, (r.status_code, r.text[:500])
        error = r.json()
        assert "ENTENTE_VALIDATION_TIMEOUT" in error["message"] and "0.05" in error["message"], error
        assert error["where"] == {"limit": 0.05}
    assert state_of(limited_server) == before
    # the worker is alive and serves the next request
    assert requests.get(limited_server.url + "/health", timeout=10).status_code == 200
    r = send(limited_server, "/validate", b"not turtle at all", "text/turtle")
    assert r.status_code == 400, r.text[:500]


def test_with_every_validation_slot_taken_a_body_is_refused_with_503_and_nothing_is_lost(limited_server):
    """ENTENTE_MAX_VALIDATIONS is server-wide: slots this test holds (as another worker would) leave none
    for the server's workers; the client is told to retry, and nothing stored changes."""
    from server.settings import Settings
    from server.slots import Slots

    slots = Slots(limited_server.data_dir / "validating", Settings.from_env({}).max_validations)
    held = [slots.take() for _ in range(slots.count)]
    try:
        assert slots.count and None not in held
        before = state_of(limited_server)
        for path in ENDPOINTS:
            r = send(limited_server, path, GOOD_TRIG, "application/trig")
            assert r.status_code == 503, r.text
            assert int(r.headers["Retry-After"]) >= 1
            assert "ENTENTE_MAX_VALIDATIONS" in r.json()["message"] and "again" in r.json()["message"]
        assert state_of(limited_server) == before
    finally:
        for slot in held:
            if slot is not None:
                slots.give_back(slot)
    assert send(limited_server, "/contributions", GOOD_TRIG, "application/trig").status_code == 201
