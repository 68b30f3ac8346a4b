"""Doc-site build time: load a catalog, render the site, write it; for 10 to 10,000 slugs, and 1 to 9 languages.

The catalogs are generated with what real entries carry: Markdown
description and resolution, typed members, an example, a parent for some.
A build must grow linearly with the slugs, and 1,000 slugs must build in
under 1 s on the benchmark machine. Each size is built as `problemdetails
build` builds it: in-process, split into its parts, with the garbage
collector paused and the pages of a large catalog rendered on every core
as the command does; and as the command itself, a whole process.

With translations, a build writes every language's pages in a folder of
its own, and the default language's at the root too: its time must grow
linearly with the languages, as it does with the slugs.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from problemdetails import Catalog
from problemdetails._site import render_site, write_site

SIZES = (10, 100, 1_000, 10_000)
TARGET_1000 = 1.0  # seconds
WORKERS = len(os.sched_getaffinity(0))  # as `problemdetails build` renders a large catalog


def catalog_document(size: int) -> dict[str, object]:
    problems: dict[str, object] = {}
    for number in range(size):
        entry: dict[str, object] = {
            "title": f"Problem number {number}",
            "summary": f"Summary of problem {number}, one line for the index.",
            "description": (
                f"Fires when **condition {number}** holds. Common causes:\n\n"
                "- a stale `ETag` sent in `If-Match`\n- a [concurrent edit](https://example.com/edits)\n"
            ),
            "resolution": f"Fetch resource {number} again, apply the change, and retry once.",
            "members": {
                f"limit{number}": {"type": "int", "description": "The cap."},
                f"items{number}": {"type": "list[str]", "required": False},
            },
            "detail": f"{{limit{number}}} reached",
            "examples": [{"members": {f"limit{number}": number, f"items{number}": ["a", "b"]}}],
        }
        if number % 10 and number > 10:  # a child: it inherits its parent's members too
            parent = number - number % 10
            entry["extends"] = f"problem-{parent}"
            entry["examples"] = [{"members": {f"limit{number}": number, f"limit{parent}": parent}}]
        else:
            entry["status"] = 400 + number % 100
        problems[f"problem-{number}"] = entry
    return {
        "catalog": {"name": "Bench", "base_uri": "https://errors.example.com/", "version": "1.0.0"},
        "problems": problems,
    }


def build_seconds(catalog_file: Path | list[Path], out: Path) -> tuple[float, float]:
    """One cold build into a fresh folder, as `problemdetails build` runs in CI: (load + render, write).

    The garbage of earlier builds (problem classes are cyclic) is collected
    first, so no build pays for its predecessors; then the collector rests,
    as the command has it rest. The folder is left for the caller to delete
    later: deleting thousands of files just before the next build would slow
    that build's writes on this machine's disk.
    """
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        files = render_site(Catalog.load(catalog_file), workers=WORKERS)
        rendered = time.perf_counter()
        write_site(files, out)
        return rendered - start, time.perf_counter() - rendered
    finally:
        gc.enable()


def cli_seconds(catalog_file: Path, out: Path) -> float:
    """`problemdetails build` as a user runs it: a whole process, interpreter start-up and imports included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "problemdetails", "build", str(catalog_file), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def run() -> tuple[list[str], list[str]]:
    rows = [
        "",
        f"In-process on {WORKERS} CPU(s) as `problemdetails build` runs it, and the command as a whole process",
        "(interpreter start-up and imports included).",
        "",
        "| slugs | build | load + render | write | per slug | `problemdetails build` | files |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals: dict[int, float] = {}
    commands: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            catalog_file = Path(folder) / f"catalog-{size}.yaml"
            catalog_file.write_text(yaml.safe_dump(catalog_document(size)))
            repeats = 3 if size <= 1_000 else 1
            runs = [build_seconds(catalog_file, Path(folder) / f"site-{size}-{n}") for n in range(repeats)]
            work, write = min(runs, key=sum)
            totals[size] = work + write
            commands[size] = min(cli_seconds(catalog_file, Path(folder) / f"cli-{size}-{n}") for n in range(repeats))
            files = len(render_site(Catalog.load(catalog_file)))
            per_slug = totals[size] / size * 1000
            rows.append(
                f"| {size:,} | {totals[size]:.3f} s | {work:.3f} s | {write:.3f} s | {per_slug:.2f} ms "
                f"| {commands[size]:.3f} s | {files:,} |"
            )
    growth = (totals[10_000] / 10_000) / (totals[100] / 100)
    command = commands[1_000]
    met = "met" if totals[1_000] < TARGET_1000 else "NOT met"
    command_met = "met" if command < TARGET_1000 else "NOT met"
    verdicts = [
        f"1,000 slugs build in {totals[1_000]:.2f} s in-process (target: under {TARGET_1000:.0f} s: **{met}**); "
        f"`problemdetails build` takes {command:.2f} s as a whole process, interpreter start-up and imports "
        f"included (**{command_met}**). Writing is disk-bound and the most variable part on this machine.",
        f"Time per slug at 10,000 slugs is {growth:.2f}x the time per slug at 100: "
        f"{'linear' if growth < 1.5 else 'NOT linear'} (1.00x is perfectly linear; under 1.5x counts as linear).",
    ]
    return rows, verdicts


# The languages a catalog of the language table is translated into, after its own English.
TRANSLATED = ("fr", "de", "es", "it", "nl", "pt", "pl", "sv")
LANGUAGE_COUNTS = (1, 2, 3, 5, 9)
LANGUAGE_SLUGS = 500


def translation_document(size: int, language: str) -> dict[str, object]:
    """Every text of `catalog_document(size)` in `language` (made up, the same placeholders)."""
    problems: dict[str, object] = {}
    for number in range(size):
        problems[f"problem-{number}"] = {
            "title": f"Problème numéro {number} [{language}]",
            "summary": f"Résumé du problème {number}, une ligne pour l'index [{language}].",
            "description": f"Survient quand **la condition {number}** est vraie [{language}].\n\n- un `ETag` périmé\n",
            "resolution": f"Relisez la ressource {number}, appliquez le changement et réessayez [{language}].",
            "detail": f"{{limit{number}}} atteint [{language}]",
            "members": {f"limit{number}": {"description": f"Le plafond [{language}]."}},
        }
    return {"translations": {"language": language, "problems": problems}}


def run_languages() -> tuple[list[str], list[str]]:
    """The same catalog of `LANGUAGE_SLUGS` slugs, built with 1 to 9 languages."""
    rows = [
        "",
        f"{LANGUAGE_SLUGS:,} slugs, every text translated; in-process on {WORKERS} CPU(s) as `problemdetails build`",
        "runs it. With more than one language, the pages are written once per language and once more at the",
        "root (the default language, `x-default`): a page set each.",
        "",
        "| languages | page sets | build | per page set | per page set, relative to 2 languages | files |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    per_set: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        catalog_file = Path(folder) / "catalog.yaml"
        catalog_file.write_text(yaml.safe_dump(catalog_document(LANGUAGE_SLUGS)))
        for language in TRANSLATED:
            translation = translation_document(LANGUAGE_SLUGS, language)
            (Path(folder) / f"{language}.yaml").write_text(yaml.safe_dump(translation, allow_unicode=True))
        for count in LANGUAGE_COUNTS:
            paths = [catalog_file, *(Path(folder) / f"{language}.yaml" for language in TRANSLATED[: count - 1])]
            runs = [build_seconds(paths, Path(folder) / f"site-{count}-{n}") for n in range(3)]
            total = sum(min(runs, key=sum))
            sets = count + 1 if count > 1 else 1
            per_set[count] = total / sets
            files = len(render_site(Catalog.load(paths)))
            relative = f"{per_set[count] / per_set[2]:.2f}x" if count >= 2 else ""
            rows.append(f"| {count} | {sets} | {total:.3f} s | {per_set[count]:.3f} s | {relative} | {files:,} |")
            print(f"site languages {count}: {total:.3f} s", flush=True)
    growth = per_set[LANGUAGE_COUNTS[-1]] / per_set[2]
    verdicts = [
        f"Time per page set with {LANGUAGE_COUNTS[-1]} languages is {growth:.2f}x the time per page set with 2: "
        f"{'linear' if growth < 1.5 else 'NOT linear'} in the number of languages (1.00x is perfectly linear; "
        "under 1.5x counts as linear)."
    ]
    return rows, verdicts


if __name__ == "__main__":
    table, notes = run()
    print("\n".join([*table, "", *notes]))
    table, notes = run_languages()
    print("\n".join([*table, "", *notes]))
