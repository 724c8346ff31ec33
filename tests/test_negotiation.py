"""negotiation.py: Accept header + candidate formats → one format, or 406 naming what is acceptable."""

import pytest

from server import formats
from server.errors import NotAcceptable
from server.web.negotiation import negotiate, parse_accept

JSON, XML, CSV, TSV = formats.RESULTS
TURTLE = formats.by_name("turtle")
NT = formats.by_name("ntriples")
RDFXML = formats.by_name("rdfxml")
JSONLD = formats.by_name("jsonld")


@pytest.mark.parametrize("accept", [None, "", "*/*", "  "])
def test_no_preference_gives_the_default(accept):
    assert negotiate(accept, formats.RESULTS, JSON) is JSON
    assert negotiate(accept, formats.RDF, TURTLE) is TURTLE


def test_exact_type_wins():
    assert negotiate("text/csv", formats.RESULTS, JSON) is CSV
    assert negotiate("application/sparql-results+xml", formats.RESULTS, JSON) is XML
    assert negotiate("application/ld+json", formats.RDF, TURTLE) is JSONLD


def test_alias_media_types():
    assert negotiate("application/json", formats.RESULTS, XML) is JSON
    assert negotiate("text/plain", formats.RDF, TURTLE) is NT


def test_q_values_order_several_types():
    accept = "text/csv;q=0.5, application/sparql-results+xml;q=0.9, application/sparql-results+json;q=0.8"
    assert negotiate(accept, formats.RESULTS, JSON) is XML
    assert negotiate("application/rdf+xml;q=0.4, text/turtle;q=0.6", formats.RDF, NT) is TURTLE


def test_q_zero_excludes_even_under_a_wildcard():
    assert negotiate("*/*, application/sparql-results+json;q=0", formats.RESULTS, JSON) is not JSON
    with pytest.raises(NotAcceptable):
        negotiate("text/csv;q=0", formats.RESULTS[2:3], None)


def test_type_wildcard():
    assert negotiate("text/*", formats.RESULTS, JSON) in (CSV, TSV)
    assert negotiate("text/*", formats.RDF, JSONLD) is TURTLE


def test_explicit_type_beats_wildcard_with_equal_q():
    assert negotiate("*/*, text/tab-separated-values", formats.RESULTS, JSON) is TSV


def test_parameters_are_ignored_for_matching():
    assert negotiate("text/turtle; charset=utf-8; q=0.9", formats.RDF, NT) is TURTLE


def test_unsatisfiable_accept_is_406_naming_the_acceptable_types():
    with pytest.raises(NotAcceptable) as info:
        negotiate("image/png", formats.RESULTS, JSON)
    assert info.value.status == 406
    assert "application/sparql-results+json" in info.value.message


def test_garbage_header_parts_are_skipped():
    assert parse_accept("garbage, text/csv;q=abc, /x, application/json") == [
        ("text", "csv", 0.0), ("application", "json", 1.0)]
    assert negotiate("garbage, application/json", formats.RESULTS, XML) is JSON


def test_q_is_clamped():
    assert parse_accept("text/csv;q=7") == [("text", "csv", 1.0)]
