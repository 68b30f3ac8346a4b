"""`detail` templates: `"{current} of {limit} {resource} used"` over a problem's members.

A template is compiled once per class into a positional format and a getter of
the values it names; a raise renders it with one C-level `str.format`. It
renders only when every member it names is present (DESIGN.md); otherwise the
problem has no template detail. The loader checks templates with the same
rules (`render_template`, `renders_bounded`), and bounds widths and precisions
so that no template allocates much on a raise.
"""

from __future__ import annotations

import operator
import re
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_WIDTH",
    "Template",
    "class_template",
    "render",
    "render_template",
    "renders_bounded",
    "template_fields",
    "too_wide",
]

# A compiled `detail` template: how many members it names, what reads their values
# off the wire Struct, and the positional format string (`_compile`).
Template = tuple[int, "Callable[[Any], Any] | None", str]

# The widest a format spec's width or precision may be: `{limit:>2000000000}` would
# allocate gigabytes on every raise.
MAX_WIDTH = 200

_FORMATTER = string.Formatter()


def _compile(template: str, names: Mapping[str, str]) -> tuple[tuple[str, ...], str] | None:
    """Compile a `detail` template once: the members it names (as `names` maps them), and a positional format.

    `"{current} of {limit} {resource} used"` becomes ("current", "limit",
    "resource") and `"{0} of {1} {2} used"`: one C-level `str.format` per raise,
    and a field name is looked up whole (`{retry-at}` is one member, not a subtraction).
    """
    fields: list[str] = []
    pieces: list[str] = []
    try:
        for literal, field, spec, conversion in _FORMATTER.parse(template):
            pieces.append(literal.replace("{", "{{").replace("}", "}}"))
            if field is None:
                continue
            if "{" in (spec or ""):
                return None  # a nested field: no member value can fill it
            fields.append(names[field])
            pieces.append(f"{{{len(fields) - 1}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
    except (ValueError, KeyError):  # the loader reports these; a hand-made spec just gets no template
        return None
    return tuple(fields), "".join(pieces)


def class_template(template: str, names: Mapping[str, str]) -> Template | None:
    """Compile a class's `detail` template, its members named as `names` maps wire names to attributes."""
    compiled = _compile(template, names)
    if compiled is None:
        return None
    fields, text = compiled
    return len(fields), operator.attrgetter(*fields) if fields else None, text


def render(template: Template, wire: Any) -> str | None:
    """The detail `template` gives for a wire Struct's values; None unless every member it names is set."""
    count, getter, text = template
    if getter is None:
        return text.format()
    return _format(text, getter(wire) if count > 1 else (getter(wire),))


def _format(text: str, values: Sequence[Any]) -> str | None:
    # The catalog's contract: a template renders only when every member it
    # names is present; otherwise the problem has no template detail.
    if None in values:
        return None
    try:
        return text.format(*values)
    except (ValueError, TypeError):  # a format spec that does not fit this value
        return None


def render_template(template: str, members: Mapping[str, Any]) -> str | None:
    """Render a `detail` template over member values keyed by wire name (the loader's check)."""
    compiled = _compile(template, _Identity())
    if compiled is None:
        return None
    fields, text = compiled
    return _format(text, [members.get(field) for field in fields])


class _Identity(dict[str, str]):
    """Every name maps to itself: the loader's templates name members by their wire names."""

    def __missing__(self, key: str) -> str:
        return key


# A run of decimal digits in a format spec, as Python reads a width or precision:
# any Unicode decimal digit (`\d` on text, category Nd), `{n:\u0669\u0669}` is width 99.
_SPEC_NUMBER = re.compile(r"\d+")


def too_wide(spec: str) -> bool:
    """Whether a format spec asks for a width or precision above the bound (in any digits, with any zeros)."""
    for number in _SPEC_NUMBER.findall(spec):
        # Leading zeros are no width (`{n:0005}` pads to 5); what is left is compared by
        # length first: `int()` refuses more than 4300 digits.
        digits = "".join(str(unicodedata.decimal(digit)) for digit in number).lstrip("0")
        if len(digits) > len(str(MAX_WIDTH)) or int(digits or "0") > MAX_WIDTH:
            return True
    return False


def renders_bounded(template: str) -> bool:
    """Whether a template may be rendered at load time: it parses, and no field's spec nests or is too wide."""
    try:
        fields = list(_FORMATTER.parse(template))
    except ValueError:
        return False
    return not any(spec and ("{" in spec or too_wide(spec)) for _, _, spec, _ in fields)


def template_fields(template: str) -> set[str] | None:
    """The member names a template uses; None when it does not parse (reported elsewhere)."""
    try:
        return {name for _, name, _, _ in _FORMATTER.parse(template) if name}
    except ValueError:
        return None
