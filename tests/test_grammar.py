"""The grammar rules that are more than one regex: W3C Trace Context's two headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from problemdetails._grammar import (
    TRACESTATE_MAX_LENGTH,
    TRACESTATE_MAX_MEMBERS,
    forwarded_traceparent,
    forwarded_tracestate,
    traceparent_trace_id,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "forwarded"),
    [
        (TRACEPARENT, TRACEPARENT),
        (f" \t{TRACEPARENT} ", TRACEPARENT),  # OWS around a field value is no part of it (RFC 9110 §5.5)
        # W3C Trace Context §3.2.4: a later version is read for its version-00 fields, and sent as version 00,
        # with only the sampled flag (§3.2.2.5: the others are reserved, "Vendors MUST set those to zero").
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-comes-next", TRACEPARENT),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", TRACEPARENT[:-2] + "00"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-" + "x" * 100_000, TRACEPARENT),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),  # all-zero trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),  # all-zero parent id
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),  # version ff is invalid
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),  # uppercase
        (TRACEPARENT + "-extra", None),  # version 00 has no more fields
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y", None),
        ("", None),
    ],
)
def test_a_traceparent_is_forwarded_only_when_it_is_valid(value: str, forwarded: str | None) -> None:
    assert forwarded_traceparent(value) == forwarded
    assert (traceparent_trace_id(value) is not None) is (forwarded is not None)  # one grammar for both


def members(count: int, width: int = 1) -> str:
    return ",".join(f"k{index}={'v' * width}" for index in range(count))


def exactly(length: int) -> str:
    """A valid tracestate of exactly `length` characters."""
    head = members(TRACESTATE_MAX_MEMBERS - 1, 10)
    return f"{head},last={'x' * (length - len(head) - len(',last='))}"


@pytest.mark.parametrize(
    ("value", "forwarded"),
    [
        ("congo=t61rcWkgMzE", "congo=t61rcWkgMzE"),
        ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        # §3.3.1.2: OWS around members and empty members are allowed, and not forwarded.
        (" rojo=1 ,\t, congo=2\t", "rojo=1,congo=2"),
        ("a= leading space kept", "a= leading space kept"),  # §3.3.1.3.2: leading spaces are the value's
        ("a=x  ", "a=x"),  # trailing ones are OWS
        # §3.3.1.3.1 keys: simple-key, or tenant-id "@" system-id.
        ("a_-*/09=1", "a_-*/09=1"),
        ("0tenant@vendor=1", "0tenant@vendor=1"),
        (f"{'a' * 256}=1", f"{'a' * 256}=1"),
        (f"{'t' * 241}@{'s' * 14}=1", f"{'t' * 241}@{'s' * 14}=1"),
        (f"a={'v' * 256}", f"a={'v' * 256}"),
        (members(TRACESTATE_MAX_MEMBERS), members(TRACESTATE_MAX_MEMBERS)),
        (exactly(TRACESTATE_MAX_LENGTH), exactly(TRACESTATE_MAX_LENGTH)),
        # Refused whole.
        (f"{'a' * 257}=1", None),  # a simple-key of more than 256 characters
        (f"{'t' * 242}@s=1", None),  # a tenant-id of more than 241
        (f"t@{'s' * 15}=1", None),  # a system-id of more than 14
        ("0key=1", None),  # a simple-key starts with a letter
        ("t@0sys=1", None),  # so does a system-id
        ("Congo=1", None),
        ("a@b@c=1", None),
        ("=1", None),
        ("a", None),
        ("a=", None),  # a value has at least one non-blank character
        ("a=b=c", None),
        ("a=x\ty", None),
        (f"a={'v' * 257}", None),
        ("a=caf\u00e9", None),
        ("a=1\r\nx-injected: 1", None),
        ("a=1,a=2", None),  # §3.3.1.4: "Only one entry per key is allowed"
        (members(TRACESTATE_MAX_MEMBERS + 1), None),
        ("a=1" + "," * TRACESTATE_MAX_MEMBERS, None),  # empty members are list-members too
        (exactly(TRACESTATE_MAX_LENGTH + 1), None),
        ("a=" + "v" * 100_000, None),
        ("", None),  # nothing to forward
        (" , ,", None),
    ],
)
def test_a_tracestate_is_forwarded_only_when_it_is_valid(value: str, forwarded: str | None) -> None:
    assert forwarded_tracestate(value) == forwarded


@given(st.text())
def test_whatever_the_text_a_forwarded_tracestate_is_printable_ascii_and_bounded(value: str) -> None:
    forwarded = forwarded_tracestate(value)
    if forwarded is not None:
        assert len(forwarded) <= TRACESTATE_MAX_LENGTH
        assert all(" " <= char <= "~" for char in forwarded)
        assert forwarded_tracestate(forwarded) == forwarded


@given(st.text())
def test_whatever_the_text_a_forwarded_traceparent_is_version_00(value: str) -> None:
    forwarded = forwarded_traceparent(value)
    assert forwarded is None or (len(forwarded) == 55 and forwarded_traceparent(forwarded) == forwarded)
