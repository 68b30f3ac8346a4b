"""Negotiation: which language a problem response is in (RFC 9110 §12.5.4, RFC 4647 §3.4 lookup)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from problemdetails._grammar import language_ranges
from problemdetails._response import choose_language

LANGUAGES = ("en", "fr", "de", "pt-BR")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "en"),  # none sent: the default
        ("fr", "fr"),  # an exact tag
        ("FR", "fr"),  # tags are case-insensitive (RFC 4647 §2)
        ("fr-CA", "fr"),  # a region falls back to its language
        ("de-AT-1996", "de"),  # each subtag goes in turn
        ("fr-x-quebec", "fr"),  # a private-use singleton goes with its subtag
        ("pt-br", "pt-BR"),  # the catalog's own spelling is sent back
        ("pt", "en"),  # lookup never answers a more specific tag than was asked for
        ("es, de;q=0.1", "de"),  # the first acceptable one, by q-value
        ("de;q=0.5, fr;q=0.9", "fr"),  # q-values, not order, rank the ranges
        ("fr;q=0.8, de;q=0.8", "fr"),  # a tie keeps the header's order
        ("*", "en"),  # any language: the default
        ("en;q=0, *", "fr"),  # ... but for one refused
        ("fr;q=0, fr-CA", "en"),  # a refused language is not reached by a longer range either
        ("es", "en"),  # unknown: the default, never a 406
        ("de;q=2", "en"),  # a q-value over 1 is malformed: skipped
        ("de;q=0.1234", "en"),  # more than three decimals too
        ("fr;;q=1, ;,de", "de"),  # a malformed item is skipped, not the header
        ("123, d\xe9", "en"),  # not a language range
        ("de-" + "a" * 9, "en"),  # a subtag of more than eight characters
        ("es, " * 10_000 + "de", "en"),  # a huge header is read so far only
    ],
)
def test_choose_language(header: str, chosen: str) -> None:
    assert choose_language(header, LANGUAGES) == chosen


def test_choose_language_with_one_language_reads_nothing() -> None:
    assert choose_language("fr", ("en",)) == "en"


def test_language_ranges_are_lowercased_with_their_weights() -> None:
    assert language_ranges(" fr-CA ; q=0.5 ,en,*;Q=0 ") == [("fr-ca", 0.5), ("en", 1.0), ("*", 0.0)]


@given(header=st.text(max_size=300) | st.binary(max_size=300).map(lambda data: data.decode("latin-1")))
def test_any_accept_language_chooses_a_catalog_language(header: str) -> None:
    assert choose_language(header, LANGUAGES) in LANGUAGES
