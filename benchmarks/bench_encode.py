"""Encoding a catalogued problem to JSON bytes, side by side in one run.

Compared with the two ways Python peers produce the same body: `json.dumps` of
an equivalent dict, and a pydantic model (the approach of the pydantic-based
problem-details libraries such as fastapi-problem-details and fastapi-rfc9457),
both with pydantic's own `model_dump_json` and with `model_dump` + `json.dumps`
as a `JSONResponse` does. Every contender produces the same JSON object (checked
before timing). Results are ratios to problemdetails, never absolute targets:
these machines are shared and noisy.

    python benchmarks/bench_encode.py      (or `make bench` for every benchmark)
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel

from problemdetails import Catalog, decode_json, decode_xml, encode_json, encode_xml
from problemdetails._member_types import is_uri_reference

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
QuotaExceeded = CATALOG["quota-exceeded"]
ARGS: dict[str, Any] = {"limit": 50000, "current": 50000, "resource": "queries"}
OCCURRENCE: dict[str, Any] = {"instance": "/v1/zones/01JD8X/records", "request_id": "01JD8X5T3K9Q2W3E4R5T6Y7U8I"}


class PydanticProblem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    request_id: str | None = None
    limit: int | None = None
    current: int | None = None
    resource: str | None = None


SPEC = CATALOG.problems["quota-exceeded"]
PROBLEM = QuotaExceeded(**ARGS, **OCCURRENCE)
BODY = PROBLEM.to_dict()
MODEL = PydanticProblem(**BODY)


def pydantic_dump_json() -> bytes:
    dumped: str = MODEL.model_dump_json(exclude_none=True)
    return dumped.encode()


def pydantic_dump_dumps() -> bytes:
    return json.dumps(MODEL.model_dump(exclude_none=True), separators=(",", ":")).encode()


def dict_dumps() -> bytes:
    return json.dumps(BODY, separators=(",", ":")).encode()


def build_and_encode() -> bytes:
    return encode_json(QuotaExceeded(**ARGS, **OCCURRENCE))


def pydantic_build_and_dump() -> bytes:
    detail = f"{ARGS['current']} of {ARGS['limit']} {ARGS['resource']} used"
    model = PydanticProblem(
        type=SPEC.type, title=SPEC.title, status=SPEC.status, detail=detail, code=SPEC.slug, **ARGS, **OCCURRENCE
    )
    dumped: str = model.model_dump_json(exclude_none=True)
    return dumped.encode()


# (group, label, function); the first of each group is the baseline (ratio 1.00).
ENCODED = encode_json(PROBLEM)
ENCODED_XML = encode_xml(PROBLEM)


def loads_and_access() -> object:
    body = json.loads(ENCODED)
    return (body["code"], body["status"], body.get("detail"), body["limit"], body["current"], body.get("resource"))


def pydantic_validate() -> object:
    return PydanticProblem.model_validate_json(ENCODED)


# What no typed decode can go below while its result is a problem a client can
# raise: msgspec's decode into the class's wire Struct (the fastest typed decode
# in Python), then a new exception object, with no check and nothing put in it.
STRUCT_DECODER = msgspec.json.Decoder(QuotaExceeded.__problemdetails__.wire)


def struct_decode() -> object:
    return STRUCT_DECODER.decode(ENCODED)


def struct_decode_and_exception() -> object:
    return STRUCT_DECODER.decode(ENCODED), QuotaExceeded.__new__(QuotaExceeded)


# The same three fields in a bare msgspec Struct: the yardstick for constructing a problem.
BareQuota = msgspec.defstruct("BareQuota", [("limit", int), ("current", int), ("resource", str)], kw_only=True)


class RaisableQuota(Exception):
    """The least a raisable typed problem can be: an exception holding a Struct, with nothing checked or rendered."""

    __slots__ = ("_wire", "extensions", "headers")

    def __init__(self, detail: str | None = None, **members: Any) -> None:
        self._wire = BareQuota(**members)
        self.headers: dict[str, str] = {}
        self.extensions: dict[str, Any] = {}
        Exception.__init__(self, detail)


QUOTA_DETAIL = "{} of {} {} used"  # the catalog's template, positional
FIXED = {"type": SPEC.type, "title": SPEC.title, "status": SPEC.status, "code": SPEC.slug}


class CheckedQuota(RaisableQuota):
    """The least a construction can be that checks and renders as a problem must: the Struct
    type-checked by `msgspec.convert` (the catalog's types), the detail rendered by `str.format`."""

    def __init__(self, detail: str | None = None, **members: Any) -> None:
        self._wire = msgspec.convert(members, BareQuota)
        self.headers = {}
        self.extensions = {}
        Exception.__init__(
            self, detail or QUOTA_DETAIL.format(members["current"], members["limit"], members["resource"])
        )


class SignedQuota(CheckedQuota):
    """The least a catalogued problem's construction can be: that, called through `Problem`'s keyword
    signature (Python matches each member's keyword against the named parameters before it lands in
    `**members`), and checked into the Struct it is sent as, its type, title, status and code included."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        instance: str | None = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
        type: str | None = None,
        code: str | None = None,
        **members: Any,
    ) -> None:
        # `CheckedQuota`'s body again rather than a call to it: no second keyword call.
        self._wire = msgspec.convert({**FIXED, **members}, QuotaExceeded.__problemdetails__.wire)
        self.headers = {}
        self.extensions = {}
        Exception.__init__(
            self, detail or QUOTA_DETAIL.format(members["current"], members["limit"], members["resource"])
        )


def struct_decode_checked() -> object:
    """That Struct decode with the checks a typed decode must make, then the exception holding it."""
    wire: Any = STRUCT_DECODER.decode(ENCODED)
    if wire.code != QuotaExceeded.code or wire.type != QuotaExceeded.type or not is_uri_reference(wire.instance):
        raise AssertionError("not the benchmark's body")
    problem = QuotaExceeded.__new__(QuotaExceeded, wire.detail)
    problem._wire = wire
    return problem


CHECKED_CONSTRUCTION = (
    "floor with the checks: that exception, the Struct type-checked by `msgspec.convert`, the detail rendered"
)
SIGNED_CONSTRUCTION = (
    "floor of a catalogued problem: that, through `Problem`'s keyword signature, into the Struct it is sent as"
)
CHECKED_DECODE = "floor with the checks: that Struct decode, `code`, `type` and `instance` checked, the exception"

CASES: list[tuple[str, str, Callable[[], object]]] = [
    ("encode a ready problem", "problemdetails `encode_json`", lambda: encode_json(PROBLEM)),
    ("encode a ready problem", "`json.dumps` of the equivalent dict", dict_dumps),
    ("encode a ready problem", "pydantic `model_dump_json`", pydantic_dump_json),
    ("encode a ready problem", "pydantic `model_dump` + `json.dumps`", pydantic_dump_dumps),
    (
        "construct a problem with three members",
        "problemdetails `QuotaExceeded(limit=..., ...)`",
        lambda: QuotaExceeded(**ARGS),
    ),
    ("construct a problem with three members", "a bare msgspec Struct of the same fields", lambda: BareQuota(**ARGS)),
    (
        "construct a problem with three members",
        "floor: an exception holding that Struct (no checks, no detail)",
        lambda: RaisableQuota(**ARGS),
    ),
    ("construct a problem with three members", CHECKED_CONSTRUCTION, lambda: CheckedQuota(**ARGS)),
    ("construct a problem with three members", SIGNED_CONSTRUCTION, lambda: SignedQuota(**ARGS)),
    ("build (validate, render detail) + encode", "problemdetails", build_and_encode),
    ("build (validate, render detail) + encode", "pydantic model + `model_dump_json`", pydantic_build_and_dump),
    (
        "decode bytes into a typed problem",
        "problemdetails `decode_json`",
        lambda: decode_json(ENCODED, catalog=CATALOG),
    ),
    ("decode bytes into a typed problem", "`json.loads` + dict access", loads_and_access),
    ("decode bytes into a typed problem", "pydantic `model_validate_json`", pydantic_validate),
    ("decode bytes into a typed problem", "floor: msgspec decode into the wire Struct alone", struct_decode),
    (
        "decode bytes into a typed problem",
        "floor: that Struct decode + a new exception object (no checks)",
        struct_decode_and_exception,
    ),
    ("decode bytes into a typed problem", CHECKED_DECODE, struct_decode_checked),
    ("other wire operations", "problemdetails `encode_json`", lambda: encode_json(PROBLEM)),
    ("other wire operations", "problemdetails `encode_xml`", lambda: encode_xml(PROBLEM)),
    ("other wire operations", "problemdetails `decode_xml` (typed)", lambda: decode_xml(ENCODED_XML, catalog=CATALOG)),
]


def per_call(functions: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best-of-`repeat` seconds per call for each function, the functions taking turns in each round.

    Taking turns spreads the machine's drift over every contender alike; the
    minimum is the least noisy estimate.
    """
    timers = [timeit.Timer(function) for function in functions]
    numbers = [timer.autorange()[0] for timer in timers]
    best = [float("inf")] * len(functions)
    for _ in range(repeat):
        for index, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[index] = min(best[index], timer.timeit(number) / number)
    return best


def verdict(what: str, ratio: float, target: float, unit: str, *, at_most: bool = False) -> str:
    """One target's line: the measured ratio, the target, met or not."""
    met = ratio <= target if at_most else ratio >= target
    bound = f"at most {target}x" if at_most else f"at least {target}x"
    return f"{what}: {ratio:.2f}x {unit} (target: {bound}): **{'met' if met else 'NOT met'}**."


def run(repeat: int = 15) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    for _, label, function in CASES[:4]:  # every contender must produce the same object
        produced = function()
        assert isinstance(produced, bytes)
        assert json.loads(produced) == BODY, label
    assert json.loads(pydantic_build_and_dump()) == json.loads(build_and_encode())

    rows: list[str] = [
        "",
        f"Problem: `quota-exceeded` from the bundled catalog with three members, `instance` and `request_id` "
        f"({len(ENCODED)} bytes of JSON). Best of {repeat} rounds (`timeit`, auto-ranged), contenders taking turns.",
    ]
    verdicts: list[str] = []
    baseline = 0.0
    group_seen = ""
    times: dict[str, float] = {}
    measured = per_call([function for _, _, function in CASES], repeat)
    for (group, label, _), seconds in zip(CASES, measured, strict=True):
        if group != group_seen:
            group_seen, baseline = group, seconds
            rows += [
                "",
                f"**{group}**",
                "",
                "| contender | time per call | ratio to problemdetails |",
                "|---|---:|---:|",
            ]
        times[f"{group}/{label}"] = seconds
        rows.append(f"| {label} | {seconds * 1e9:,.0f} ns | {seconds / baseline:.2f}x |")
        print(f"{group:45} {label:45} {seconds * 1e9:9,.0f} ns  {seconds / baseline:5.2f}x", flush=True)

    ours = times["encode a ready problem/problemdetails `encode_json`"]
    fastest_pydantic = min(
        times["encode a ready problem/pydantic `model_dump_json`"],
        times["encode a ready problem/pydantic `model_dump` + `json.dumps`"],
    )
    verdicts.append(verdict("Encoding", fastest_pydantic / ours, 3, "faster than the faster pydantic variant"))
    build = times["build (validate, render detail) + encode/problemdetails"]
    pydantic_build = times["build (validate, render detail) + encode/pydantic model + `model_dump_json`"]
    group = "construct a problem with three members"
    signed = times[f"{group}/{SIGNED_CONSTRUCTION}"]
    at_floor = pydantic_build / (signed + times["encode a ready problem/problemdetails `encode_json`"])
    verdicts.append(
        verdict("Building + encoding", pydantic_build / build, 2, "faster than pydantic's model")
        + f" At the floor (a catalogued problem's least construction, below, then `encode_json`) it would be"
        f" {at_floor:.2f}x."
    )
    construct = times[f"{group}/problemdetails `QuotaExceeded(limit=..., ...)`"]
    struct = times[f"{group}/a bare msgspec Struct of the same fields"]
    raisable = times[f"{group}/floor: an exception holding that Struct (no checks, no detail)"]
    checked = times[f"{group}/{CHECKED_CONSTRUCTION}"]
    verdicts.append(
        verdict("Construction", construct / struct, 5, "the time of a bare Struct", at_most=True)
        + f" The floor, an exception holding the Struct, is {raisable / struct:.1f}x the Struct; with the type"
        f" check and the detail a problem must have, {checked / struct:.1f}x; a catalogued problem's (its signature,"
        f" its wire Struct), {signed / struct:.1f}x. problemdetails is {construct / signed:.2f}x that last floor."
    )
    group = "decode bytes into a typed problem"
    decode = times[f"{group}/problemdetails `decode_json`"]
    pydantic_decode = times[f"{group}/pydantic `model_validate_json`"]
    floor = times[f"{group}/floor: that Struct decode + a new exception object (no checks)"]
    checked = times[f"{group}/{CHECKED_DECODE}"]
    verdicts.append(
        verdict("Typed decoding", decode / floor, 1.5, "the floor's time", at_most=True)
        + f" With the checks a typed decode must make, the floor is {checked / floor:.2f}x that, and"
        f" problemdetails is {decode / checked:.2f}x it."
    )
    verdicts.append(verdict("Typed decoding against pydantic", pydantic_decode / decode, 3, "faster"))
    json_encode = times["other wire operations/problemdetails `encode_json`"]
    xml_encode = times["other wire operations/problemdetails `encode_xml`"]
    xml_decode = times["other wire operations/problemdetails `decode_xml` (typed)"]
    verdicts.append(verdict("`encode_xml`", xml_encode / json_encode, 10, "the time of `encode_json`", at_most=True))
    verdicts.append(verdict("`decode_xml`", xml_decode / json_encode, 25, "the time of `encode_json`", at_most=True))
    return rows, verdicts


if __name__ == "__main__":
    print(*run()[1], sep="\n")
