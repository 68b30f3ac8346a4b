"""The import layers of the package, pinned: the flow is one way.

catalog model -> problem classes and wire -> responder -> transports (ASGI, WSGI) and framework
hand-overs; the site, the generators and the client sit beside the responder, and the client imports
nothing of the server side (`tests/test_exported_members.py` checks that it imports without starlette,
jinja2 and markdown-it). Every module of `problemdetails/` is in the table below: a new one must be
given its place. Imports are read from the source (also those inside functions); imports under
`if TYPE_CHECKING:` are for annotations only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "problemdetails"

# Each layer, the modules in it, and the layers it may import from (its own always).
LAYERS: dict[str, tuple[str, ...]] = {
    # What everything stands on: errors, grammar, the member type language, YAML with positions, one request's
    # state and the request id in context (the client propagates it too).
    "foundation": (
        "_context",
        "_exceptions",
        "_exchange",
        "_grammar",
        "_grpc_codes",
        "_member_types",
        "_request_id",
        "_status",
        "_types",
        "_yaml",
    ),
    # What a catalog is, how one (and its translations) is read from YAML, its `detail` templates, and
    # gRPC's names for its problems (codes, reasons, domain).
    "catalog model": ("_grpc_codes", "_loader", "_shapes", "_spec", "_templates", "_translations"),
    # The raisable problems, the loaded catalog that hands them out, and their wire forms (gRPC's
    # `google.rpc.Status` among them: the client reads what the server writes).
    "classes and wire": ("_catalog", "_error_details", "_grpc_status", "_problem", "_profiles", "_wire", "_xml"),
    # The decision and the answer, sans-IO.
    "responder": ("_decider", "_logging", "_request", "_responder", "_response", "_telemetry"),
    # Beside the responder: what is generated from the catalog, the doc site, the client.
    "generators": ("_codegen", "_diff", "_interchange", "_openapi", "_schema", "_typescript"),
    "site": ("_site", "_site_text"),
    "client": ("_client", "_grpc_client", "client"),
    # What carries the responder's bytes: the ASGI and WSGI middlewares, the served doc site, and
    # the framework hand-overs (the `_handovers/` family and the public framework modules).
    "transports and hand-overs": (
        "_asgi",
        "_docs_site",
        "_handovers",
        "_handovers.aiohttp",
        "_handovers.base",
        "_handovers.blacksheep",
        "_handovers.connexion",
        "_handovers.django",
        "_handovers.drf",
        "_handovers.falcon",
        "_handovers.flask",
        "_handovers.litestar",
        "_handovers.ninja",
        "_handovers.pyramid",
        "_handovers.sanic",
        "_handovers.starlette",
        "_handovers.tornado",
        "_install",
        "_transport",
        "_wsgi",
        "aiohttp",
        "django",
        "flask",
        "grpc",
        "litestar",
        "pyramid",
        "tornado",
    ),
    # Tools for the people who keep a catalog: the command line and the pytest plugin.
    "tools": ("__main__", "_cli", "_console", "_preview", "pytest"),
    # The public namespace re-exports from every layer.
    "public namespace": ("",),
}

BELOW = ("foundation", "catalog model", "classes and wire")
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "foundation": (),
    "catalog model": ("foundation",),
    "classes and wire": ("foundation", "catalog model"),
    "responder": BELOW,
    "generators": BELOW,
    "site": (*BELOW, "generators"),
    "client": BELOW,
    "transports and hand-overs": (*BELOW, "responder", "site"),
    "tools": (*BELOW, "responder", "generators", "site"),
    "public namespace": tuple(LAYERS),
}

LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}


def _name(path: Path) -> str:
    """`problemdetails/_handovers/base.py` -> `_handovers.base`; the package itself is ``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _annotation_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            found |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return found


def _resolve(dotted: str) -> str | None:
    """`problemdetails._wire` -> `_wire`; None outside the package."""
    if dotted == "problemdetails":
        return ""
    if not dotted.startswith("problemdetails."):
        return None
    return dotted.removeprefix("problemdetails.")


def imports_of(module: str) -> set[str]:
    """The package's modules that `module` imports, at the top or inside functions."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skipped = _annotation_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {name for alias in node.names if (name := _resolve(alias.name)) is not None}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package of `module`, `level - 1` packages up
                parts = ["problemdetails", *package.split(".")] if package else ["problemdetails"]
                base = ".".join(parts[: len(parts) - node.level + 1])
                dotted = f"{base}.{node.module}" if node.module else base
            else:
                dotted = node.module or ""
            target = _resolve(dotted)
            if target is None:
                continue
            # `from problemdetails import flask` imports a module; `from problemdetails import Catalog` a name.
            for alias in node.names:
                submodule = f"{target}.{alias.name}" if target else alias.name
                found.add(submodule if submodule in MODULES else target)
    found.discard(module)
    return found


def test_every_module_has_a_layer() -> None:
    # A new module must be placed: say which layer it belongs to in LAYERS.
    assert sorted(set(MODULES) - set(LAYER_OF)) == []
    assert sorted(set(LAYER_OF) - set(MODULES)) == []  # no stale rows


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_one_way(module: str) -> None:
    layer = LAYER_OF.get(module)
    if layer is None:
        pytest.fail(f"{module} is in no layer: give it one in LAYERS")
    allowed = {layer, *MAY_IMPORT[layer]}
    upstream = sorted(
        f"{target} ({LAYER_OF[target]})" for target in imports_of(module) if LAYER_OF[target] not in allowed
    )
    assert upstream == [], f"{module} ({layer}) imports from layers it must not"


def test_the_client_reaches_nothing_of_the_server_side() -> None:
    # Everything `problemdetails.client` loads, following imports (the package's `__init__` aside,
    # which re-exports the server side lazily).
    server_side = {"responder", "transports and hand-overs", "site", "tools"}
    seen: set[str] = set()
    todo = ["client"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += [target for target in imports_of(module) if target]
    assert sorted(module for module in seen if LAYER_OF[module] in server_side) == []


def test_import_cycles_stay_inside_the_adapters() -> None:
    # Outside the transports and hand-overs (which find one another lazily, by framework), the
    # graph has no cycle: `_cli` and `_preview` no longer import each other, for one.
    graph = {module: imports_of(module) for module in MODULES}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if LAYER_OF[module] != "transports and hand-overs" and module:
            visit(module, [module], done)
    outside = [cycle for cycle in cycles if any(LAYER_OF[m] != "transports and hand-overs" for m in cycle)]
    assert outside == []


def test_the_layer_table_reads_imports() -> None:
    # The reader itself: a function-level import counts, an annotation-only one does not.
    assert "_preview" in imports_of("_cli")  # imported inside `_serve`
    assert "_problem" in imports_of("_catalog")
    assert "_catalog" not in imports_of("_problem")
