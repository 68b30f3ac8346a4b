from __future__ import annotations

import copy
import datetime as dt
import math
import pickle
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from problemdetails import Catalog, ErrorItem, Problem
from tests.conftest import HEADER, WriteCatalog

TYPES = (
    HEADER
    + """\
problems:
  typed:
    status: 400
    title: Typed
    detail: "{count} x {ratio:.1f} at {when:%Y}"
    members:
      count: int
      ratio: float
      when: datetime
      tags: {type: "list[str]", required: false}
      kind: {type: "enum[a, b]", required: false}
      maybe: {type: "int | None", required: true}
      retry-at: {type: int, required: false}
      from: {type: str, required: false}
"""
)


@pytest.fixture
def catalog(write: WriteCatalog) -> Catalog:
    return Catalog.load(write(TYPES))


WHEN = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)


def test_class_carries_the_catalog_identity(bundled: Catalog) -> None:
    Conflict = bundled["conflict"]
    assert Conflict.__name__ == "Conflict"
    assert (Conflict.code, Conflict.status, Conflict.title, Conflict.type) == (
        "conflict",
        409,
        "Conflict",
        "https://errors.example.com/conflict",
    )
    assert bundled["quota-exceeded"].__name__ == "QuotaExceeded"
    assert bundled["conflict"] is Conflict  # built once


def test_template_renders_with_format_specs(catalog: Catalog) -> None:
    problem = catalog["typed"](count=3, ratio=0.25, when=WHEN, maybe=None)
    assert problem.detail == "3 x 0.2 at 2026"
    assert catalog["typed"]("explicit", count=3, ratio=0.25, when=WHEN, maybe=None).detail == "explicit"


def test_template_needs_every_member_it_names(bundled: Catalog) -> None:
    QuotaExceeded = bundled["quota-exceeded"]
    assert QuotaExceeded(limit=5, current=5, resource="zones").detail == "5 of 5 zones used"
    assert QuotaExceeded(limit=5, current=5).detail is None


def test_members_become_attributes_and_match(catalog: Catalog) -> None:
    Typed: Any = catalog["typed"]  # built at run time: no static member types
    problem = Typed(count=1, ratio=1, when=WHEN, maybe=None, retry_at=30, from_="api")
    assert problem.ratio == 1.0
    assert isinstance(problem.ratio, float)
    assert problem.members == {"count": 1, "ratio": 1.0, "when": WHEN, "retry-at": 30, "from": "api"}
    match problem:
        case Typed(count=1, retry_at=seconds, from_=source):
            assert (seconds, source) == (30, "api")
        case _:
            pytest.fail("did not match")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"count": "1", "ratio": 1.0, "when": WHEN, "maybe": None}, "Typed(): member 'count' must be int"),
        ({"count": True, "ratio": 1.0, "when": WHEN, "maybe": None}, "Typed(): member 'count' must be int"),
        ({"count": 1, "ratio": math.nan, "when": WHEN, "maybe": None}, "member 'ratio' must be a finite number"),
        ({"count": 1, "ratio": 1.0, "when": WHEN, "maybe": None, "kind": "c"}, "member 'kind' must be enum[a, b]"),
        ({"count": 1, "ratio": 1.0, "when": WHEN, "maybe": None, "tags": ["a", 1]}, "member 'tags' must be list"),
        ({"count": 1, "ratio": 1.0, "when": WHEN.replace(tzinfo=None), "maybe": None}, "member 'when' must be"),
        ({"ratio": 1.0, "when": WHEN, "maybe": None}, "Typed() missing required member 'count'"),
        ({"count": 1, "ratio": 1.0, "when": WHEN}, "Typed() missing required member 'maybe'"),
        ({"count": 1, "ratio": 1.0, "when": WHEN, "maybe": None, "cont": 1}, "unexpected member 'cont'"),
        ({"count": 1, "ratio": 1.0, "when": WHEN, "maybe": None, "retry-at": 1}, "unexpected member 'retry-at'"),
    ],
)
def test_construction_rejects_bad_members(catalog: Catalog, members: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        catalog["typed"](**members)


def test_did_you_mean_for_unknown_members(bundled: Catalog) -> None:
    with pytest.raises(TypeError, match=r"unexpected member 'limt' \(did you mean 'limit'\?\)"):
        bundled["quota-exceeded"](limt=5, current=5)


def test_catalogued_identity_cannot_be_overridden(bundled: Catalog) -> None:
    with pytest.raises(TypeError, match=r"Gone\(\): status, title is fixed by the catalog"):
        bundled["gone"](status=404, title="Nope")


def test_detail_and_instance_are_checked(bundled: Catalog) -> None:
    Gone = bundled["gone"]
    with pytest.raises(TypeError, match=r"Gone\(\): detail: expected `str \| null`, got `int`"):
        Gone(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="instance must be a URI reference"):
        Gone(instance="/v1/a b")
    assert Gone(instance="/v1/a%20b").instance == "/v1/a%20b"
    with pytest.raises(TypeError, match=r"Gone\(\): request_id must match .*, not 7"):
        Gone(request_id=7)  # type: ignore[arg-type]


def test_a_str_subclass_detail_takes_the_validating_path(bundled: Catalog) -> None:
    class Text(str):
        pass

    gone = bundled["gone"](Text("bye"))
    assert (gone.detail, str(gone)) == ("bye", "410 Gone [gone]: bye")


def test_error_items_convert_from_dicts(bundled: Catalog) -> None:
    problem = bundled["unprocessable"](errors=[{"detail": "required", "parameter": "limit", "in": "query"}])
    assert problem.errors == [ErrorItem(detail="required", parameter="limit", in_="query")]  # type: ignore[attr-defined]


def test_except_parent_catches_child(write: WriteCatalog) -> None:
    catalog = Catalog.load(
        write(HEADER + "problems:\n  forbidden: {status: 403, title: F}\n  scope: {extends: forbidden, title: S}\n")
    )
    with pytest.raises(catalog["forbidden"]) as caught:
        raise catalog["scope"]("needs web:read")
    assert isinstance(caught.value, Problem)
    assert caught.value.status == 403


def test_generic_problem_defaults_to_about_blank() -> None:
    problem = Problem(status=422)
    assert (problem.type, problem.title, problem.code, problem.detail) == (
        "about:blank",
        "Unprocessable Content",
        None,
        None,
    )
    teapot = Problem("short and stout", status=418, code="teapot", pot="brown")
    assert teapot.extensions == {"pot": "brown"}
    assert teapot.to_dict() == {
        "type": "about:blank",
        "title": "I'm a teapot",
        "status": 418,
        "detail": "short and stout",
        "code": "teapot",
        "pot": "brown",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "status must be an int from 100 to 599, not None"),
        ({"status": 600}, "status must be an int from 100 to 599"),
        ({"status": True}, "status must be an int from 100 to 599"),
        ({"status": 400, "type": "not a uri"}, "type must be a URI reference"),
        ({"status": 400, "x": [1.0, math.inf]}, "must not hold NaN or Infinity"),
        ({"status": 400, "x": object()}, "is not JSON-encodable"),
    ],
)
def test_generic_problem_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Problem(**kwargs)  # type: ignore[arg-type]


def test_str_repr_eq_hash(bundled: Catalog) -> None:
    Conflict = bundled["conflict"]
    problem = Conflict("name+type exists", conflicts=["a1"], instance="/v1/records")
    assert str(problem) == "409 Conflict [conflict]: name+type exists"
    assert repr(problem) == "Conflict(detail='name+type exists', instance='/v1/records', conflicts=['a1'])"
    assert problem.args == ("name+type exists",)
    same = Conflict("name+type exists", conflicts=["a1"], instance="/v1/records")
    assert problem == same
    assert hash(problem) == hash(same)
    assert problem != Conflict("other")
    assert problem != bundled["gone"]("name+type exists")
    assert (problem == "conflict") is False
    assert str(Problem(status=503)) == "503 Service Unavailable"
    assert repr(Problem(status=503, code="down")) == (
        "Problem(status=503, type='about:blank', title='Service Unavailable', code='down')"
    )


def test_copy_and_pickle_keep_every_part(bundled: Catalog) -> None:
    # A problem crosses process boundaries (multiprocessing, task queues) and gets copied.
    quota: Any = bundled["quota-exceeded"](limit=5, current=5, request_id="r1", headers={"X-Plan": "free"})
    copied = copy.copy(quota)
    assert (type(copied), copied.args, copied.headers) == (type(quota), quota.args, {"X-Plan": "free"})
    assert copied == quota
    assert (copied.limit, copied.request_id) == (5, "r1")
    generic = Problem(status=503, detail="down", instance="/v1/zones", retry=5)
    restored = pickle.loads(pickle.dumps(generic))
    assert (restored.status, restored.title, restored.detail) == (503, "Service Unavailable", "down")
    assert restored == generic
    assert (restored.extensions, str(restored)) == ({"retry": 5}, str(generic))


def test_a_catalogs_problems_pickle_as_the_class_this_process_has(bundled: Catalog) -> None:
    # multiprocessing and task queues pickle exceptions: a class a catalog made at
    # run time cannot be imported by name, so it travels as its spec and parents.
    QuotaExceeded: Any = bundled["quota-exceeded"]
    quota = QuotaExceeded(limit=5, current=5, request_id="r1", headers={"X-Plan": "free"})
    restored = pickle.loads(pickle.dumps(quota))
    assert type(restored) is QuotaExceeded
    assert restored == quota
    assert (restored.limit, restored.request_id, restored.headers) == (5, "r1", {"X-Plan": "free"})
    rebased = bundled.rebased("https://errors.example.org/")
    moved = pickle.loads(pickle.dumps(rebased["gone"]("bye")))
    assert type(moved) is rebased["gone"]
    assert isinstance(moved, bundled["gone"])
    assert moved.type == "https://errors.example.org/gone"


def test_a_problem_pickled_in_another_process_is_caught_by_this_ones_class(write: WriteCatalog) -> None:
    import multiprocessing

    problems = (
        "problems:\n  conflict: {status: 409, title: Conflict, members: {ids: 'list[str]'}}\n"
        "  order-conflict: {extends: conflict, title: Order conflict}\n"
    )
    path = write(HEADER + problems)
    other = write(HEADER.replace("errors.example.com", "errors.example.net") + problems, name="other.yaml")
    # A fresh interpreter (spawn), as a task queue's worker is: it loads the catalog itself.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pickled = pool.apply(_pickled_problem, (str(path), "order-conflict"))
        adopted = pool.apply(_pickled_problem, (str(other), "order-conflict"))
    catalog = Catalog.load(path)
    with pytest.raises(catalog["conflict"]) as caught:
        raise pickle.loads(pickled)
    problem: Any = caught.value
    assert (problem.ids, problem.detail, problem.code) == (["a1"], "taken", "order-conflict")
    assert type(problem) is catalog["order-conflict"]
    # Unpickled before this process looked the class up: its catalog then gives that same class.
    early = pickle.loads(adopted)
    assert type(early) is Catalog.load(other)["order-conflict"]
    assert early.type == "https://errors.example.net/order-conflict"


def _pickled_problem(path: str, slug: str) -> bytes:
    return pickle.dumps(Catalog.load(path)[slug]("taken", ids=["a1"]))


def test_headers_are_kept_apart_from_the_body(bundled: Catalog) -> None:
    problem = bundled["rate-limited"](retry_after=5, headers={"Retry-After": "5"})
    assert problem.headers == {"Retry-After": "5"}
    assert "Retry-After" not in problem.to_dict()
    assert problem.to_dict()["retry_after"] == 5


def test_subclassing_a_catalogued_class_keeps_its_binding(bundled: Catalog) -> None:
    Gone: Any = bundled["gone"]

    class ZoneGone(Gone):  # type: ignore[misc]
        pass

    assert ZoneGone("zone deleted").to_dict()["code"] == "gone"


@pytest.mark.parametrize("request_id", ["", "with space", "x" * 129, "line\nbreak", "caf\u00e9", "\ud800"])
def test_a_request_id_outside_the_published_pattern_is_refused(bundled: Catalog, request_id: str) -> None:
    with pytest.raises(TypeError, match="request_id must match"):
        bundled["gone"](request_id=request_id)
    with pytest.raises(TypeError, match="request_id must match"):
        Problem(status=410, request_id=request_id)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"limit": "50", "current": 1}, "member 'limit' must be int, got str"),
        ({"limit": None, "current": 1}, "missing required member 'limit'"),
    ],
)
def test_a_wrong_member_type_is_named_in_the_catalogs_words(
    bundled: Catalog, members: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(message)) as error:
        bundled["quota-exceeded"](**members)
    assert "null" not in str(error.value)
    with pytest.raises(TypeError, match=re.escape("member 'conflicts' must be list[str], got int (at [1])")):
        bundled["conflict"](conflicts=["a", 5])


SCALARS = (
    HEADER
    + """\
problems:
  scalars:
    status: 400
    title: Scalars
    detail: "{count} and {name!r} at {ratio:.2f}"
    members:
      count: {type: int, required: false}
      ratio: {type: float, required: false}
      flag: {type: bool, required: false}
      name: {type: str, required: false}
      link: {type: uri, required: false}
      kind: {type: "enum[a, b]", required: false}
      maybe: {type: "int | None", required: false}
      needed: int
"""
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["a", "b", "c", "/x", "http://e/ x", "%zz"]),
    st.lists(st.integers(), max_size=2),
)


_WIRE_INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_VALID = {
    "count": _WIRE_INTS,
    "ratio": st.floats(allow_nan=False, allow_infinity=False),
    "flag": st.booleans(),
    "name": st.text(max_size=8),
    "link": st.sampled_from(["/x", "https://e.example/a?b#c", "x:y", ""]),
    "kind": st.sampled_from(["a", "b"]),
    "maybe": st.none() | _WIRE_INTS,
}


def _member(name: str) -> st.SearchStrategy[Any]:
    """Mostly a value of the member's type, sometimes anything at all."""
    valid = _VALID.get(name, _WIRE_INTS)
    return st.one_of(*[valid] * 9, _VALUES)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.fixed_dictionaries(
        {"needed": _member("needed")}, optional={**{name: _member(name) for name in _VALID}, "other": _VALUES}
    )
)
def test_construction_without_validation_is_what_validation_gives(write: WriteCatalog, members: dict[str, Any]) -> None:
    """The unvalidated path is taken only for values validation keeps as they are: same result, or the same error."""
    from problemdetails._problem import _convert, _member_values
    from problemdetails._templates import render
    from problemdetails._wire import encode_wire

    cls = Catalog.load(write(SCALARS))["scalars"]
    try:
        built: Any = encode_wire(cls(**members)._wire)
    except TypeError as error:
        built = str(error)
    try:
        values = {**_member_values(cls, dict(members)), "type": cls.type, "title": cls.title, "status": cls.status}
        wire = _convert(cls.__name__, {**values, "code": cls.code}, cls.__problemdetails__.wire, members)
        assert cls.__problemdetails__.template is not None
        wire.detail = render(cls.__problemdetails__.template, wire)
        validated: Any = encode_wire(wire)
    except TypeError as error:
        validated = str(error)
    assert built == validated
