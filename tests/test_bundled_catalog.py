"""The bundled catalog/: the 19 standard problems DESIGN.md lists, each documented and exemplified."""

from __future__ import annotations

import pytest

from problemdetails import Catalog, decode_json, decode_xml, encode_json, encode_xml
from tests.conftest import BUNDLED

EXPECTED = {
    "bad-request": 400,
    "unauthorized": 401,
    "quota-exceeded": 402,
    "forbidden": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "not-acceptable": 406,
    "conflict": 409,
    "gone": 410,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "unprocessable": 422,
    "rate-limited": 429,
    "internal": 500,
    "not-implemented": 501,
    "bad-gateway": 502,
    "unavailable": 503,
    "gateway-timeout": 504,
    "insufficient-storage": 507,
}


def test_slugs_and_statuses(bundled: Catalog) -> None:
    assert {slug: spec.status for slug, spec in bundled.problems.items()} == EXPECTED


def test_loads_strictly_without_warnings() -> None:
    assert Catalog.load(BUNDLED, strict=True).warnings == ()


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_problem_is_documented(bundled: Catalog, slug: str) -> None:
    spec = bundled.problems[slug]
    assert spec.extends is None  # each is the root problem for its status
    assert spec.summary
    assert len(spec.description) > 150
    assert len(spec.resolution) > 60
    assert spec.examples
    assert spec.since == "1.0.0"


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_examples_build_encode_and_round_trip(bundled: Catalog, slug: str) -> None:
    cls = bundled[slug]
    for example in bundled.problems[slug].examples:
        members = {
            member.attribute: example.members[member.name]
            for member in cls.__problemdetails__.members
            if member.name in example.members
        }
        problem = cls(example.detail, instance=example.instance, **members)
        assert decode_json(encode_json(problem), catalog=bundled) == problem
        assert decode_xml(encode_xml(problem), catalog=bundled) == problem


@pytest.mark.parametrize(
    ("slug", "header"),
    [
        ("unauthorized", "WWW-Authenticate"),
        ("method-not-allowed", "Allow"),
        ("rate-limited", "Retry-After"),
        ("unavailable", "Retry-After"),
    ],
)
def test_status_headers_are_declared(bundled: Catalog, slug: str, header: str) -> None:
    assert header in bundled.problems[slug].headers


def test_retry_advice_follows_the_example_apis(bundled: Catalog) -> None:
    retry = {slug: spec.retry for slug, spec in bundled.problems.items()}
    assert retry["rate-limited"] == retry["unavailable"] == "after-delay"
    assert retry["gone"] == retry["not-found"] == "never"
    assert {retry[slug] for slug in ("internal", "bad-gateway", "gateway-timeout")} == {"backoff"}
    assert [member.type for member in bundled.problems["unprocessable"].members] == ["list[error]"]
