"""The `problemdetails` command line: `check`, `gen`, `build`, `serve`, `openapi`, `diff` and `i18n`.

Every command prints findings as `file:line:col: severity: message` on
stderr, exits 1 when something is wrong, and writes nothing unless the whole
run succeeded (outputs are written to a temporary file and then swapped in).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from problemdetails._catalog import Catalog
from problemdetails._codegen import generate_python
from problemdetails._console import load_catalog
from problemdetails._diff import Change, diff_catalogs
from problemdetails._exceptions import SiteError
from problemdetails._interchange import FORMATS, export_texts, import_texts
from problemdetails._openapi import openapi_document, pretty_json
from problemdetails._site import PARALLEL_PAGES, read_site, render_site, write_site
from problemdetails._typescript import generate_typescript

__all__ = ["main"]


def write_atomically(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (UTF-8) in one step, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _check(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.paths, strict=args.strict)
    if catalog is None:
        return 1
    print(f"{catalog.name}: {len(catalog)} problems, {len(catalog.warnings)} warning(s)")
    return 0


def _gen(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.paths)
    if catalog is None:
        return 1
    if args.lang == "ts":
        source = generate_typescript(catalog, translations=args.translations)
    else:
        source = generate_python(catalog)
    if args.out is None:
        sys.stdout.write(source)
        return 0
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != source:
            state = "missing" if current is None else "stale"
            translations = " --translations" if args.translations else ""
            command = f"problemdetails gen {' '.join(args.paths)} --lang {args.lang}{translations} --out {out}"
            print(f"{out} is {state}: run `{command}`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    write_atomically(out, source)
    print(f"wrote {out} ({len(catalog)} problem {'types' if args.lang == 'ts' else 'classes'})")
    return 0


def _theme_missing(theme: str | None) -> bool:
    if theme is not None and not Path(theme).is_dir():
        print(f"--theme {theme}: no such folder (it holds templates/ and static/)", file=sys.stderr)
        return True
    return False


def _build(args: argparse.Namespace) -> int:
    # A build makes a great many objects and keeps nearly all of them to the end: the
    # collector, run as they come, costs it a tenth and frees next to nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_site(args)
    finally:
        if collecting:
            gc.enable()


def _build_site(args: argparse.Namespace) -> int:
    if _theme_missing(args.theme):
        return 1
    catalog = load_catalog(args.paths, base_url=args.base_url)
    if catalog is None:
        return 1
    out = Path(args.out)
    try:
        # The build is a process of its own: a large catalog's pages render on every core.
        workers = args.jobs or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
        files = render_site(catalog, theme=Path(args.theme) if args.theme else None, workers=workers or 1)
        if args.check:
            return _check_site(files, out)
        write_site(files, out)
    except SiteError as error:
        print(error, file=sys.stderr)
        return 1
    languages = f" in {len(catalog.languages)} languages" if len(catalog.languages) > 1 else ""
    print(f"wrote {out}/ ({len(catalog)} problem pages{languages}, {len(files)} files)")
    return 0


def _check_site(files: dict[str, bytes], out: Path) -> int:
    """`build --check`: 0 when the site in `out` is the one just rendered, else 1 and what differs."""
    current = read_site(out) if out.is_dir() else {}
    if current != files:
        changed = sorted(name for name in files.keys() | current.keys() if files.get(name) != current.get(name))
        print(f"{out} is stale ({len(changed)} file(s) differ, first {changed[0]}): rebuild it", file=sys.stderr)
        return 1
    print(f"{out} is up to date")
    return 0


def _serve(args: argparse.Namespace) -> int:
    # Only `serve` needs the standard library's HTTP server: the other commands do not import it.
    from problemdetails._preview import preview

    if _theme_missing(args.theme):
        return 1
    return preview(args.paths, host=args.host, port=args.port, theme=args.theme, base_url=args.base_url)


def _openapi(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.paths, base_url=args.base_url)
    if catalog is None:
        return 1
    document = pretty_json(openapi_document(catalog)).decode()
    if args.out is None:
        sys.stdout.write(document)
    else:
        write_atomically(Path(args.out), document)
        print(f"wrote {args.out} ({len(catalog)} schemas and responses)")
    return 0


def _catalog_version(spec: str, work: Path) -> Catalog | None:
    """A catalog from a path, or from `REV:PATH` in the git repository around the current folder."""
    if Path(spec).exists() or ":" not in spec:
        return load_catalog([spec])
    revision, _, path = spec.partition(":")
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision, "--", path or "."], cwd=top, capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        reason = error.stderr.decode().strip() if isinstance(error, subprocess.CalledProcessError) else str(error)
        print(f"{spec}: cannot read it from git: {reason}", file=sys.stderr)
        return None
    folder = work / revision.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")  # refuses links and paths that leave the folder
    catalog = load_catalog([str(folder / path)])
    if catalog is not None:
        # `git archive` keeps the repository's layout: a file of the copy is that file of the repository.
        catalog._relocate(lambda copied: os.path.relpath(Path(top) / Path(copied).relative_to(folder)))
    return catalog


def _github_property(value: str) -> str:
    # GitHub Actions workflow commands: `%`, CR and LF are escaped in a command's
    # data, and `:` and `,` too in a property's value (they separate the properties).
    return _github_data(value).replace(":", "%3A").replace(",", "%2C")


def _github_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _annotation(change: Change, fallback: str) -> str:
    """One change as a GitHub Actions annotation (`::error file=...,line=...,col=...::message`)."""
    level = "error" if change.breaking else "warning" if change.warning else "notice"
    title = "breaking change" if change.breaking else "compatible change"
    where = f"file={_github_property(change.path or fallback)}"
    if change.line is not None:
        where += f",line={change.line},col={change.column}"
    return f"::{level} {where},title={title}::{_github_data(change.message)}"


def _diff(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as work:
        old, new = (_catalog_version(spec, Path(work) / side) for spec, side in ((args.old, "old"), (args.new, "new")))
    if old is None or new is None:
        return 2
    changes = diff_catalogs(old, new)
    _print_changes(changes, args.format, args.new)
    return 1 if any(change.breaking for change in changes) and not args.allow_breaking else 0


def _print_changes(changes: list[Change], format: str, new: str) -> None:
    """The changes as `diff --format` asks: text (the default), JSON, or GitHub Actions annotations."""
    breaking = [change for change in changes if change.breaking]
    warnings = [change for change in changes if change.warning]
    if format == "json":
        counts = {"breaking": len(breaking), "warnings": len(warnings)}
        print(json.dumps({**counts, "changes": [change.to_dict() for change in changes]}, indent=2))
    elif format == "github":  # workflow commands: annotations on the run and the pull request
        for change in changes:
            print(_annotation(change, new))
    else:
        for change in changes:
            label = "BREAKING" if change.breaking else "warning " if change.warning else "ok      "
            print(f"{label}  {change.message}")
        warned = f", {len(warnings)} warning(s)" if warnings else ""  # said only when there are any
        print(f"{len(changes)} change(s), {len(breaking)} breaking{warned}")


def _i18n_export(args: argparse.Namespace) -> int:
    # What a language leaves untranslated is why it is exported: `check` reports it, not this.
    catalog = load_catalog(args.paths, show_warnings=False)
    if catalog is None:
        return 1
    try:
        data = export_texts(catalog, args.language, args.format)
    except ImportError as error:  # translate-toolkit, the `i18n` extra
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:  # a language it cannot take (or a text XML cannot carry)
        print(f"problemdetails i18n export: {error}", file=sys.stderr)
        return 1
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    write_atomically(Path(args.out), data)
    print(f"wrote {args.out} ({args.format}, {catalog.language} -> {args.language})")
    return 0


def _i18n_import(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.paths, show_warnings=False)
    if catalog is None:
        return 1
    try:
        imported, findings = import_texts(Path(args.file), catalog, args.paths)
    except ImportError as error:
        print(error, file=sys.stderr)
        return 1
    for finding in findings:
        print(finding, file=sys.stderr)
    if imported is None:
        errors = sum(1 for finding in findings if finding.severity == "error")
        print(f"{args.file}: {errors} error(s); no translation file was written", file=sys.stderr)
        return 1
    write_atomically(imported.path, imported.text)
    state = "new file; " if imported.created else ""
    left = f", {imported.left_out} left out (fuzzy, needing review, or empty)" if imported.left_out else ""
    print(f"wrote {imported.path} ({state}{imported.language}: {imported.texts} text(s){left})")
    if imported.created and not any(Path(path).is_dir() for path in args.paths):
        print(f"load {imported.path} with the catalog: it is in none of the paths given", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


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
    gen.add_argument(
        "--translations",
        action="store_true",
        help="ts: each problem's title in every language of the catalog (the Python module always has them)",
    )
    gen.add_argument("--check", action="store_true", help="fail if FILE is missing or stale; write nothing")
    gen.set_defaults(run=_gen)

    base_url = "type URIs point here instead of the catalog's base_uri (e.g. the deployed docs)"
    build = commands.add_parser("build", help="build the static doc site: a page per slug, schemas, OpenAPI")
    build.add_argument("paths", nargs="+", metavar="PATH", help="catalog file or folder")
    build.add_argument("--out", required=True, metavar="DIR", help="site folder (replaced in one step)")
    build.add_argument("--base-url", metavar="URL", help=base_url)
    build.add_argument("--theme", metavar="DIR", help="templates/ and static/ that override the bundled theme")
    build.add_argument("--check", action="store_true", help="fail if DIR differs from a fresh build; write nothing")
    build.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help=f"processes rendering the pages of a catalog of {PARALLEL_PAGES} or more (default: one per CPU)",
    )
    build.set_defaults(run=_build)

    serve = commands.add_parser("serve", help="preview the doc site locally, rebuilding when the catalog changes")
    serve.add_argument("paths", nargs="+", metavar="PATH", help="catalog file or folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="port (default: 8001; 0 picks a free one)")
    serve.add_argument("--base-url", metavar="URL", help=base_url + " (default: the preview's own address)")
    serve.add_argument("--theme", metavar="DIR", help="templates/ and static/ that override the bundled theme")
    serve.set_defaults(run=_serve)

    openapi = commands.add_parser("openapi", help="emit OpenAPI 3.1 components (a schema and a response per slug)")
    openapi.add_argument("paths", nargs="+", metavar="PATH", help="catalog file or folder")
    openapi.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    openapi.add_argument("--base-url", metavar="URL", help=base_url)
    openapi.set_defaults(run=_openapi)

    diff = commands.add_parser("diff", help="compare two catalog versions; exit 1 on breaking changes")
    diff.add_argument("old", metavar="OLD", help="catalog file or folder, or REV:PATH in git (main:catalog/)")
    diff.add_argument("new", metavar="NEW", help="catalog file or folder, or REV:PATH in git")
    diff.add_argument("--format", choices=["text", "json", "github"], default="text", help="output format")
    diff.add_argument("--allow-breaking", action="store_true", help="report breaking changes but exit 0")
    diff.set_defaults(run=_diff)

    i18n = commands.add_parser(
        "i18n",
        help="translators' tools: a catalog's texts out to PO or XLIFF, and the translations back in",
        description="Run a catalog's translations through Weblate, Crowdin, Poedit or any tool that reads PO "
        "or XLIFF (needs the i18n extra: pip install 'problemdetails[i18n]').",
    )
    tools = i18n.add_subparsers(dest="tool", required=True, metavar="TOOL")
    export = tools.add_parser(
        "export",
        help="write the texts to translate into LANG, as PO or XLIFF",
        description="One unit per text of every problem, in catalog order: the default language's text as "
        "the source, the slug and field as the context (quota-exceeded.title), LANG's current "
        "translation as the target. The same catalog gives the same bytes.",
    )
    export.add_argument("--format", choices=FORMATS, default="po", help="po (default) or xliff")
    export.add_argument("language", metavar="LANG", help="the language to translate into, a BCP 47 tag (fr, pt-BR)")
    export.add_argument("paths", nargs="+", metavar="CATALOG", help="catalog file or folder")
    export.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    export.set_defaults(run=_i18n_export)
    imports = tools.add_parser(
        "import",
        help="read a translated PO or XLIFF file back into its language's translation file",
        description="The format comes from FILE's name (.po, .xlf, .xliff), the language from its header. "
        "Fuzzy, needing-review and empty units are left out. Any error (an unknown context, a detail "
        "template whose placeholders differ from the default language's) is printed at its "
        "file:line:col and nothing is written. The language's translation file is replaced in one "
        "step, or created as translations/LANG.yaml in the catalog's folder.",
    )
    imports.add_argument("file", metavar="FILE", help="the translated file (.po, .xlf or .xliff)")
    imports.add_argument("paths", nargs="+", metavar="CATALOG", help="catalog file or folder")
    imports.set_defaults(run=_i18n_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "gen" and args.check and args.out is None:
        parser.error("gen --check needs --out FILE")
    if args.command == "gen" and args.translations and args.lang != "ts":
        parser.error("gen --translations is for --lang ts (the Python module carries the translations already)")
    status: int = args.run(args)
    return status


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
