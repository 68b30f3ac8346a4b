"""`problemdetails gen`: a typed Python module with one class per slug.

The module embeds the catalog as canonical JSON and defines each class with
`spec=` its slug's spec, so the generated classes behave and encode exactly
like the ones `Catalog` builds at runtime; what the module adds is static
types: explicit `__init__` signatures and member annotations that mypy and
pyright check. Output is deterministic: same catalog, same bytes.
"""

from __future__ import annotations

import json

from problemdetails._catalog import Catalog
from problemdetails._problem import Problem
from problemdetails._spec import MemberSpec, ProblemSpec

__all__ = ["generate_python"]


def _docstring(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    return f'"""{escaped}"""'


def _literal(text: str) -> str:
    """A Python string literal, quoted the way ruff/black format it.

    JSON string syntax is valid Python; like the formatters, prefer double
    quotes unless that needs more escapes than single quotes.
    """
    quoted = json.dumps(text, ensure_ascii=False)
    if text.count('"') > text.count("'"):  # ruff's rule: the quote that needs fewer escapes, double on a tie
        return "'" + quoted[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"
    return quoted


def _ordered(catalog: Catalog) -> list[ProblemSpec]:
    """Every parent before its children; otherwise by slug."""
    done: dict[str, ProblemSpec] = {}

    def visit(spec: ProblemSpec) -> None:
        if spec.slug in done:
            return
        if spec.extends is not None:
            visit(catalog.problems[spec.extends])
        done[spec.slug] = spec

    for spec in catalog.problems.values():
        visit(spec)
    return list(done.values())


def _overrides(spec: ProblemSpec, member: MemberSpec) -> bool:
    """Whether the member's property overrides one of a base class: `Problem`'s or the parent's.

    Marked `@override` (PEP 698) so strict checkers (pyright `reportImplicitOverride`, mypy
    `explicit-override`) accept the module; a parent's members are redeclared in each child.
    """
    return member.declared_by not in ("", spec.slug) or hasattr(Problem, member.attribute)


def _class(spec: ProblemSpec, catalog: Catalog) -> list[str]:
    base = catalog.problems[spec.extends].class_name if spec.extends else "_pd.Problem"
    heading = f"{spec.status} {spec.title}" + (f": {spec.summary}" if spec.summary else "")
    lines = [
        "",
        "",
        f"class {spec.class_name}({base}, spec=CATALOG.problems[{_literal(spec.slug)}]):",
        f"    {_docstring(heading)}",
        "",
    ]
    params: list[str] = []
    forwards: list[str] = []
    properties: list[str] = []
    for member in spec.members:
        annotation = member.parsed.source()
        optional = not member.required and not member.parsed.nullable()
        declared = f"{annotation} | None" if optional else annotation
        properties += [
            "        @property",
            *(["        @_override"] if _overrides(spec, member) else []),
            f"        def {member.attribute}(self) -> {declared}:",
            "            raise NotImplementedError",
            "",
        ]
        params.append(f"        {member.attribute}: {declared}{' = None' if not member.required else ''},")
        forwards.append(f"{member.attribute}={member.attribute}")
    if properties:
        # For type checkers only: read-only, as at run time, where each member is a
        # property over the problem's wire form (so `p.limit = 3` is a type error).
        lines += [
            "    if _typing.TYPE_CHECKING:  # at run time, each member is a read-only property over the wire form",
            "",
            *properties,
        ]
    # Required keyword-only parameters first reads better; Python allows either order.
    params.sort(key=lambda line: line.endswith("= None,"))
    lines += [
        "    def __init__(",
        "        self,",
        "        detail: str | None = None,",
        "        *,",
        *params,
        "        instance: str | None = None,",
        "        request_id: str | None = None,",
        "        headers: _Mapping[str, str] | None = None,",
        "    ) -> None:",
        "        _pd.Problem.__init__(",
        "            self,",
        "            detail,",
        "            instance=instance,",
        "            request_id=request_id,",
        "            headers=headers,",
        *[f"            {forward}," for forward in forwards],
        "        )",
    ]
    return lines


def _imports(specs: list[ProblemSpec]) -> list[str]:
    """The module's imports: only what its classes use."""
    sources = " ".join(member.parsed.source() for spec in specs for member in spec.members)
    imports = ["from __future__ import annotations", ""]
    if "_dt." in sources:
        imports.append("import datetime as _dt")
    if any(spec.members for spec in specs):
        # `_typing.TYPE_CHECKING`, not an alias of the name: pyright only knows the condition
        # is always true for checkers when it is spelled `TYPE_CHECKING`.
        imports.append("import typing as _typing")
    imports.append("from collections.abc import Mapping as _Mapping")
    if "_Literal[" in sources:
        imports.append("from typing import Literal as _Literal")
    imports += ["", "import problemdetails as _pd"]
    if any(_overrides(spec, member) for spec in specs for member in spec.members):
        # `override` is only ever used under TYPE_CHECKING: nothing to import at run time,
        # and no dependency on typing_extensions (its stubs ship with every type checker).
        imports += [
            "",
            "if _typing.TYPE_CHECKING:",
            "    import sys  # mypy reads `sys.version_info` by this name only",
            "",
            "    if sys.version_info >= (3, 12):",
            "        from typing import override as _override",
            "    else:",
            "        from typing_extensions import override as _override",
        ]
    return imports


def generate_python(catalog: Catalog) -> str:
    """The source of a typed module for `catalog`: classes, `CATALOG`, `__all__`."""
    specs = _ordered(catalog)
    version = f" (version {catalog.version})" if catalog.version else ""
    imports = _imports(specs)
    names = ["CATALOG", *sorted(spec.class_name for spec in specs)]
    lines = [
        _docstring(
            f"Typed problem classes for the {catalog.name} catalog{version}.\n\n"
            "Generated by `problemdetails gen` from the catalog: do not edit by hand,\n"
            "regenerate instead (`problemdetails gen --check` fails when this file is stale).\n"
        ),
        "",
        *imports,
        "",
        "__all__ = [",
        *[f"    {_literal(name)}," for name in names],
        "]",
        "",
        "CATALOG = _pd.Catalog.from_json(",
        *[f"    {_literal(line)}" for line in catalog.to_json().decode().splitlines(keepends=True)],
        ")",
    ]
    for spec in specs:
        lines += _class(spec, catalog)
    lines += ["", "", "CATALOG.bind(", *[f"    {spec.class_name}," for spec in specs], ")", ""]
    return "\n".join(lines)
