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
        ("a: &x [*x]", Mark(1, 4), "YAML nests deeper than 64 levels (an alias that refers to itself?)"),
        ("--- 1\n--- 2", Mark(2, 1), "expected a single document"),
        ("? [a]\n: 1", Mark(1, 3), "mapping keys must be plain strings"),
        ("a: !!python/object:os.system x", Mark(1, 4), "could not determine a constructor"),
        ("a: 1\nb: x\x1fy", Mark(2, 5), "character U+001F is not allowed"),
        # A member type unquoted in a flow mapping: the message says how to write it.
        (
            "members: {ids: list[int]}",
            Mark(1, 20),
            "invalid YAML: while parsing a flow mapping expected ',' or '}', but got '[' (inside { } or [ ], "
            "quote a value that holds brackets or commas, such as a member type: 'list[int]')",
        ),
        (
            "members: {ids: {type: dict[str, int]}}",
            Mark(1, 27),
            "quote a value that holds brackets or commas, such as a member type: 'list[int]'",
        ),
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
    with pytest.raises(YamlError, match="more than 200,000 nodes, aliases expanded"):
        read_yaml(text)


def test_merge_keys_and_impossible_dates() -> None:
    root = read_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\nwhen: 2024-13-45\n")
    assert root is not None
    assert root.plain() == {"base": {"x": 1}, "thing": {"x": 1, "y": 2}, "when": "2024-13-45"}


def test_merge_keys_follow_the_merge_key_type() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n"
    root = read_yaml(text)
    assert root is not None
    assert root.plain()["c"] == {"x": 1, "z": 2, "y": 3}  # own keys win, then earlier merges


def test_a_chain_of_merges_cannot_grow_past_its_keys() -> None:
    # Each level merges the two before it twice: PyYAML's flatten_mapping keeps every duplicate pair.
    lines = ["a0: &a0 {x0: 1}", "b0: &b0 {y0: 1}"]
    for level in range(1, 40):
        lines.append(f"a{level}: &a{level} {{<<: [*a{level - 1}, *b{level - 1}, *a{level - 1}], p{level}: 1}}")
        lines.append(f"b{level}: &b{level} {{<<: [*b{level - 1}, *a{level - 1}, *b{level - 1}], q{level}: 1}}")
    root = read_yaml("\n".join(lines))
    assert root is not None
    assert len(root.plain()["a39"]) == 2 + 2 * 39 - 1  # x0, y0, and every p and q below 39, then p39


def test_deep_nesting_is_a_finding_not_a_recursion_error() -> None:
    with pytest.raises(YamlError, match="nests deeper than 64 levels"):
        read_yaml("a: " + "[" * 3000 + "]" * 3000)


def test_a_document_past_the_node_budget_is_refused_before_composing() -> None:
    rows = "".join(f"  p{index}: {{title: T, status: 400}}\n" for index in range(80_000))
    with pytest.raises(YamlError, match="more than 200,000 nodes: no catalog is that large") as caught:
        read_yaml("problems:\n" + rows)
    assert "alias" not in str(caught.value)


def test_a_large_document_under_the_node_budget_is_read() -> None:
    # 38,000 mappings of four members: 190,001 nodes as the loader counts them (keys are not
    # nodes), though over 400,000 parser events. A 10,000-slug catalog in one file is of this size.
    rows = "".join(f"  p{index}: {{a: 1, b: 2, c: 3, d: 4}}\n" for index in range(38_000))
    root = read_yaml("problems:\n" + rows)
    assert root is not None
    assert len(root.plain()["problems"]) == 38_000
