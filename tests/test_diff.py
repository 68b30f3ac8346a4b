"""`problemdetails diff`: each kind of change on a mutated copy of the bundled catalog."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from problemdetails import Catalog, Problem, decode_json, encode_json
from problemdetails._cli import main
from problemdetails._diff import diff_catalogs
from tests.conftest import BUNDLED

Problems = dict[str, Any]


def problems_of(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))}


def mutated(tmp_path: Path, change: Callable[[dict[str, Any], Problems], None]) -> Path:
    """A copy of the bundled catalog with `change(header, problems)` applied to it."""
    documents = problems_of(BUNDLED)
    merged: Problems = {slug: entry for document in documents.values() for slug, entry in document["problems"].items()}
    header = documents["client-errors.yaml"]["catalog"]
    change(header, merged)
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "catalog.yaml").write_text(yaml.safe_dump({"catalog": header, "problems": merged}, allow_unicode=True))
    return folder


def set_in(slug: str, *path: str, value: Any) -> Callable[[dict[str, Any], Problems], None]:
    def change(header: dict[str, Any], problems: Problems) -> None:
        target = problems[slug]
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value

    return change


def delete(slug: str, *path: str) -> Callable[[dict[str, Any], Problems], None]:
    def change(header: dict[str, Any], problems: Problems) -> None:
        if not path:
            del problems[slug]
            return
        target = problems[slug]
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        for example in problems[slug].get("examples", []):
            example.get("members", {}).pop(path[-1], None)

    return change


def add_slug(header: dict[str, Any], problems: Problems) -> None:
    problems["zone-locked"] = {"status": 423, "title": "Zone locked"}


def rebase(header: dict[str, Any], problems: Problems) -> None:
    header["base_uri"] = "https://problems.example.org/"


def required_member(header: dict[str, Any], problems: Problems) -> None:
    problems["gone"]["members"] = {"deleted_at": {"type": "datetime"}}
    problems["gone"]["examples"][0]["members"] = {"deleted_at": "2026-03-01T00:00:00Z"}


def rename(header: dict[str, Any], problems: Problems) -> None:
    problems["deleted"] = {**problems.pop("gone"), "aliases": ["gone"]}


CASES = [
    # (id, mutation, expected (kind, slug, breaking))
    ("slug removed", delete("gone"), ("slug-removed", "gone", True)),
    ("status changed", set_in("conflict", "status", value=422), ("status-changed", "conflict", True)),
    ("member removed", delete("conflict", "members", "conflicts"), ("member-removed", "conflict", True)),
    (
        "member retyped",
        set_in("quota-exceeded", "members", "resource", value={"type": "enum[zones, queries]", "required": False}),
        ("member-retyped", "quota-exceeded", True),
    ),
    (
        "member made required",
        set_in("quota-exceeded", "members", "resource", value={"type": "str"}),
        ("member-made-required", "quota-exceeded", True),
    ),
    ("required member added", required_member, ("required-member-added", "gone", True)),
    ("base_uri changed", rebase, ("base-uri-changed", "", True)),
    ("parent changed", set_in("gone", "extends", value="not-found"), ("parent-changed", "gone", True)),
    ("slug added", add_slug, ("slug-added", "zone-locked", False)),
    (
        "optional member added",
        set_in("gone", "members", value={"deleted_at": {"type": "datetime", "required": False}}),
        ("member-added", "gone", False),
    ),
    (
        "member made optional",
        set_in("quota-exceeded", "members", "limit", value={"type": "int | None"}),
        ("member-made-optional", "quota-exceeded", False),
    ),
    ("text edited", set_in("gone", "summary", value="It went away."), ("text-changed", "gone", False)),
    ("retry advice", set_in("gone", "retry", value="backoff"), ("retry-changed", "gone", False)),
    (
        "deprecated",
        set_in("gone", "deprecated", value={"since": "1.1.0", "replaced_by": "not-found"}),
        ("deprecated", "gone", False),
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_kind_of_change_is_classified(tmp_path: Path, mutation: Any, expected: tuple[str, str, bool]) -> None:
    new = Catalog.load(mutated(tmp_path, mutation))
    changes = diff_catalogs(Catalog.load(BUNDLED), new)
    assert [(change.kind, change.slug, change.breaking) for change in changes] == [expected]


def test_no_changes_and_the_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(BUNDLED), str(BUNDLED)]) == 0
    assert capsys.readouterr().out == "0 change(s), 0 breaking\n"
    breaking = mutated(tmp_path, set_in("conflict", "status", value=422))
    assert main(["diff", str(BUNDLED), str(breaking)]) == 1
    assert capsys.readouterr().out == "BREAKING  conflict: status 409 -> 422\n1 change(s), 1 breaking\n"
    assert main(["diff", str(BUNDLED), str(breaking), "--allow-breaking"]) == 0


def test_json_and_github_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(header: dict[str, Any], problems: Problems) -> None:
        add_slug(header, problems)
        delete("gone")(header, problems)

    new = mutated(tmp_path, change)
    assert main(["diff", str(BUNDLED), str(new), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 1
    assert [change["kind"] for change in report["changes"]] == ["slug-removed", "slug-added"]
    assert main(["diff", str(BUNDLED), str(new), "--format", "github"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"::error file={new},title=breaking change::gone: removed "
        "(retire it with `deprecated`, or rename it with `aliases`)",
        f"::notice file={new},title=compatible change::zone-locked: added (423)",
    ]


def test_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    (tmp_path / "errors").mkdir()
    catalog = tmp_path / "errors" / "catalog.yaml"
    catalog.write_text(
        "catalog: {name: T, base_uri: 'https://e.example/'}\nproblems:\n  gone: {status: 410, title: Gone}\n"
    )
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    catalog.write_text(catalog.read_text().replace("410", "404"))
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "main:errors/", "errors/"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "BREAKING  gone: status 410 -> 404"
    assert main(["diff", "nosuchrev:errors/", "errors/"]) == 2
    assert "nosuchrev:errors/: cannot read it from git:" in capsys.readouterr().err


def test_a_rename_with_an_alias_breaks_clients_built_from_the_old_catalog(tmp_path: Path) -> None:
    old, new = Catalog.load(BUNDLED), Catalog.load(mutated(tmp_path, rename))
    changes = diff_catalogs(old, new)
    assert [(change.kind, change.slug, change.breaking) for change in changes] == [
        ("slug-renamed", "gone", True),
        ("slug-added", "deleted", False),
    ]
    assert changes[0].message.startswith("gone: renamed to deleted; the alias protects one direction only")
    # The direction the alias protects: a new client reads an old server's body as the new class.
    old_body = encode_json(old["gone"]())
    assert type(decode_json(old_body, catalog=new)) is new["deleted"]
    # The other: an old client reads the new server's code as a generic problem.
    assert type(decode_json(encode_json(new["deleted"]()), catalog=old)) is Problem
