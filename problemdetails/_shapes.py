"""YAML mappings read into checked values, one key at a time, every mistake a finding at `file:line:col`.

What the catalog loader and the translation reader share: a value that does not
fit is reported where it stands and left out, so one run reports everything.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any, Literal, get_args, get_origin

import msgspec

from problemdetails._exceptions import Finding
from problemdetails._yaml import Mark, YMap, YNode, YScalar, YSeq

__all__ = ["Findings", "byte_mark", "did_you_mean", "explain", "flat_types", "locate", "read_struct"]


class Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []

    def error(self, path: str, mark: Mark, message: str) -> None:
        self.items.append(Finding(path=path, line=mark.line, column=mark.column, message=message))

    def warning(self, path: str, mark: Mark, message: str) -> None:
        self.items.append(Finding(path=path, line=mark.line, column=mark.column, message=message, severity="warning"))

    def file_error(self, path: str, message: str) -> None:
        """A finding about a path as a whole: no line or column to point at, so none is made up."""
        self.items.append(Finding(path=path, line=None, column=None, message=message))

    def has_errors(self) -> bool:
        return any(item.severity == "error" for item in self.items)


def byte_mark(data: bytes, offset: int) -> Mark:
    """The line and column (in characters, as an editor counts them) of a byte offset."""
    start = data.rfind(b"\n", 0, offset) + 1
    return Mark(data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1)


def did_you_mean(word: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    match = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def locate(node: YNode, error: msgspec.ValidationError) -> Mark:
    """The mark of the part of `node` that msgspec's `- at `$...`` path names."""
    found = re.search(r"- at `\$(.*)`$", str(error))
    if found is None:
        return node.mark
    for step in re.findall(r"\[(\d+|\.\.\.)\]|\.([^.\[]+)", found.group(1)):
        index, key = step
        if isinstance(node, YSeq) and index.isdigit() and int(index) < len(node.items):
            node = node.items[int(index)]
        elif isinstance(node, YMap) and key in node.entries:
            node = node.entries[key][1]
        else:
            break
    return node.mark


def explain(error: msgspec.ValidationError) -> str:
    text = re.sub(r" - at `\$.*`$", "", str(error))
    # msgspec speaks JSON; a catalog author reads YAML.
    text = text.replace("`object`", "a mapping").replace("`array`", "a list")
    return text[:1].lower() + text[1:]


@functools.cache
def _fields(shape: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    # msgspec resolves the (string) annotations on every call: once per shape is enough.
    return {item.name: item for item in msgspec.structs.fields(shape)}


def read_struct(
    node: YNode,
    shape: type[msgspec.Struct],
    where: str,
    path: str,
    findings: Findings,
    failed: set[str] | None = None,
    *,
    partial: bool = False,
) -> dict[str, Any] | None:
    """Check a YAML mapping against a Struct shape, one key at a time.

    Unknown keys and bad optional values are reported and then left out (the
    default stands in), so later checks still run on the rest; `failed` gets
    the keys whose values were bad. Returns None when a required key is
    missing or bad, unless `partial`: then such a key is None and in `failed`
    (reported once), and the caller goes on checking the rest.
    """
    if not isinstance(node, YMap):
        findings.error(path, node.mark, f"{where} must be a mapping, not {node.kind()}")
        return None
    fields = _fields(shape)
    failed = failed if failed is not None else set()
    values: dict[str, Any] = {}
    for key, (key_mark, value_node) in node.entries.items():
        spec = fields.get(key)
        if spec is None:
            known = ", ".join(fields)
            findings.error(path, key_mark, f"unknown key {key!r} in {where}{did_you_mean(key, fields)}; known: {known}")
            # A misspelt key is reported once, not again as the key it meant being missing.
            failed.update(get_close_matches(key, list(fields), n=1, cutoff=0.6))
            continue
        value = _as_written(value_node, spec.type)
        try:
            values[key] = msgspec.convert(value, spec.type)
        except msgspec.ValidationError as error:
            findings.error(path, locate(value_node, error), f"{where}: {_unfit(key, value, spec.type, error)}")
            failed.add(key)
    complete = True
    for spec in fields.values():
        if spec.name in values:
            continue
        if not spec.required:
            values[spec.name] = spec.default if spec.default_factory is msgspec.NODEFAULT else spec.default_factory()
            continue
        if spec.name not in failed:
            findings.error(path, node.mark, f"{where} is missing required key {spec.name!r}")
        complete = False
        if partial:
            values[spec.name] = None
            failed.add(spec.name)
    return values if complete or partial else None


def _as_written(node: YNode, annotation: Any) -> Any:
    """A YAML value as the field takes it: a plain scalar that a text field takes is the text as written."""
    value = node.plain()
    if (
        isinstance(node, YScalar)
        and node.plain_style
        and value is not None
        and not isinstance(value, str)
        and str in flat_types(annotation)
    ):
        return node.raw  # `version: 1.10` and `title: 404` mean the text as written
    return value


def _unfit(key: str, value: Any, annotation: Any, error: msgspec.ValidationError) -> str:
    """What is wrong with a key's value: not one of a Literal's choices, or msgspec's reason in plain words."""
    choices = [arg for arg in flat_types(annotation) if isinstance(arg, str)]
    if not choices:
        return f"{key}: {explain(error)}"
    hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
    return f"{key} must be one of {', '.join(choices)}, not {value!r}{hint}"


def flat_types(annotation: Any) -> list[Any]:
    """The alternatives of a union / the values of a Literal, flattened."""
    if get_origin(annotation) in (types.UnionType, Literal) or str(get_origin(annotation)) == "typing.Union":
        flat: list[Any] = []
        for arg in get_args(annotation):
            flat.extend(flat_types(arg) if get_origin(arg) else [arg])
        return flat
    return [annotation]
