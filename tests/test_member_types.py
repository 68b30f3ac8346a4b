from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

import msgspec
import pytest

from problemdetails import ErrorItem
from problemdetails._member_types import (
    DictOf,
    EnumOf,
    ListOf,
    Nullable,
    Scalar,
    TypeSyntaxError,
    is_uri_reference,
    parse_type,
)


@pytest.mark.parametrize(
    ("text", "model", "source"),
    [
        ("str", Scalar("str"), "str"),
        ("int", Scalar("int"), "int"),
        ("uri", Scalar("uri"), "str"),
        ("datetime", Scalar("datetime"), "_dt.datetime"),
        ("list[error]", ListOf(Scalar("error")), "list[_pd.ErrorItem]"),
        ("dict[str, list[int]]", DictOf(ListOf(Scalar("int"))), "dict[str, list[int]]"),
        ("enum[zones, records]", EnumOf(("zones", "records")), '_Literal["zones", "records"]'),
        ("int | None", Nullable(Scalar("int")), "int | None"),
        ("None | float", Nullable(Scalar("float")), "float | None"),
        ("enum['a b', c]", EnumOf(("a b", "c")), '_Literal["a b", "c"]'),
    ],
)
def test_parse_type_builds_the_model(text: str, model: Any, source: str) -> None:
    parsed = parse_type(text)
    assert parsed == model
    assert parsed.source() == source
    assert parse_type(str(parsed)) == parsed  # the canonical spelling parses back


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("lst[int]", "unknown type 'lst'", 0),
        ("int | str", "only `T | None` unions are supported", 9),
        ("dict[int, str]", "dict keys must be `str`", 5),
        ("list[int", "expected ']', found 'end of type'", 8),
        ("enum[]", "expected an enum value, found ']'", 5),
        ("enum[a, a]", "enum value 'a' is repeated", 8),
        ("None", "`None` alone is not a member type", 0),
        ("int int", "unexpected 'int' after the type", 4),
        ("in$t", "unexpected character '$'", 2),
        ("[int]", "expected a type, found '['", 0),
        ("list[int | None]", "`| None` is only allowed on the whole member type", 5),
        ("dict[str, None | int]", "`| None` is only allowed on the whole member type", 10),
    ],
)
def test_parse_type_errors_carry_offsets(text: str, message: str, offset: int) -> None:
    with pytest.raises(TypeSyntaxError, match=re.escape(message)) as caught:
        parse_type(text)
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    ("text", "good", "bad"),
    [
        ("int", 5, True),
        ("float", 1, float("nan")),
        ("float", 2.5, float("inf")),
        ("uri", "/v1/zones/a%20b", "/v1/zones/a b"),
        ("enum[a, b]", "a", "c"),
        ("list[int]", [1, 2], [1, "2"]),
        ("dict[str, bool]", {"x": True}, {"x": 1}),
        ("datetime", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "yesterday"),
        ("error", {"detail": "d", "pointer": "#/a/0"}, {"detail": "d", "pointer": "a/0"}),
        ("error", {"detail": "d", "in": "query", "parameter": "p"}, {"detail": "d", "in": "body"}),
    ],
)
def test_annotations_validate(text: str, good: Any, bad: Any) -> None:
    annotation = parse_type(text).annotation()
    msgspec.convert(good, annotation)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, annotation)


def test_annotation_of_enum_is_literal() -> None:
    assert parse_type("enum[a, b]").annotation() == Literal["a", "b"]


def test_error_item_wire_names() -> None:
    item = ErrorItem(detail="must be set", parameter="limit", in_="query", code="required")
    assert msgspec.json.encode(item) == b'{"detail":"must be set","parameter":"limit","in":"query","code":"required"}'


@pytest.mark.parametrize(
    "text",
    [
        "about:blank",
        "https://errors.example.com/conflict",
        "/v1/zones/a%20b",
        "/v1/zones?cursor=a/b?c",
        "/",
        "urn:problem-type:example:a",
        "tag:example@example.org,2021-09-17:OutOfLuck",
        "#/profile/color",
        "",
        "//host:80/p",
        "http://[::1]:8080/x",
        "a/b:c",
        "mailto:a@b",
    ],
)
def test_uri_references_accepted(text: str) -> None:
    assert is_uri_reference(text)


@pytest.mark.parametrize("text", ["[", "a b", "/x%2", "/x%zz", "1a:b", "a#b#c", "/p\n", "http://ho st/", "//::x", "/é"])
def test_uri_references_rejected(text: str) -> None:
    assert not is_uri_reference(text)
