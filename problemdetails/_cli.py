"""The `problemdetails` command line: `check` and `gen` (Python or TypeScript).

Every command prints findings as `file:line:col: severity: message` on
stderr, exits 1 when something is wrong, and writes nothing unless the whole
run succeeded (outputs are written to a temporary file and then swapped in).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from problemdetails._catalog import Catalog
from problemdetails._codegen import generate_python
from problemdetails._exceptions import CatalogError, Finding
from problemdetails._typescript import generate_typescript

__all__ = ["main"]


def _report(findings: Sequence[Finding]) -> None:
    for finding in findings:
        print(finding, file=sys.stderr)


def _load(paths: list[str], *, strict: bool = False) -> Catalog | None:
    try:
        catalog = Catalog.load(paths, strict=strict)
    except CatalogError as error:
        _report(error.findings)
        errors = sum(1 for finding in error.findings if finding.severity == "error")
        warnings = len(error.findings) - errors
        print(f"catalog has {errors} error(s) and {warnings} warning(s)", file=sys.stderr)
        return None
    _report(catalog.warnings)
    return catalog


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _check(args: argparse.Namespace) -> int:
    catalog = _load(args.paths, strict=args.strict)
    if catalog is None:
        return 1
    print(f"{catalog.name}: {len(catalog)} problems, {len(catalog.warnings)} warning(s)")
    return 0


def _gen(args: argparse.Namespace) -> int:
    catalog = _load(args.paths)
    if catalog is None:
        return 1
    source = generate_typescript(catalog) if args.lang == "ts" else generate_python(catalog)
    if args.out is None:
        sys.stdout.write(source)
        return 0
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != source:
            state = "missing" if current is None else "stale"
            command = f"problemdetails gen {' '.join(args.paths)} --lang {args.lang} --out {out}"
            print(f"{out} is {state}: run `{command}`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    write_atomically(out, source)
    print(f"wrote {out} ({len(catalog)} problem {'types' if args.lang == 'ts' else 'classes'})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="problemdetails", description="RFC 9457 problem details from a YAML error catalog."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a catalog and print every finding")
    check.add_argument("paths", nargs="+", metavar="PATH", help="catalog file or folder")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.set_defaults(run=_check)

    gen = commands.add_parser("gen", help="generate a typed Python module (or TypeScript types) from a catalog")
    gen.add_argument("paths", nargs="+", metavar="PATH", help="catalog file or folder")
    gen.add_argument("--out", metavar="FILE", help="module to write (default: standard output)")
    gen.add_argument("--lang", choices=["python", "ts"], default="python", help="python (default) or ts")
    gen.add_argument("--check", action="store_true", help="fail if FILE is missing or stale; write nothing")
    gen.set_defaults(run=_gen)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "check", False) and args.out is None:
        parser.error("gen --check needs --out FILE")
    status: int = args.run(args)
    return status


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
