"""The loaded catalog: lookups by slug, code and type, its JSON form, rebasing, bound classes."""

from __future__ import annotations

from typing import Any

import pytest

from problemdetails import Catalog, Problem
from tests.conftest import BUNDLED, HEADER, WriteCatalog
from tests.test_loader import ALIASES


def test_catalog_is_immutable(bundled: Catalog) -> None:
    with pytest.raises(TypeError):
        bundled.problems["x"] = bundled.problems["gone"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        bundled.problems["gone"].status = 400  # type: ignore[misc]


def test_unknown_slug_is_key_error(bundled: Catalog) -> None:
    with pytest.raises(KeyError):
        bundled["no-such-slug"]
    assert "gone" in bundled
    assert "no-such-slug" not in bundled


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        (
            "order-conflic",
            "no problem 'order-conflic' in catalog 'Test API' (did you mean 'order-conflict' or 'order-conflicts'?)",
        ),
        ("gones", "no problem 'gones' in catalog 'Test API' (did you mean 'gone'?)"),
        (
            "order-clash",
            "no problem 'order-clash' in catalog 'Test API': it is a former slug of 'order-conflict' (its `aliases`); "
            "look it up as catalog['order-conflict'], or a received code with catalog.by_code('order-clash')",
        ),
        ("zzz", "no problem 'zzz' in catalog 'Test API'"),
        (3, "no problem 3 in catalog 'Test API'"),
    ],
)
def test_an_unknown_slug_names_the_close_ones(write: WriteCatalog, slug: Any, message: str) -> None:
    catalog = Catalog.load(
        write(
            HEADER + "problems:\n"
            "  order-conflict: {status: 409, title: Order conflict, aliases: [order-clash]}\n"
            "  order-conflicts: {status: 409, title: Order conflicts}\n"
            "  gone: {status: 410, title: Gone}\n"
        )
    )
    with pytest.raises(KeyError) as caught:
        catalog[slug]
    assert str(caught.value) == message
    assert caught.value.args == (slug,)  # what `except KeyError as e: e.args[0]` has always read


def test_json_round_trip_is_canonical(bundled: Catalog) -> None:
    data = bundled.to_json()
    again = Catalog.from_json(data)
    assert again == bundled
    assert again.to_json() == data
    with pytest.raises(ValueError, match="unsupported catalog format 2"):
        Catalog.from_json(data.replace(b'"format": 1', b'"format": 2'))


def test_by_type_and_bind_guards(bundled: Catalog) -> None:
    assert bundled.by_type("https://errors.example.com/gone") is bundled["gone"]
    assert bundled.by_type("https://elsewhere.example/gone") is None
    other = Catalog.from_json(bundled.to_json())
    runtime = other["gone"]
    assert runtime is bundled["gone"]  # one class per spec in a process: a pickled problem finds it

    class Gone(Problem, spec=bundled.problems["gone"]):  # as a generated module defines it
        pass

    with pytest.raises(ValueError, match="already has class"):
        other.bind(Gone)
    other.bind(runtime)  # binding the class it already uses is fine
    with pytest.raises(ValueError, match="not bound to a problem of this catalog"):
        other.bind(Catalog.load(BUNDLED)["gone"].__base__)  # type: ignore[arg-type]


def test_rebased_catalog_moves_type_uris(bundled: Catalog) -> None:
    moved = bundled.rebased("http://127.0.0.1:8000/errors/")
    assert moved.base_uri == "http://127.0.0.1:8000/errors/"
    assert moved["gone"].type == "http://127.0.0.1:8000/errors/gone"
    assert moved.problems["gone"].title == bundled.problems["gone"].title
    assert bundled["gone"].type == "https://errors.example.com/gone"  # the original is unchanged
    with pytest.raises(ValueError, match="absolute URI"):
        bundled.rebased("/errors/")


def test_codes_and_types_of_aliases_decode_as_the_new_slug(write: WriteCatalog) -> None:
    from problemdetails import decode_json

    catalog = Catalog.load(write(ALIASES.replace("[Bad_Alias, gone, deleted]", "[missing]")))
    assert dict(catalog.aliases) == {"deleted": "gone", "removed": "gone", "missing": "not-found"}
    assert catalog.by_code("deleted") is catalog["gone"]
    assert catalog.by_code("gone") is catalog["gone"]
    assert catalog.by_code("nothing") is None
    old = b'{"type":"https://errors.example.com/deleted","title":"Deleted","status":410,"code":"deleted"}'
    problem = decode_json(old, catalog=catalog)
    assert (type(problem), problem.code, problem.type) == (catalog["gone"], "gone", "https://errors.example.com/gone")
    assert catalog.by_type("https://errors.example.com/removed") is catalog["gone"]
    assert Catalog.from_json(catalog.to_json()).aliases == catalog.aliases


def test_from_json_refuses_an_unbounded_template(bundled: Catalog) -> None:
    # catalog.json (a built site's, a generated module's) is read without the YAML checks.
    wide = bundled.to_json().replace(b'"Rate limit exceeded; retry after {retry_after}', b'"{retry_after:999999999}')
    assert wide != bundled.to_json()
    with pytest.raises(ValueError, match=r"problem 'rate-limited': detail template .* above 200"):
        Catalog.from_json(wide)
    assert Catalog.from_json(bundled.to_json()) == bundled


def test_rebased_classes_are_kinds_of_the_originals_along_extends(write: WriteCatalog) -> None:
    catalog = Catalog.load(
        write(
            HEADER + "problems:\n  forbidden: {status: 403, title: Forbidden}\n"
            "  ip-not-allowed: {status: 403, title: IP not allowed, extends: forbidden}\n"
        )
    )
    staging = catalog.rebased("https://api.staging.example/errors/")
    twice = staging.rebased("https://api.dev.example/errors/")
    child = twice["ip-not-allowed"]("from 10.0.0.1")
    for original in (catalog["ip-not-allowed"], catalog["forbidden"], twice["forbidden"]):
        assert isinstance(child, original)
    assert twice.origin is catalog  # rebasing again starts from the original
    assert child.type == "https://api.dev.example/errors/ip-not-allowed"


def test_the_bundled_catalogs_validation_slugs_declare_errors(bundled: Catalog) -> None:
    for status in (400, 422):
        spec = bundled.problems[bundled.status_slugs[status]]
        assert "errors" in {member.name for member in spec.members}
    assert bundled.warnings == ()
