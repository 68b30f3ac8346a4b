"""`problemdetails gen --lang ts`: TypeScript types for a catalog's problems.

The module has no runtime dependencies: a discriminated union on `code`, one
interface and type guard per slug, the list of codes, and `toProblem` /
`parseProblem`, which read a response the way the Python client does (RFC
9457 §3.1: members of the wrong type are ignored; the HTTP status wins).
With `translations=True` (`gen --lang ts --translations`) it also carries the
catalog's languages and each problem's title in every one of them.
"""

from __future__ import annotations

import json

from problemdetails._catalog import Catalog
from problemdetails._member_types import SCALARS, DictOf, EnumOf, ListOf, MemberType, Nullable, Scalar, must_be_present
from problemdetails._spec import ProblemSpec

__all__ = ["generate_typescript"]


def _ts_type(member_type: MemberType) -> str:
    if isinstance(member_type, Nullable):
        return _ts_type(member_type.inner)
    if isinstance(member_type, ListOf):
        inner = _ts_type(member_type.item)
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if isinstance(member_type, DictOf):
        return f"Record<string, {_ts_type(member_type.value)}>"
    if isinstance(member_type, EnumOf):
        return " | ".join(json.dumps(value) for value in member_type.values)
    assert isinstance(member_type, Scalar)
    return SCALARS[member_type.name].typescript


def _shape(member_type: MemberType) -> object:
    """A JSON descriptor the generated `fits` function checks values against."""
    if isinstance(member_type, Nullable):
        return _shape(member_type.inner)
    if isinstance(member_type, ListOf):
        return ["list", _shape(member_type.item)]
    if isinstance(member_type, DictOf):
        return ["dict", _shape(member_type.value)]
    if isinstance(member_type, EnumOf):
        return ["enum", list(member_type.values)]
    assert isinstance(member_type, Scalar)
    return member_type.name


def _comment(text: str) -> str:
    return text.replace("*/", "* /").replace("\n", " ").strip()


def _interface(spec: ProblemSpec) -> list[str]:
    lines = [f"/** {spec.status} {_comment(spec.title)}{': ' + _comment(spec.summary) if spec.summary else ''} */"]
    lines.append(f"export interface {spec.class_name} extends ProblemBase {{")
    # The published JSON Schemas pin these as `const`: the same literal types here.
    lines.append(f"  type: {json.dumps(spec.type)};")
    lines.append(f"  status: {spec.status};")
    lines.append(f"  code: {json.dumps(spec.slug)};")
    for member in spec.members:
        optional = "" if must_be_present(member.required, member.parsed) else "?"
        if member.description:
            lines.append(f"  /** {_comment(member.description)} */")
        lines.append(f"  {json.dumps(member.name)}{optional}: {_ts_type(member.parsed)};")
    lines.append("}")
    return lines


_RUNTIME = """
type Shape = string | ["list" | "dict", Shape] | ["enum", string[]];

function fits(value: unknown, shape: Shape): boolean {
  if (typeof shape === "string") {
    switch (shape) {
      case "str":
      case "uri":
      case "datetime":
        return typeof value === "string";
      case "int":
        return typeof value === "number" && Number.isInteger(value);
      case "float":
        return typeof value === "number" && Number.isFinite(value);
      case "bool":
        return typeof value === "boolean";
      case "error":
        return isObject(value) && typeof value["detail"] === "string";
      default:
        return false;
    }
  }
  if (shape[0] === "enum") return typeof value === "string" && shape[1].includes(value);
  if (shape[0] === "list") return Array.isArray(value) && value.every((item) => fits(item, shape[1]));
  return isObject(value) && Object.values(value).every((item) => fits(item, shape[1]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Read a problem from an HTTP status and a decoded JSON body.
 *
 * A known `code` gives its typed problem when every required member fits; otherwise
 * the result is a `GenericProblem`. Members of the wrong type are dropped (RFC 9457 §3.1),
 * unknown members are kept, and the HTTP status wins over the body's.
 */
export function toProblem(status: number, body: unknown): Problem {
  const document: Record<string, unknown> = isObject(body) ? { ...body } : {};
  for (const name of ["type", "title", "detail", "instance", "code", "request_id", "trace_id"]) {
    if (name in document && typeof document[name] !== "string") delete document[name];
  }
  document["status"] = status;
  const known = knownCode(document["code"], document["type"]);
  if (known !== undefined) {
    const { type, title, members } = KNOWN[known];
    let complete = true;
    for (const [name, [shape, required]] of Object.entries(members)) {
      if (!(name in document)) {
        complete = complete && !required;
      } else if (!fits(document[name], shape)) {
        delete document[name];
        complete = complete && !required;
      }
    }
    if (complete) {
      // The type's identity comes from the catalog, as the Python client has it.
      Object.assign(document, { type, title, status: KNOWN[known].status, code: known });
      return document as unknown as Problem;
    }
  }
  if (typeof document["type"] !== "string") document["type"] = "about:blank";
  if (typeof document["title"] !== "string") document["title"] = "";
  if (typeof document["code"] === "string") {
    document["unknown_code"] = document["code"];
  }
  delete document["code"];
  return document as unknown as GenericProblem;
}

/**
 * The catalog's code for a body's `code` and `type`, as the Python client finds it: a known
 * code (or a former one, in `aliases`) whose `type` is absent, the catalog's, or the same slug
 * under another base URI; else the slug whose type URI `type` is.
 */
function knownCode(code: unknown, type: unknown): ProblemCode | undefined {
  if (typeof code === "string") {
    const renamed = ALIASES[code];
    if (renamed !== undefined) return renamed;
    if (isProblemCode(code) && (typeof type !== "string" || sameType(type, code))) return code;
  }
  return typeof type === "string" ? BY_TYPE[type] : undefined;
}

function sameType(type: string, code: ProblemCode): boolean {
  if (type === KNOWN[code].type) return true;
  const separator = type.charAt(type.length - code.length - 1);
  return type.endsWith(code) && "/#:=".includes(separator) && separator !== "";
}

/** Read a problem from a fetch `Response` (or anything with `status`, `headers.get` and `text()`). */
export async function parseProblem(response: {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}): Promise<Problem> {
  const mediaType = ((response.headers.get("content-type") ?? "").split(";")[0] ?? "").trim().toLowerCase();
  const text = await response.text();
  let body: unknown = {};
  if (/^application\\/([\\w.+-]+\\+)?json$/.test(mediaType) || (!mediaType && text.trimStart().startsWith("{"))) {
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
  } else if (mediaType === "text/plain" && text.trim()) {
    body = { detail: text.trim().slice(0, 1000) };
  }
  const problem = toProblem(response.status, body);
  const requestId = response.headers.get("x-request-id");
  if (problem.request_id === undefined && requestId !== null) problem.request_id = requestId;
  return problem;
}
"""


def _title(catalog: Catalog, spec: ProblemSpec, language: str) -> str:
    """The title a response in `language` carries: as `Catalog.localized` has it, the default's where untranslated."""
    translation = catalog.translations.get(language)  # None for the default language
    translated = translation.problems.get(spec.slug) if translation is not None else None
    return translated.title if translated is not None and translated.title is not None else spec.title


def _titles(catalog: Catalog, specs: list[ProblemSpec]) -> list[str]:
    """`LANGUAGES` and `TITLES` (by code, then language): what `gen --lang ts --translations` adds."""
    titles = {
        spec.slug: {language: _title(catalog, spec, language) for language in catalog.languages} for spec in specs
    }
    return [
        f"/** The catalog's languages (BCP 47), its default ({_comment(catalog.language)}) first. */",
        "export const LANGUAGES = [",
        *[f"  {json.dumps(language)}," for language in catalog.languages],
        "] as const;",
        "",
        "export type Language = (typeof LANGUAGES)[number];",
        "",
        "/** Each problem's title by code, then language: the text a response in that language carries. */",
        "export const TITLES: Record<ProblemCode, Record<Language, string>> = "
        + json.dumps(titles, indent=2, ensure_ascii=False)
        + ";",
        "",
    ]


def generate_typescript(catalog: Catalog, *, translations: bool = False) -> str:
    """The source of `problems.ts` for `catalog`; with `translations`, its titles in every language too."""
    specs = sorted(catalog.problems.values(), key=lambda spec: spec.slug)
    version = f" (version {catalog.version})" if catalog.version else ""
    command = "problemdetails gen --lang ts --translations" if translations else "problemdetails gen --lang ts"
    lines = [
        f"// Problem types of the {_comment(catalog.name)} catalog{version}.",
        f"// Generated by `{command}`: do not edit by hand, regenerate instead.",
        "",
        "/** One item of a validation problem's `errors` list. */",
        "export interface ErrorItem {",
        "  detail: string;",
        "  pointer?: string;",
        "  parameter?: string;",
        '  in?: "query" | "path" | "header" | "cookie";',
        "  code?: string;",
        "  params?: Record<string, string | number | boolean>;",
        "}",
        "",
        "/** The RFC 9457 members every problem has; unknown extension members are allowed (§3.2). */",
        "export interface ProblemBase {",
        "  type: string;",
        "  title: string;",
        "  status: number;",
        "  detail?: string;",
        "  instance?: string;",
        "  request_id?: string;",
        "  trace_id?: string;",
        "  [member: string]: unknown;",
        "}",
        "",
        "/** A problem whose `code` this catalog does not know (kept as `unknown_code`). */",
        "export interface GenericProblem extends ProblemBase {",
        "  code?: undefined;",
        "  unknown_code?: string;",
        "}",
        "",
    ]
    for spec in specs:
        lines += [*_interface(spec), ""]
    lines += [
        "export type KnownProblem =",
        *[f"  | {spec.class_name}" for spec in specs],
        ";",
        "",
        '/** Narrow on `code`: `switch (problem.code) { case "conflict": ... }`. */',
        "export type Problem = KnownProblem | GenericProblem;",
        "",
        "export const PROBLEM_CODES = [",
        *[f"  {json.dumps(spec.slug)}," for spec in specs],
        "] as const;",
        "",
        "export type ProblemCode = (typeof PROBLEM_CODES)[number];",
        "",
        "export function isProblemCode(code: string): code is ProblemCode {",
        "  return (PROBLEM_CODES as readonly string[]).includes(code);",
        "}",
        "",
    ]
    for spec in specs:
        lines += [
            f"export function is{spec.class_name}(problem: Problem): problem is {spec.class_name} {{",
            f"  return problem.code === {json.dumps(spec.slug)};",
            "}",
            "",
        ]
    if translations:
        lines += _titles(catalog, specs)
    known = {
        spec.slug: {
            "type": spec.type,
            "title": spec.title,
            "status": spec.status,
            "members": {
                member.name: [_shape(member.parsed), must_be_present(member.required, member.parsed)]
                for member in spec.members
            },
        }
        for spec in specs
    }
    by_type = {spec.type: spec.slug for spec in specs}
    by_type.update({catalog.base_uri + alias: slug for alias, slug in catalog.aliases.items()})
    lines += [
        "interface Known {",
        "  type: string;",
        "  title: string;",
        "  status: number;",
        "  members: Record<string, [Shape, boolean]>;",
        "}",
        "",
        "const KNOWN: Record<ProblemCode, Known> = " + json.dumps(known, indent=2, sort_keys=True) + ";",
        "",
        "/** Former slugs (`aliases`), read as the slug they became. */",
        "const ALIASES: Partial<Record<string, ProblemCode>> = "
        + json.dumps(dict(sorted(catalog.aliases.items())), indent=2)
        + ";",
        "",
        "const BY_TYPE: Partial<Record<string, ProblemCode>> = "
        + json.dumps(dict(sorted(by_type.items())), indent=2)
        + ";",
    ]
    return "\n".join(lines) + _RUNTIME
