"""/reconcile: the OpenRefine reconciliation service, checked against the W3C CG's own JSON Schemas.

Requests are shaped as OpenRefine sends them (a form-encoded `queries=` field holding {"q0": …, "q9": …},
with `type_strict: "should"` on typed queries); answers are validated with `jsonschema` against the
schemas vendored from reconciliation-api/specs (tests/data/reconciliation-api, W3C licence), over
real HTTP on the shared server.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from server.exports import reconcile

SCHEMAS = Path(__file__).parent / "data" / "reconciliation-api"
ENT = "https://w3id.org/entente/ontology#"
ID = "https://w3id.org/entente/id/"


def _no_network(uri: str):
    raise NoSuchResource(ref=uri)


def _registry(version: str) -> tuple[Registry, dict[str, dict]]:
    schemas = {p.stem: json.loads(p.read_text()) for p in sorted((SCHEMAS / version).glob("*.json"))}
    resources = [(s["$id"], Resource.from_contents(s, default_specification=DRAFT7)) for s in schemas.values()]
    return Registry(retrieve=_no_network).with_resources(resources), schemas


def check(version: str, name: str, instance) -> None:
    """Validate `instance` against the spec's schema `name` (raises with the path of the first error)."""
    registry, schemas = _registry(version)
    assert schemas, f"no schemas found under {SCHEMAS / version}"
    validator = jsonschema.Draft7Validator(schemas[name], registry=registry)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{name} ({version}): " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def openrefine_batch(url: str, queries: list[dict]) -> dict:
    """POST a batch exactly as OpenRefine's StandardReconConfig does: form-encoded `queries=` with q0…qN."""
    batch = {f"q{i}": q for i, q in enumerate(queries)}
    check("0.2", "reconciliation-query-batch", batch)          # the request itself follows the spec
    r = requests.post(url + "/reconcile", data={"queries": json.dumps(batch)},
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    check("0.2", "reconciliation-result-batch", body)
    assert sorted(body) == sorted(batch)
    return body


# --- the schemas themselves reject bad answers (the checks can fail) ------------------------------

def test_the_schemas_reject_answers_that_break_the_spec():
    with pytest.raises(AssertionError, match="required"):
        check("0.2", "reconciliation-result-batch", {"q0": {"result": [{"id": "x", "name": "y"}]}})  # no score
    with pytest.raises(AssertionError):
        check("0.2", "manifest", {"versions": ["0.1"], "name": "x", "identifierSpace": "a", "schemaSpace": "b"})
    with pytest.raises(AssertionError):
        check("1.0-draft", "reconciliation-result-batch", {"q0": {"result": []}})


# --- manifest -------------------------------------------------------------------------------------

def test_manifest_validates_and_points_at_this_server(server):
    r = requests.get(server.url + "/reconcile", timeout=30)
    assert r.status_code == 200
    manifest = r.json()
    check("0.2", "manifest", manifest)
    assert manifest["identifierSpace"] == ID and manifest["schemaSpace"] == ENT
    assert requests.get(manifest["documentation"], timeout=30).text.startswith("# Exports")
    assert manifest["preview"]["url"].startswith(server.url + "/reconcile/preview?id=")
    assert manifest["suggest"]["entity"] == {"service_url": server.url + "/reconcile", "service_path": "/suggest/entity"}
    assert {t["id"] for t in manifest["defaultTypes"]} >= {ENT + "Person", ENT + "SovereignState"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"     # OpenRefine's browser UI calls suggest directly


def test_manifest_as_jsonp_for_older_clients_and_a_bad_callback_is_refused(server):
    r = requests.get(server.url + "/reconcile", params={"callback": "jQuery123_456"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/javascript")
    assert r.text.startswith("/**/jQuery123_456(") and r.text.endswith(");")
    check("0.2", "manifest", json.loads(r.text[len("/**/jQuery123_456("):-2]))
    bad = requests.get(server.url + "/reconcile", params={"callback": "alert(document.cookie)//"}, timeout=30)
    assert bad.status_code == 400 and "callback" in bad.text


# --- matching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("IRGC", "islamic-revolutionary-guard-corps"),
    ("Revolutionary Guards", "islamic-revolutionary-guard-corps"),
    ("Hezbollah", "hezbollah"),
    ("HEZBOLLAH", "hezbollah"),               # case
    ("Tehrān", "tehran"),                     # accents
    ("U.S.", "united-states"),                # dots in an abbreviation, an alternative label
    ("Putin", "vladimir-putin"),              # an alternative label
    ("Ali Khamenei", "ali-khamenei"),
])
def test_names_abbreviations_case_and_accents_find_the_right_entity_first_with_match(server, text, expected):
    body = openrefine_batch(server.url, [{"query": text}])
    first = body["q0"]["result"][0]
    assert first["id"] == ID + expected, body
    assert first["match"] is True
    assert [c for c in body["q0"]["result"][1:] if c["match"]] == []     # at most one match


def test_a_batch_of_ten_as_openrefine_sends_it_with_types_and_should(server):
    names = ["Iran", "Russia", "Syria", "Hezbollah", "Vladimir Putin", "Ali Khamenei", "Tehran", "Moscow",
             "Quds Force", "Israel"]
    queries = [{"query": n, "type": ENT + "Agent", "type_strict": "should"} for n in names]
    body = openrefine_batch(server.url, queries)
    for i, name in enumerate(names):
        result = body[f"q{i}"]["result"]
        if name in ("Tehran", "Moscow"):         # cities are not agents: the type filters them out
            assert all(c["name"] != name for c in result), result
        else:
            assert result[0]["name"].casefold().endswith(name.casefold().split()[-1]) and result[0]["match"], result


def test_type_filter_uses_the_ontology_classes_and_their_subclasses(server):
    body = openrefine_batch(server.url, [
        {"query": "Iran", "type": ENT + "SovereignState"},
        {"query": "Iran", "type": ENT + "Person"},
        {"query": "Revolutionary Guards", "type": ENT + "Organization"},    # ArmedForcesBranch ⊑ Organization
        {"query": "Tehran", "type": [ENT + "City", ENT + "Person"], "type_strict": "any"},
        {"query": "Tehran", "type": [ENT + "City", ENT + "Person"], "type_strict": "all"},
    ])
    assert body["q0"]["result"][0]["id"] == ID + "iran"
    assert all(c["id"] != ID + "iran" for c in body["q1"]["result"])
    assert all(ENT + "Person" in [t["id"] for t in c["type"]] for c in body["q1"]["result"])
    assert body["q2"]["result"][0]["id"] == ID + "islamic-revolutionary-guard-corps"
    assert body["q3"]["result"][0]["id"] == ID + "tehran"
    assert body["q4"]["result"] == []


def test_property_constraints_confirm_or_lower_a_candidate(server):
    body = openrefine_batch(server.url, [
        {"query": "Hezbollah", "properties": [{"pid": ENT + "basedIn", "v": "Lebanon"}]},
        {"query": "Hezbollah", "properties": [{"pid": ENT + "basedIn", "v": {"id": ID + "lebanon", "name": "Lebanon"}}]},
        {"query": "Hezbollah", "properties": [{"pid": ENT + "basedIn", "v": "Turkey"}]},
        {"query": "Hezbollah", "properties": [{"pid": "http://www.w3.org/2002/07/owl#sameAs", "v": "Q41053"}]},
        {"properties": [{"pid": "ent:basedIn", "v": "Lebanon"}]},             # no name at all
    ])
    for key in ("q0", "q1", "q3"):
        first = body[key]["result"][0]
        assert first["id"] == ID + "hezbollah" and first["match"] is True and first["score"] == 100
    wrong = body["q2"]["result"][0]
    assert wrong["id"] == ID + "hezbollah" and wrong["match"] is False and wrong["score"] < 100
    assert any(f["id"].startswith("property:") and f["value"] is False for f in wrong["features"])
    assert body["q4"]["result"][0]["id"] == ID + "hezbollah"


def test_candidates_carry_our_iri_and_the_wikidata_qid(server):
    body = openrefine_batch(server.url, [{"query": "Hezbollah"}])
    first = body["q0"]["result"][0]
    assert first["id"] == ID + "hezbollah" and "Q41053" in first["description"]
    r = requests.post(server.url + "/reconcile", data={"extend": json.dumps(
        {"ids": [ID + "hezbollah", ID + "iran"], "properties": [{"id": "http://www.w3.org/2002/07/owl#sameAs"},
                                                               {"id": ENT + "basedIn"}]})}, timeout=30)
    assert r.status_code == 200
    check("0.2", "data-extension-response", r.json())
    rows = r.json()["rows"]
    assert rows[ID + "hezbollah"]["http://www.w3.org/2002/07/owl#sameAs"] == [{"str": "Q41053"}]
    assert rows[ID + "iran"]["http://www.w3.org/2002/07/owl#sameAs"] == [{"str": "Q794"}]
    assert rows[ID + "hezbollah"][ENT + "basedIn"] == [{"id": ID + "lebanon", "name": "Lebanon"}]
    proposal = requests.get(server.url + "/reconcile/propose_properties", params={"type": ENT + "Organization"},
                            timeout=30).json()
    check("0.2", "data-extension-property-proposal", proposal)
    assert ENT + "basedIn" in [p["id"] for p in proposal["properties"]]


def test_the_1_0_draft_batch_shape_is_answered_too(server):
    batch = {"queries": [{"conditions": [{"matchType": "name", "propertyValue": "Revolutionary Guards"}]},
                         {"type": ENT + "Person", "limit": 2,
                          "conditions": [{"matchType": "name", "propertyValue": "Putin"},
                                         {"matchType": "property", "propertyId": ENT + "leads",
                                          "propertyValue": {"id": ID + "russia"}}]}]}
    check("1.0-draft", "reconciliation-query-batch", batch)
    r = requests.post(server.url + "/reconcile", json=batch, timeout=30)
    assert r.status_code == 200, r.text
    check("1.0-draft", "reconciliation-result-batch", r.json())
    results = r.json()["results"]
    assert results[0]["candidates"][0]["id"] == ID + "islamic-revolutionary-guard-corps"
    assert results[1]["candidates"][0]["id"] == ID + "vladimir-putin" and results[1]["candidates"][0]["match"]


def test_the_1_0_draft_service_at_reconcile_v1(server):
    manifest = requests.get(server.url + "/reconcile/v1", timeout=30).json()
    check("1.0-draft", "manifest", manifest)
    assert manifest["view"]["url"] == server.url + "/reconcile/v1/view?id={id}"
    batch = {"queries": [{"type": ENT + "Organization", "conditions": [{"matchType": "name", "propertyValue": "IRGC"}]}]}
    check("1.0-draft", "reconciliation-query-batch", batch)
    r = requests.post(server.url + "/reconcile/v1/match", json=batch, timeout=30)
    assert r.status_code == 200
    check("1.0-draft", "reconciliation-result-batch", r.json())
    assert r.json()["results"][0]["candidates"][0]["id"] == ID + "islamic-revolutionary-guard-corps"
    for kind, schema in (("entity", "suggest-entities-response"), ("type", "suggest-types-response"),
                         ("property", "suggest-properties-response")):
        answer = requests.get(server.url + f"/reconcile/v1/suggest/{kind}", params={"prefix": "i"}, timeout=30).json()
        check("1.0-draft", schema, answer)
    assert requests.get(server.url + "/reconcile/v1/preview", params={"id": ID + "iran"}, timeout=30).status_code == 200
    assert requests.post(server.url + "/reconcile/v1/match", data="queries=x", timeout=30).status_code == 400


def test_a_single_query_in_the_old_style(server):
    plain = requests.get(server.url + "/reconcile", params={"query": "Hezbollah"}, timeout=30).json()
    assert plain["result"][0]["id"] == ID + "hezbollah" and plain["result"][0]["match"]
    typed = requests.get(server.url + "/reconcile", params={"query": json.dumps(
        {"query": "Tehran", "type": ENT + "City"})}, timeout=30).json()
    check("0.2", "reconciliation-result-batch", {"q0": typed})
    assert typed["result"][0]["id"] == ID + "tehran"
    assert requests.get(server.url + "/reconcile", params={"query": "{broken"}, timeout=30).status_code == 400


# --- suggest, preview, view -----------------------------------------------------------------------

def test_suggest_entity_type_and_property(server):
    entity = requests.get(server.url + "/reconcile/suggest/entity", params={"prefix": "hezb"}, timeout=30).json()
    check("0.2", "suggest-entities-response", entity)
    assert entity["result"][0]["id"] == ID + "hezbollah"
    types = requests.get(server.url + "/reconcile/suggest/type", params={"prefix": "sovereign"}, timeout=30).json()
    check("0.2", "suggest-types-response", types)
    assert types["result"][0]["id"] == ENT + "SovereignState"
    props = requests.get(server.url + "/reconcile/suggest/property", params={"prefix": "based"}, timeout=30).json()
    check("0.2", "suggest-properties-response", props)
    assert props["result"][0]["id"] == ENT + "basedIn"


def test_preview_is_an_escaped_card_that_may_be_framed_and_view_redirects(server):
    r = requests.get(server.url + "/reconcile/preview", params={"id": ID + "hezbollah"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "Hezbollah" in r.text and "Q41053" in r.text and "<script" not in r.text
    assert "frame-ancestors *" in r.headers["Content-Security-Policy"]
    v = requests.get(server.url + "/reconcile/view", params={"id": ID + "hezbollah"}, allow_redirects=False,
                     timeout=30)
    assert v.status_code == 303 and v.headers["Location"] == server.url + "/id/hezbollah"


def test_bad_requests_get_400_with_what_and_where(server):
    cases = [
        ({"queries": "{not json"}, "queries"),
        ({"queries": json.dumps(["Iran"])}, "queries"),
        ({"queries": json.dumps({"q0": {"query": "Iran", "limit": -1}})}, "queries.q0.limit"),
        ({"queries": json.dumps({"q0": {"query": "Iran", "type_strict": "maybe"}})}, "queries.q0.type_strict"),
        ({"queries": json.dumps({"q0": {"query": "Iran", "properties": [{"v": "x"}]}})}, "queries.q0.properties[0]"),
        ({"queries": json.dumps({"q0": {}})}, "queries.q0"),
        ({"extend": json.dumps({"ids": "x"})}, "extend"),
        ({"queries": json.dumps({"q0": {"query": "x" * 301}})}, "queries.q0.query"),
        ({"queries": json.dumps({"q0": {"query": "Iran", "properties": [{"pid": "p", "v": "v" * 301}]}})},
         "queries.q0.properties[0].v"),
    ]
    for data, where in cases:
        r = requests.post(server.url + "/reconcile", data=data, headers={"Accept": "application/json"}, timeout=30)
        assert r.status_code == 400, (data, r.text)
        assert r.json()["where"] == where, (data, r.json())
    for path, params in (("/reconcile/suggest/entity", {}), ("/reconcile/preview", {}),
                         ("/reconcile/suggest/entity", {"prefix": "x", "limit": "lots"})):
        assert requests.get(server.url + path, params=params, timeout=30).status_code == 400
    assert requests.get(server.url + "/reconcile/preview", params={"id": ID + "nobody"}, timeout=30).status_code == 404
    assert requests.get(server.url + "/reconcile/suggest/colour", params={"prefix": "x"}, timeout=30).status_code == 404
    assert requests.get(server.url + "/health", timeout=30).status_code == 200      # the server is still fine


def test_home_page_and_void_link_the_service(server):
    home = requests.get(server.url + "/", timeout=30).text
    assert f'href="{server.url}/reconcile"' in home
    void = requests.get(server.url + "/void.nt", timeout=30).text
    assert f"<{server.url}/reconcile> <http://www.w3.org/ns/dcat#endpointURL> <{server.url}/reconcile>" in void


# --- the matching rules, without a server ---------------------------------------------------------

def test_an_abbreviation_matches_the_initials_of_a_preferred_name(tmp_path):
    """"IRGC" finds the entity whose preferred name is "Islamic Revolutionary Guard Corps" by its initials
    alone (on the real data "IRGC" is also an alternative label)."""
    from server.exports.dataset import Data, DatasetFile

    trig = tmp_path / "small.trig"
    trig.write_text("""
        @prefix id: <https://w3id.org/entente/id/> . @prefix ent: <https://w3id.org/entente/ontology#> .
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/entente/graph/test> {
          id:islamic-revolutionary-guard-corps skos:prefLabel "Islamic Revolutionary Guard Corps"@en ;
            rdfs:label "Revolutionary Guards"@en ; a ent:ArmedForcesBranch .
          id:islamic-state skos:prefLabel "Islamic State"@en ; a ent:MilitantGroup .
          id:iran rdfs:label "Iran"@en ; a ent:SovereignState .
        }""")
    data = Data.load(DatasetFile(trig))
    for text in ("IRGC", "irgc", "I.R.G.C."):
        result = reconcile.reconcile(data, reconcile.parse_query({"query": text}, "q"))
        assert result[0]["id"] == ID + "islamic-revolutionary-guard-corps" and result[0]["match"], (text, result)
        assert result[0]["name"] == "Islamic Revolutionary Guard Corps"       # the preferred name is shown
    assert reconcile.reconcile(data, reconcile.parse_query({"query": "IRG"}, "q")) == [] or \
        not reconcile.reconcile(data, reconcile.parse_query({"query": "IRG"}, "q"))[0]["match"]


def test_fold_and_initials():
    assert reconcile.fold("Iran’s U.S. Ties") == "iran us ties"
    assert reconcile.fold("Tehrān") == reconcile.fold("TEHRAN")
    assert reconcile.initials("Islamic Revolutionary Guard Corps") == "irgc"
    assert reconcile.initials("Organization of the Petroleum Exporting Countries") == "opec"
    assert reconcile.initials("Hezbollah") is None


def test_the_cli_reconciles_like_the_service(built_dataset):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "server.cli", "export", "reconcile", "Hezbollah", "Tehrān",
                             "--type", "ent:Place", "--dataset", str(built_dataset)],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    check("0.2", "reconciliation-result-batch", body)
    assert body["q0"]["result"] == []                          # Hezbollah is no place
    assert body["q1"]["result"][0]["id"] == ID + "tehran" and body["q1"]["result"][0]["match"]
