from __future__ import annotations

import http
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from problemdetails import (
    Catalog,
    DecodeError,
    Problem,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
    status_phrase,
)
from tests.conftest import HEADER, ROOT, WriteCatalog

NS = "{urn:ietf:rfc:7807}"

# RFC 9457 §3: the two examples, as catalog entries.
RFC_EXAMPLES = """\
catalog: {name: RFC 9457 examples, base_uri: "https://example.com/probs/"}
problems:
  out-of-credit:
    status: 403
    title: You do not have enough credit.
    members:
      balance: int
      accounts: list[uri]
"""
RFC_VALIDATION = """\
catalog: {name: RFC 9457 examples, base_uri: "https://example.net/"}
problems:
  validation-error:
    status: 422
    title: Your request is not valid.
    members:
      errors: list[error]
"""


def test_json_member_order_is_pinned(bundled: Catalog) -> None:
    problem = bundled["quota-exceeded"](
        limit=50, current=50, resource="zones", instance="/v1/zones", request_id="01JD8X"
    )
    assert encode_json(problem) == (
        b'{"type":"https://errors.example.com/quota-exceeded","title":"Quota exceeded","status":402,'
        b'"detail":"50 of 50 zones used","instance":"/v1/zones","code":"quota-exceeded","request_id":"01JD8X",'
        b'"limit":50,"current":50,"resource":"zones"}'
    )


def test_no_member_is_ever_null(bundled: Catalog) -> None:
    body = json.loads(encode_json(bundled["quota-exceeded"](limit=1, current=1)))
    assert None not in body.values()
    assert set(body) == {"type", "title", "status", "code", "limit", "current"}


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(413, "Content Too Large"), (414, "URI Too Long"), (416, "Range Not Satisfiable"), (422, "Unprocessable Content")],
)
def test_about_blank_uses_rfc9110_phrases(status: int, phrase: str) -> None:
    # Python 3.11's http.HTTPStatus still has the RFC 7231 wording for these.
    assert http.HTTPStatus(status).phrase != phrase
    assert status_phrase(status) == phrase
    assert json.loads(encode_json(Problem(status=status))) == {"type": "about:blank", "title": phrase, "status": status}


def test_unregistered_status_falls_back_to_the_class_name() -> None:
    assert status_phrase(499) == "Client Error"
    assert status_phrase(599) == "Server Error"


def test_rfc9457_out_of_credit_example(write: WriteCatalog) -> None:
    catalog = Catalog.load(write(RFC_EXAMPLES))
    problem = catalog["out-of-credit"](
        "Your current balance is 30, but that costs 50.",
        instance="/account/12345/msgs/abc",
        balance=30,
        accounts=["/account/12345", "/account/67890"],
    )
    rfc: dict[str, Any] = {
        "type": "https://example.com/probs/out-of-credit",
        "title": "You do not have enough credit.",
        "detail": "Your current balance is 30, but that costs 50.",
        "instance": "/account/12345/msgs/abc",
        "balance": 30,
        "accounts": ["/account/12345", "/account/67890"],
    }
    # Exactly the RFC's members, plus the two every catalogued problem carries.
    assert json.loads(encode_json(problem)) == {**rfc, "status": 403, "code": "out-of-credit"}

    root = ET.fromstring(encode_xml(problem))
    assert root.tag == f"{NS}problem"
    assert [child.tag.removeprefix(NS) for child in root] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
        "balance",
        "accounts",
    ]
    assert root.findtext(f"{NS}balance") == "30"
    accounts = root.find(f"{NS}accounts")
    assert accounts is not None
    assert [(item.tag, item.text) for item in accounts] == [(f"{NS}i", uri) for uri in rfc["accounts"]]


def test_rfc9457_validation_example(write: WriteCatalog) -> None:
    catalog = Catalog.load(write(RFC_VALIDATION))
    problem = catalog["validation-error"](
        errors=[
            {"detail": "must be a positive integer", "pointer": "#/age"},
            {"detail": "must be 'green', 'red' or 'blue'", "pointer": "#/profile/color"},
        ]
    )
    assert json.loads(encode_json(problem)) == {
        "type": "https://example.net/validation-error",
        "title": "Your request is not valid.",
        "errors": [
            {"detail": "must be a positive integer", "pointer": "#/age"},
            {"detail": "must be 'green', 'red' or 'blue'", "pointer": "#/profile/color"},
        ],
        "status": 422,
        "code": "validation-error",
    }
    assert decode_xml(encode_xml(problem), catalog=catalog) == problem


def test_xml_escapes_and_replaces_what_xml_cannot_carry() -> None:
    problem = Problem("a < b & c > d\r\n\x00\x1b\ufffe end", status=400, weird={"i": 1, "a b": [], "ok": {"x": True}})
    body = encode_xml(problem)
    root = ET.fromstring(body)  # well-formed
    assert root.findtext(f"{NS}detail") == "a < b & c > d\r\n\ufffd\ufffd\ufffd end"
    decoded = decode_xml(body)
    assert decoded.detail == "a < b & c > d\r\n\ufffd\ufffd\ufffd end"
    assert decoded.extensions["weird"] == {"i": "1", "a b": "", "ok": {"x": "true"}}
    assert b'<_ key="i"><_>1</_></_><_ key="a b"/>' in body


def test_xml_without_catalog_infers_shapes() -> None:
    body = encode_xml(Problem(status=409, ids=["a", "b"], nested={"k": ["x"]}))
    decoded = decode_xml(body)
    assert decoded.status == 409
    assert decoded.extensions == {"ids": ["a", "b"], "nested": {"k": ["x"]}}


def test_decode_picks_the_typed_class(bundled: Catalog) -> None:
    problem = bundled["conflict"]("exists", conflicts=["a1"], request_id="r1")
    for decoded in (
        decode_json(encode_json(problem), catalog=bundled),
        decode_xml(encode_xml(problem), catalog=bundled),
    ):
        assert type(decoded) is bundled["conflict"]
        assert decoded == problem
        assert decoded.request_id == "r1"


def test_decode_by_type_when_code_is_absent(bundled: Catalog) -> None:
    body = b'{"type":"https://errors.example.com/gone","title":"Gone","status":410}'
    assert type(decode_json(body, catalog=bundled)) is bundled["gone"]


def test_code_with_a_foreign_type_is_not_ours(bundled: Catalog) -> None:
    body = b'{"type":"https://other.example/expired","title":"Gone","status":410,"code":"gone"}'
    decoded = decode_json(body, catalog=bundled)
    assert type(decoded) is Problem
    assert decoded.code == "gone"


def test_code_with_our_slug_under_another_base_is_ours(bundled: Catalog) -> None:
    # Another environment's base URI (`catalog.rebased(...)`): the type ends in the slug the code names.
    body = b'{"type":"https://other.example/errors/gone","title":"Gone","status":410,"code":"gone"}'
    assert type(decode_json(body, catalog=bundled)) is bundled["gone"]


def test_decode_ignores_wrongly_typed_standard_members(bundled: Catalog) -> None:
    # RFC 9457 §3.1: "If a member's value type does not match the specified type,
    # the member MUST be ignored".
    body = b'{"type":7,"title":["x"],"status":"409","detail":false,"instance":{},"code":"conflict","extra":1}'
    decoded = decode_json(body, catalog=bundled, status=409)
    assert type(decoded) is bundled["conflict"]
    assert (decoded.detail, decoded.instance) == (None, None)
    assert decoded.extensions == {
        "type": 7,
        "title": ["x"],
        "status": "409",
        "detail": False,
        "instance": {},
        "extra": 1,
    }
    # kept readable, never sent on
    assert json.loads(encode_json(decoded))["type"] == "https://errors.example.com/conflict"
    assert "detail" not in json.loads(encode_json(decoded))


def test_type_and_instance_that_are_not_uri_references_are_ignored() -> None:
    decoded = decode_json(b'{"type":"not a uri","instance":"/a b","status":400}')
    assert (decoded.type, decoded.instance) == ("about:blank", None)
    assert decoded.extensions == {"type": "not a uri", "instance": "/a b"}


def test_decode_generic_problem_keeps_unknown_members() -> None:
    decoded = decode_json(b'{"title":"Nope","status":400,"balance":30,"status_text":"x"}')
    assert (decoded.type, decoded.title, decoded.status) == ("about:blank", "Nope", 400)
    assert decoded.extensions == {"balance": 30, "status_text": "x"}


def test_http_status_is_authoritative() -> None:
    assert decode_json(b'{"status":200}', status=503).status == 503
    assert decode_json(b"{}", status=404).title == "Not Found"


def test_wrong_optional_member_is_ignored_and_wrong_required_one_falls_back(bundled: Catalog) -> None:
    optional = decode_json(b'{"code":"conflict","status":409,"conflicts":"a1"}', catalog=bundled)
    assert type(optional) is bundled["conflict"]
    assert optional.conflicts is None  # type: ignore[attr-defined]
    assert optional.extensions == {"conflicts": "a1"}
    assert "conflicts" not in json.loads(encode_json(optional))
    required = decode_json(b'{"code":"quota-exceeded","status":402,"limit":"many","current":1}', catalog=bundled)
    assert type(required) is Problem
    assert required.code == "quota-exceeded"
    assert required.extensions == {"limit": "many", "current": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "a problem is a JSON object, not list"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"title": "no status"}', "carries no status"),
    ],
)
def test_decode_json_errors(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_json(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<problem", "not well-formed XML"),
        (b"<problem/>", "root element is not"),
        (b'<p xmlns="urn:ietf:rfc:7807"/>', "root element is not"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            b'<problem xmlns="urn:ietf:rfc:7807"><title>&lol;</title></problem>',
            "must not contain a DOCTYPE",
        ),
        (b'<problem xmlns="urn:ietf:rfc:7807">' + b"<a>" * 100 + b"</a>" * 100 + b"</problem>", "nests too deeply"),
    ],
)
def test_decode_xml_errors(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_xml(body, status=400)


def test_xml_status_must_be_ascii_digits() -> None:
    body = b'<problem xmlns="urn:ietf:rfc:7807"><status>\xc2\xb2</status></problem>'
    assert decode_xml(body, status=400).extensions == {"status": "\u00b2"}


def test_xml_ignores_foreign_namespaces_and_bad_status() -> None:
    body = (
        b'<problem xmlns="urn:ietf:rfc:7807" xmlns:x="urn:other"><status>abc</status><x:evil>1</x:evil>'
        b"<title>T</title></problem>"
    )
    decoded = decode_xml(body, status=400)
    assert (decoded.status, decoded.title) == (400, "T")
    assert decoded.extensions == {"status": "abc"}


def test_lone_surrogates_never_break_encoding() -> None:
    problem = Problem("bad \ud800 text", status=400, note="\udfff")
    assert json.loads(encode_json(problem))["detail"] == "bad \ufffd text"
    assert ET.fromstring(encode_xml(problem)).findtext(f"{NS}note") == "\ufffd"


def test_decode_accepts_str_bodies(bundled: Catalog) -> None:
    gone = bundled["gone"]("bye")
    assert decode_json(encode_json(gone).decode(), catalog=bundled) == gone
    assert decode_xml(encode_xml(gone).decode(), catalog=bundled) == gone


def test_fast_and_lenient_paths_agree(bundled: Catalog) -> None:
    from problemdetails._wire import _decode_typed

    problem = bundled["quota-exceeded"](limit=5, current=5, resource="zones", instance="/z", request_id="r")
    body = encode_json(problem)
    assert _decode_typed(body, bundled) == problem  # well-formed: straight into the Struct
    for odd in (
        body.replace(b'"limit":5', b'"limit":"5"'),  # wrong type
        body.replace(b'"limit":5,', b""),  # a required member missing
        body[:-1] + b',"extra":1}',  # an unknown member (kept by the lenient path)
        body.replace(b'"/z"', b'"/a b"'),  # an instance that is no URI reference
        body.replace(b"https://errors.example.com/quota-exceeded", b"https://other.example/q"),
    ):
        assert _decode_typed(odd, bundled) is None
    # Not this package's member order: the type is not first, so the head decoder picks the class.
    reordered = json.dumps(dict(reversed(json.loads(body).items()))).encode()
    assert _decode_typed(reordered, bundled) == problem
    # A body opening with a known type whose code names another slug is not taken on trust.
    assert _decode_typed(body.replace(b'"code":"quota-exceeded"', b'"code":"gone"'), bundled) is None
    lenient = decode_json(body[:-1] + b',"extra":1}', catalog=bundled)
    assert (type(lenient), lenient.extensions) == (bundled["quota-exceeded"], {"extra": 1})
    localized = decode_json(body.replace(b"Quota exceeded", b"Quota atteint"), catalog=bundled)
    assert localized == problem  # the type's title comes from the catalog


def test_a_dropped_catalog_and_its_classes_are_freed_after_decoding(write: WriteCatalog) -> None:
    import gc
    import weakref

    # A catalog no other in this process shares classes with (one class per spec and bases).
    catalog = Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone, summary: Freed.}\n"))
    gone = catalog["gone"]
    assert type(decode_json(encode_json(gone("bye")), catalog=catalog)) is gone  # the one-pass path
    head_first = b'{"code":"gone","type":"https://errors.example.com/gone","title":"Gone","status":410}'
    assert type(decode_json(head_first, catalog=catalog)) is gone  # the head decoder's path
    catalog_ref, class_ref = weakref.ref(catalog), weakref.ref(gone)
    del catalog, gone
    gc.collect()
    assert (catalog_ref(), class_ref()) == (None, None)  # the decoders live in the catalog, not in a global


JING = shutil.which("jing") or "/usr/bin/jing"
APPENDIX_B = ROOT / "tests" / "schemas" / "rfc9457-appendix-b.rnc"
HOSTILE_VALUES: list[Any] = [
    {"not a name": 1, "i": "t", "_": "u", "ünï": "v", "1st": True, "x:y": 1.5},
    [1, None, 2, [None, "a"], {"k k": [None]}],
    {"nested": {"a b": {"_": "x", "i": [None]}}},
    'text with <tags> & "quotes" and a \ud800 surrogate',
    [],
    {},
]


def test_problem_xml_fits_rfc_9457_appendix_b(bundled: Catalog, tmp_path: Path) -> None:
    """jing checks every body against Appendix B's RELAX NG schema: examples, hostile keys, null items."""
    if not Path(JING).exists():
        pytest.fail(f"{JING} is missing: `make test` installs Debian's jing (apt-get install jing)")
    problems: list[Problem] = [example for slug in bundled for example in bundled[slug].examples()]
    problems += [Problem("hostile", status=400, value=value) for value in HOSTILE_VALUES]
    weird: dict[str, Any] = {"weird key": {"i": 1}, "i": [None]}  # extension names no element may have
    problems.append(Problem(status=409, **weird))
    files = []
    for number, problem in enumerate(problems):
        path = tmp_path / f"{number}.xml"
        path.write_bytes(encode_xml(problem))
        files.append(str(path))
    result = subprocess.run([JING, "-c", str(APPENDIX_B), *files], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    for problem in problems[-len(HOSTILE_VALUES) - 1 : -1]:  # and the values come back, None items in place
        decoded = decode_xml(encode_xml(problem))
        assert decoded.extensions["value"] == _as_xml_reads(problem.extensions["value"])


def _as_xml_reads(value: Any) -> Any:
    """What untyped XML gives back: text for scalars, `""` for an empty container, U+FFFD for a surrogate."""
    if isinstance(value, dict):
        return {key: _as_xml_reads(item) for key, item in value.items()} or ""
    if isinstance(value, list):
        return [_as_xml_reads(item) for item in value] or ""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\ud800", "\ufffd")
