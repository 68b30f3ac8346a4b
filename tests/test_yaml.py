from __future__ import annotations

import re

import pytest

from problemdetails._yaml import Mark, YamlError, YMap, YScalar, YSeq, read_yaml


def test_marks_are_one_based_and_point_at_values() -> None:
    root = read_yaml("a: 1\nb:\n  - x\n  - {c: 1.10}\n")
    assert isinstance(root, YMap)
    assert root.plain() == {"a": 1, "b": ["x", {"c": 1.1}]}
    key_mark, seq = root.entries["b"]
    assert key_mark == Mark(2, 1)
    assert isinstance(seq, YSeq)
    inner = seq.items[1]
    assert isinstance(inner, YMap)
    scalar = inner.entries["c"][1]
    assert isinstance(scalar, YScalar)
    assert (scalar.mark, scalar.raw, scalar.plain_style) == (Mark(4, 9), "1.10", True)


def test_empty_document_is_none() -> None:
    assert read_yaml("") is None
    assert read_yaml("# only a comment\n") is None


@pytest.mark.parametrize(
    ("text", "mark", "message"),
    [
        ("a: [1", Mark(1, 6), "invalid YAML"),
        ("a: 1\na: 2", Mark(2, 1), "duplicate key 'a' (first at line 1)"),
        ("a: &x [*x]", Mark(1, 4), "YAML nests or expands too much"),
        ("--- 1\n--- 2", Mark(2, 1), "expected a single document"),
        ("? [a]\n: 1", Mark(1, 3), "mapping keys must be plain strings"),
        ("a: !!python/object:os.system x", Mark(1, 4), "could not determine a constructor"),
        ("a: 1\nb: x\x1fy", Mark(2, 5), "character U+001F is not allowed"),
    ],
)
def test_errors_carry_marks(text: str, mark: Mark, message: str) -> None:
    with pytest.raises(YamlError, match=re.escape(message)) as caught:
        read_yaml(text)
    assert caught.value.mark == mark


def test_alias_expansion_is_bounded() -> None:
    text = "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
    for level in range(8):
        previous, name = chr(ord("a") + level), chr(ord("b") + level)
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]\n"
    with pytest.raises(YamlError, match="expands too much"):
        read_yaml(text)


def test_merge_keys_and_impossible_dates() -> None:
    root = read_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\nwhen: 2024-13-45\n")
    assert root is not None
    assert root.plain() == {"base": {"x": 1}, "thing": {"x": 1, "y": 2}, "when": "2024-13-45"}
