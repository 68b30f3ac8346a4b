"""The generated TypeScript, for real: `tsc --strict`, narrowing on `code`, and node parsing Python-encoded bodies."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from problemdetails import Catalog, Problem, decode_json, encode_json
from problemdetails._cli import main
from problemdetails._site import render_site
from problemdetails._typescript import generate_typescript
from tests.conftest import BUNDLED, HEADER, ROOT, WriteCatalog

TSC = ROOT / "tests" / "typescript" / "node_modules" / ".bin" / "tsc"
CATALOG = Catalog.load(BUNDLED)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: `make test` installs it (npm ci --prefix tests/typescript)")
    folder = tmp_path_factory.mktemp("ts")
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--out", str(folder / "problems.ts")]) == 0
    return folder


# Every strictness flag tsc has: what a consumer's tsconfig may turn on, the generated code must pass.
STRICT = [
    "--strict",
    "--noUncheckedIndexedAccess",
    "--exactOptionalPropertyTypes",
    "--noImplicitReturns",
    "--noFallthroughCasesInSwitch",
    "--noPropertyAccessFromIndexSignature",
    "--noImplicitOverride",
    "--noUnusedLocals",
    "--noUnusedParameters",
    "--useUnknownInCatchVariables",
]


def tsc(folder: Path, *files: str, emit: bool = False) -> subprocess.CompletedProcess[str]:
    options = [*STRICT, "--target", "es2020", "--lib", "es2020", "--module", "commonjs"]
    options += ["--outDir", str(folder / "js")] if emit else ["--noEmit"]
    return subprocess.run(
        [str(TSC), *options, *(str(folder / name) for name in files)], capture_output=True, text=True, check=False
    )


def test_generated_module_compiles_strictly(generated: Path) -> None:
    result = tsc(generated, "problems.ts")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (generated / "problems.ts").read_text()
    assert "export type Problem = KnownProblem | GenericProblem;" in text
    assert 'export const PROBLEM_CODES = [\n  "bad-gateway",' in text
    assert "import " not in text  # no runtime dependencies


def test_narrowing_on_code(generated: Path) -> None:
    (generated / "usage.ts").write_text(
        textwrap.dedent(
            """\
            import { Problem, isRateLimited } from "./problems";

            export function advice(problem: Problem): string {
              switch (problem.code) {
                case "quota-exceeded":
                  return `${problem.current} of ${problem.limit}`;
                case "unprocessable":
                  return problem.errors.map((item) => item.pointer ?? item.parameter ?? "").join(",");
                case undefined:
                  return problem.unknown_code ?? problem.title;
                default:
                  return isRateLimited(problem) ? String(problem.retry_after ?? 0) : problem.title;
              }
            }
            """
        )
    )
    result = tsc(generated, "problems.ts", "usage.ts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_is_a_compile_error(generated: Path) -> None:
    (generated / "misuse.ts").write_text(
        textwrap.dedent(
            """\
            import { Problem } from "./problems";

            export function limit(problem: Problem): number {
              if (problem.code === "quota-exceeded") {
                const wrong: string = problem.limit;
                return wrong.length;
              }
              return problem.limit;
            }
            """
        )
    )
    result = tsc(generated, "problems.ts", "misuse.ts")
    errors = [line.split(": error ")[1].split(":")[0] for line in result.stdout.splitlines() if ": error " in line]
    # number is not string; unknown is not number, and (--noPropertyAccessFromIndexSignature) not narrowed
    assert errors == ["TS2322", "TS2322", "TS4111"], result.stdout


def test_node_parses_what_python_encodes(generated: Path) -> None:
    compiled = tsc(generated, "problems.ts", emit=True)
    assert compiled.returncode == 0, compiled.stdout
    cases: list[dict[str, Any]] = []
    for slug, spec in CATALOG.problems.items():
        cls = CATALOG[slug]
        for example in spec.examples:
            members = {
                m.attribute: example.members[m.name]
                for m in cls.__problemdetails__.members
                if m.name in example.members
            }
            problem = cls(example.detail, instance=example.instance, request_id="r1", **members)
            cases.append({"status": spec.status, "body": json.loads(encode_json(problem))})
    cases += [
        {"status": 418, "body": json.loads(encode_json(Problem(status=418, code="teapot", pot="brown")))},
        {"status": 402, "body": {"code": "quota-exceeded", "limit": "many", "current": 1, "title": 5}},
        {"status": 409, "body": {"code": "conflict", "conflicts": "a1", "detail": "x"}},
        {"status": 500, "body": "not an object"},
    ]
    (generated / "cases.json").write_text(json.dumps(cases))
    (generated / "run.js").write_text(
        textwrap.dedent(
            """\
            const { toProblem } = require("./js/problems.js");
            const cases = require("./cases.json");
            process.stdout.write(JSON.stringify(cases.map((c) => toProblem(c.status, c.body))));
            """
        )
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run([node, "run.js"], cwd=generated, capture_output=True, text=True, check=True)
    parsed = json.loads(result.stdout)
    typed = len(cases) - 4
    for case, problem in zip(cases[:typed], parsed[:typed], strict=True):
        assert problem == case["body"]  # every encoded catalogued problem reads back as itself, code included
    teapot, wrong_required, wrong_optional, not_object = parsed[typed:]
    assert (teapot.get("code"), teapot["unknown_code"], teapot["pot"]) == (None, "teapot", "brown")
    assert (wrong_required.get("code"), wrong_required["unknown_code"], wrong_required["title"]) == (
        None,
        "quota-exceeded",
        "",
    )
    # A typed problem's identity comes from the catalog, as the Python client has it.
    assert wrong_optional == {
        "code": "conflict",
        "detail": "x",
        "status": 409,
        "type": "https://errors.example.com/conflict",
        "title": "Conflict",
    }
    assert not_object == {"status": 500, "type": "about:blank", "title": ""}


@pytest.mark.parametrize("index", [0, 1])
def test_guide_typescript_examples_compile(index: int, generated: Path, with_titles: Path) -> None:
    """The guide's first example against the plain module, the second against the one `--translations` writes."""
    clients = (ROOT / "docs" / "clients.md").read_text()
    examples = re.findall(r"```ts\n(.*?)```", clients, re.S)
    assert len(examples) == 2
    folder = [generated, with_titles][index]
    (folder / f"guide_{index}.ts").write_text(examples[index])
    options = [*STRICT, "--noEmit", "--target", "es2020", "--lib", "es2020,dom", "--module", "commonjs"]
    result = subprocess.run(
        [str(TSC), *options, str(folder / "problems.ts"), str(folder / f"guide_{index}.ts")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_doc_site_typescript_snippets_compile(generated: Path) -> None:
    """Every page's TypeScript snippet, pasted into a module beside the generated types, type-checks."""
    files = render_site(CATALOG)
    names = []
    for slug in CATALOG:
        page = files[f"{slug}/index.html"].decode()
        (snippet,) = re.findall(r'<pre id="_snippet-typescript"[^>]*><code>(.*?)</code></pre>', page, re.S)
        imports, _, body = html.unescape(snippet).partition("\n\n")
        name = f"snippet_{slug.replace('-', '_')}.ts"
        indented = textwrap.indent(body, "  ")
        (generated / name).write_text(
            f"{imports}\n\nexport async function handle(response: Response) {{\n{indented}}}\n"
        )
        names.append(name)
    options = [*STRICT, "--noEmit", "--target", "es2020", "--lib", "es2020,dom", "--module", "commonjs"]
    files_to_check = [str(generated / name) for name in ["problems.ts", *names]]
    result = subprocess.run([str(TSC), *options, *files_to_check], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


OPENAPI_TYPESCRIPT = ROOT / "tests" / "tools" / "node_modules" / ".bin" / "openapi-typescript"


def test_generated_types_are_assignable_to_openapi_typescripts(generated: Path) -> None:
    """The module's interfaces and openapi-typescript's types of the same components accept each other's values."""
    if not OPENAPI_TYPESCRIPT.exists():
        pytest.fail(f"{OPENAPI_TYPESCRIPT} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    assert main(["openapi", str(BUNDLED), "--out", str(generated / "components.json")]) == 0
    subprocess.run(
        [str(OPENAPI_TYPESCRIPT), str(generated / "components.json"), "-o", str(generated / "openapi.ts")],
        check=True,
        capture_output=True,
    )
    names = [spec.class_name for spec in CATALOG.problems.values()]
    lines = ['import type { components } from "./openapi";', f"import type {{ {', '.join(names)} }} from './problems';"]
    for name in names:
        schema = f'components["schemas"]["{name}"]'
        lines += [
            f"export function from{name}(problem: {name}): {schema} {{\n  return problem;\n}}",
            f"export function to{name}(body: {schema}): {name} {{\n  return body;\n}}",
        ]
    (generated / "assignable.ts").write_text("\n".join(lines) + "\n")
    result = tsc(generated, "problems.ts", "openapi.ts", "assignable.ts")
    assert result.returncode == 0, result.stdout


def test_the_decoder_reads_aliases_types_and_foreign_bases_as_python_does(generated: Path, tmp_path: Path) -> None:
    source = tmp_path / "errors.yaml"
    source.write_text(
        'catalog: {name: T, base_uri: "https://errors.example.com/"}\n'
        "problems:\n"
        "  deleted: {status: 410, title: Deleted, aliases: [gone]}\n"
        "  conflict: {status: 409, title: Conflict}\n"
    )
    assert main(["gen", str(source), "--lang", "ts", "--out", str(tmp_path / "problems.ts")]) == 0
    compiled = tsc(tmp_path, "problems.ts", emit=True)
    assert compiled.returncode == 0, compiled.stdout
    bodies = [
        {"code": "gone", "type": "https://errors.example.com/gone"},  # a former slug
        {"type": "https://errors.example.com/gone"},  # no code: the type says which
        {"type": "https://errors.example.com/conflict"},
        {"code": "conflict", "type": "https://api.staging.example/errors/conflict"},  # another base URI
        {"code": "conflict", "type": "https://other.example/not-conflict"},  # someone else's
    ]
    (tmp_path / "run.js").write_text(
        "const { toProblem } = require('./js/problems.js');\n"
        f"const bodies = {json.dumps(bodies)};\n"
        "process.stdout.write(JSON.stringify(bodies.map((body) => toProblem(400, body))));\n"
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run([node, "run.js"], cwd=tmp_path, capture_output=True, text=True, check=True)
    codes = [problem.get("code") or f"generic:{problem.get('unknown_code')}" for problem in json.loads(result.stdout)]
    assert codes == ["deleted", "deleted", "conflict", "conflict", "generic:conflict"]
    typed = Catalog.load(source)
    python = [decode_json(json.dumps({**body, "status": 400}), catalog=typed) for body in bodies]
    assert [problem.code if type(problem) is not Problem else f"generic:{problem.code}" for problem in python] == codes


# -- `gen --lang ts --translations`: titles in every language ----------------------


@pytest.fixture(scope="module")
def with_titles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: `make test` installs it (npm ci --prefix tests/typescript)")
    folder = tmp_path_factory.mktemp("ts_titles")
    out = folder / "problems.ts"
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--translations", "--out", str(out)]) == 0
    return folder


def test_titles_in_every_language_compile_and_are_the_responses(with_titles: Path) -> None:
    (with_titles / "titles.ts").write_text(
        textwrap.dedent(
            """\
            import { LANGUAGES, Language, Problem, TITLES, toProblem } from "./problems";

            /** A problem's title for people who read `language`, whatever language the response came in. */
            export function titleIn(problem: Problem, language: Language): string {
              return problem.code === undefined ? problem.title : TITLES[problem.code][language];
            }

            export const french: string = TITLES.conflict.fr;
            export const languages: readonly Language[] = LANGUAGES;
            export const generic = titleIn({ type: "about:blank", title: "Teapot", status: 418 }, "de");
            export const known = titleIn(toProblem(402, { code: "quota-exceeded", limit: 5, current: 5 }), "de");
            """
        )
    )
    compiled = tsc(with_titles, "problems.ts", "titles.ts", emit=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (with_titles / "run.js").write_text(
        "const { TITLES } = require('./js/problems.js');\n"
        "const { french, languages, generic, known } = require('./js/titles.js');\n"
        "process.stdout.write(JSON.stringify({ french, languages, generic, known, titles: TITLES }));\n"
    )
    node = shutil.which("node")
    assert node is not None
    ran = subprocess.run([node, "run.js"], cwd=with_titles, capture_output=True, text=True, check=True)
    printed = json.loads(ran.stdout)
    assert (printed["french"], printed["languages"]) == ("Conflit", ["en", "de", "fr"])
    assert (printed["generic"], printed["known"]) == ("Teapot", "Kontingent überschritten")
    # Each title is the one a response in that language carries.
    for slug, spec in CATALOG.problems.items():
        example = spec.examples[0].members if spec.examples else {}
        cls = CATALOG[slug]
        problem = cls(**{m.attribute: example[m.name] for m in cls.__problemdetails__.members if m.name in example})
        localized = {language: CATALOG.localized(problem, language).title for language in CATALOG.languages}
        assert printed["titles"][slug] == localized


def test_titles_of_a_language_the_catalog_lacks_do_not_compile(with_titles: Path) -> None:
    (with_titles / "wrong_language.ts").write_text(
        'import { TITLES } from "./problems";\n\n'
        "export const italian: string = TITLES.conflict.it;\n"
        'export const unknown: string = TITLES["no-such-code"].fr;\n'
    )
    result = tsc(with_titles, "problems.ts", "wrong_language.ts")
    errors = [line.split(": error ")[1].split(":")[0] for line in result.stdout.splitlines() if ": error " in line]
    # no `it` in Record<Language, string>; no such key in Record<ProblemCode, ...>
    assert errors == ["TS2339", "TS7053"], result.stdout


def test_titles_are_added_only_when_asked_for(generated: Path, with_titles: Path) -> None:
    """Without `--translations` the module is what it always was; with it, the same plus the titles."""
    plain = (generated / "problems.ts").read_text()
    titled = (with_titles / "problems.ts").read_text()
    assert "LANGUAGES" not in plain
    assert "TITLES" not in plain
    added = titled[titled.index("/** The catalog's languages") : titled.index("interface Known {")]
    assert titled.replace(added, "").replace("--lang ts --translations`", "--lang ts`") == plain
    assert generate_typescript(Catalog.load(sorted(BUNDLED.rglob("*.yaml"), reverse=True)), translations=True) == titled


def test_an_untranslated_title_is_the_default_languages(write: WriteCatalog, tmp_path: Path) -> None:
    write(
        HEADER + "problems:\n  gone: {status: 410, title: Gone}\n  conflict: {status: 409, title: Conflict}\n",
        "errors.yaml",
    )
    folder = write(
        "translations:\n  language: fr-CA\n  problems:\n    conflict: {title: Conflit}\n", "fr-CA.yaml"
    ).parent
    assert main(["gen", str(folder), "--lang", "ts", "--translations", "--out", str(tmp_path / "problems.ts")]) == 0
    (tmp_path / "use.ts").write_text(
        'import { TITLES } from "./problems";\n\n'
        'export const titles: string[] = [TITLES.gone["fr-CA"], TITLES.conflict["fr-CA"]];\n'
    )
    compiled = tsc(tmp_path, "problems.ts", "use.ts", emit=True)
    assert compiled.returncode == 0, compiled.stdout
    node = shutil.which("node")
    assert node is not None
    script = "process.stdout.write(JSON.stringify(require('./js/use.js').titles))"
    ran = subprocess.run([node, "-e", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout) == ["Gone", "Conflit"]  # as a response in fr-CA would have them


def test_gen_check_knows_the_titles_were_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "problems.ts"
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--translations", "--out", str(out)]) == 0
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--translations", "--out", str(out), "--check"]) == 0
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--out", str(out), "--check"]) == 1  # not the same module
    out.write_text("stale")
    capsys.readouterr()
    assert main(["gen", str(BUNDLED), "--lang", "ts", "--translations", "--out", str(out), "--check"]) == 1
    assert f"--lang ts --translations --out {out}`" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["gen", str(BUNDLED), "--translations"])  # the Python module carries the translations already
    assert "gen --translations is for --lang ts" in capsys.readouterr().err
