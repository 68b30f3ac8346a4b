"""Loading a YAML catalog: what is read, and every finding at its `file:line:col`."""

from __future__ import annotations

from pathlib import Path

import pytest

from problemdetails import Catalog, CatalogError, Finding
from tests.conftest import HEADER, WriteCatalog


def findings(path: str | Path | list[Path], *, strict: bool = False) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path, strict=strict)
    return [str(finding) for finding in caught.value.findings]


def test_load_file_builds_specs_with_type_uris(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  conflict: {status: 409, title: Conflict}
"""
    )
    catalog = Catalog.load(path)
    assert list(catalog) == ["conflict"]
    spec = catalog.problems["conflict"]
    assert (spec.type, spec.status, spec.title, spec.retry) == (
        "https://errors.example.com/conflict",
        409,
        "Conflict",
        "after-change",
    )
    assert (catalog.name, catalog.base_uri, catalog.version, catalog.language) == (
        "Test API",
        "https://errors.example.com/",
        "1.0.0",
        "en",
    )
    assert repr(catalog) == "<Catalog 'Test API' 1.0.0: 1 problems>"


def test_load_folder_merges_files_and_accepts_identical_headers(write: WriteCatalog) -> None:
    write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n", "a.yaml")
    write(HEADER + "problems:\n  conflict: {status: 409, title: Conflict}\n", "sub/b.yml")
    write("problems:\n  not-found: {status: 404, title: Not found}\n", "c.yaml")
    catalog = Catalog.load(write("", "ignored.txt").parent)
    assert list(catalog) == ["conflict", "gone", "not-found"]


def test_load_list_of_paths(write: WriteCatalog) -> None:
    a = write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n", "a.yaml")
    b = write("problems:\n  conflict: {status: 409, title: Conflict}\n", "b.yaml")
    assert len(Catalog.load([a, b])) == 2
    assert len(Catalog.load([str(a), str(b)])) == 2


def test_scalars_keep_the_text_as_written(write: WriteCatalog) -> None:
    path = write(
        """\
catalog: {name: T, base_uri: "https://e.example/", version: 1.10}
problems:
  teapot: {status: 418, title: 404, since: 2024-01-02}
"""
    )
    catalog = Catalog.load(path)
    assert catalog.version == "1.10"
    assert catalog.problems["teapot"].title == "404"
    assert catalog.problems["teapot"].since == "2024-01-02"


# The rows use 409, a status framework validation never lands on (400 and 422 would warn of `errors`).
# Each row: YAML after the header, and the findings it must produce (exact).
ERROR_CASES = [
    pytest.param(
        "problems:\n  gone: {stauts: 410, title: Gone}\n",
        [
            "6:10: error: unknown key 'stauts' in problem 'gone' (did you mean 'status'?); known: title, status, "
            "summary, description, resolution, extends, retry, detail, headers, members, examples, since, "
            "deprecated, aliases, grpc",
        ],
        id="unknown-key",
    ),
    pytest.param(
        "problems:\n  Bad_Slug: {status: 409, title: Bad}\n",
        ["6:3: error: slug 'Bad_Slug' must be lowercase words joined by '-' (^[a-z][a-z0-9]*(-[a-z0-9]+)*$)"],
        id="slug-syntax",
    ),
    pytest.param(
        "problems:\n  moved: {status: 301, title: Moved}\n",
        ["6:19: error: problem 'moved': status 301 is not a 4xx or 5xx error status (400..599)"],
        id="status-range",
    ),
    pytest.param(
        "problems:\n  gone: {status: '410', title: Gone}\n",
        ["6:18: error: problem 'gone': status: expected `int | null`, got `str`"],
        id="status-type",
    ),
    pytest.param(
        "problems:\n  gone: {status: 410, title: Gone, retry: sometimes}\n",
        [
            "6:43: error: problem 'gone': retry must be one of never, after-change, backoff, after-delay, "
            "not 'sometimes'"
        ],
        id="retry-enum",
    ),
    pytest.param(
        "problems:\n  child: {title: Child, extends: forbiden}\n  forbidden: {status: 403, title: Forbidden}\n",
        ["6:34: error: problem 'child' extends unknown slug 'forbiden' (did you mean 'forbidden'?)"],
        id="unknown-parent",
    ),
    pytest.param(
        "problems:\n  aaa: {title: A, extends: bbb}\n  bbb: {title: B, extends: aaa}\n",
        ["6:28: error: extends cycle: aaa -> bbb -> aaa"],
        id="cycle",
    ),
    pytest.param(
        "problems:\n  parent: {status: 403, title: P}\n  child: {status: 503, title: C, extends: parent}\n",
        [
            "7:19: error: problem 'child' has status 503 but extends 'parent' (403): a child must stay in its "
            "parent's status class, or `except` on the parent would catch the wrong errors"
        ],
        id="child-status-class",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {status: int, code: str}\n",
        [
            "9:15: error: problem 'aaa': member 'status' collides with the standard member 'status'",
            "9:28: error: problem 'aaa': member 'code' collides with the standard member 'code'",
        ],
        id="standard-collision",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {'a b': int, 'x:y': int}\n",
        [
            "9:15: error: problem 'aaa': member 'a b' is not an XML name (RFC 9457 §3.2), so it cannot be sent as "
            "problem+xml",
            "9:27: error: problem 'aaa': member 'x:y' is not an XML name (RFC 9457 §3.2), so it cannot be sent as "
            "problem+xml",
        ],
        id="xml-name",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members:\n      count: {type: 'list[nt]'}\n",
        [
            "10:27: error: problem 'aaa': member 'count': unknown type 'nt' (known: str, int, float, bool, uri, "
            "datetime, error, list[T], dict[str, T], enum[...])"
        ],
        id="member-type",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    detail: '{limt} left'\n    members: {limit: int}\n",
        [
            "9:13: error: problem 'aaa': detail template names unknown member 'limt' (did you mean 'limit'?); "
            "members: limit"
        ],
        id="template-unknown-member",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    detail: '{} left {'\n",
        [
            "9:13: error: problem 'aaa': detail template: Single '{' encountered in format string (write {{ and }} for "
            "literal braces)"
        ],
        id="template-syntax",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {limit: int}\n"
        "    examples:\n      - members: {limit: many}\n      - members: {limti: 1}\n",
        [
            "11:26: error: problem 'aaa': example 1: member 'limit' does not fit int: expected `int`, got `str`",
            "12:9: error: problem 'aaa': example 2 lacks required member 'limit'",
            "12:19: error: problem 'aaa': example 2: unknown member 'limti' (did you mean 'limit'?)",
        ],
        id="examples",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {errors: 'list[error]'}\n"
        "    examples:\n      - members: {errors: [{detail: x}, {pointer: '#/a'}]}\n",
        [
            "11:41: error: problem 'aaa': example 1: member 'errors' does not fit list[error]: object missing "
            "required field `detail`"
        ],
        id="example-nested-location",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    headers: [Retry-After, 'Bad Header', retry-after]\n",
        [
            "9:28: error: problem 'aaa': 'Bad Header' is not an HTTP field name (RFC 9110 §5.1)",
            "9:42: error: problem 'aaa': header 'retry-after' is listed twice",
        ],
        id="headers",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, deprecated: {since: 1.1.0, replaced_by: bbb}}\n",
        ["6:44: error: problem 'aaa': replaced_by 'bbb' is not another slug of the catalog"],
        id="replaced-by",
    ),
    pytest.param(
        "problems:\n  parent: {status: 409, title: P, members: {limit: int}}\n"
        "  child: {title: C, extends: parent, members: {limit: str}}\n",
        ["7:48: error: problem 'child': member 'limit' is already declared by 'parent'"],
        id="member-redeclared",
    ),
    pytest.param(
        "problems:\n  a1b: {status: 409, title: A}\n  a-1b: {status: 401, title: B}\n",
        ["6:3: error: slug 'a1b' and 'a-1b' both become class A1b"],
        id="class-name-collision",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {'retry-at': int, retry_at: int}\n",
        [
            "9:15: warning: problem 'aaa': member 'retry-at' should start with a letter and use only letters, "
            "digits and '_' (RFC 9457 §4)",
            "9:32: error: problem 'aaa': members 'retry_at' and 'retry-at' both become Python attribute 'retry_at'",
        ],
        id="attribute-collision",
    ),
    pytest.param(
        "problems: [a, b]\n",
        ["5:11: error: problems must be a mapping of slug to problem, not list"],
        id="problems-shape",
    ),
    pytest.param(
        "problem:\n  a: {status: 409, title: A}\n",
        [
            "5:1: error: unknown top-level key 'problem' (did you mean 'problems'?); "
            "known: catalog, problems, translations"
        ],
        id="top-level-key",
    ),
    pytest.param(
        "problems:\n  a: {status: 409, title: A\n",
        ["7:1: error: invalid YAML: while parsing a flow mapping expected ',' or '}', but got '<stream end>'"],
        id="bad-yaml",
    ),
    pytest.param(
        "problems:\n  a: {status: 409, title: A}\n  a: {status: 401, title: B}\n",
        ["7:3: error: duplicate key 'a' (first at line 6)"],
        id="duplicate-key-in-file",
    ),
]


ERROR_CASES += [
    pytest.param(
        "problems:\n  aaa: [1, 2]\n", ["6:8: error: problem 'aaa' must be a mapping, not list"], id="entry-shape"
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409}\n",
        ["6:8: error: problem 'aaa' is missing required key 'title'"],
        id="no-title",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: ' '}\n",
        ["6:29: error: problem 'aaa': title must not be empty"],
        id="empty-title",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, members: {limit: {description: cap}}}\n",
        ["6:49: error: problem 'aaa': member 'limit' is missing required key 'type'"],
        id="member-without-type",
    ),
    pytest.param(
        "problems:\n  ppp: {title: P}\n  ccc: {title: C, extends: ppp}\n",
        ["6:3: error: problem 'ppp' is missing required key 'status' (only a child inherits its parent's)"],
        id="child-of-broken-parent-reported-once",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, detail: 'x {} {0}'}\n",
        [
            "6:40: error: problem 'aaa': detail template field {} must name a member, like {limit}",
            "6:40: error: problem 'aaa': detail template field {0} must name a member, like {limit}",
        ],
        id="template-positional",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, detail: '{limit:{width}}', members: {limit: int}}\n",
        ["6:40: error: problem 'aaa': detail template format specs cannot nest fields"],
        id="template-nested-spec",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    detail: '{name:d}'\n    members: {name: str}\n"
        "    examples:\n      - members: {name: x}\n",
        [
            "12:9: error: problem 'aaa': example 1: the detail template cannot render these member values "
            "(check its format specs)"
        ],
        id="example-template-format",
    ),
    pytest.param(
        "problems:\n  aaa:\n    status: 409\n    title: A\n    members: {limit: 'lst[int]'}\n"
        "    examples:\n      - members: {limit: 1}\n",
        [
            "9:23: error: problem 'aaa': member 'limit': unknown type 'lst' (known: str, int, float, bool, uri, "
            "datetime, error, list[T], dict[str, T], enum[...])"
        ],
        id="broken-member-reported-once",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, deprecated: {replaced_by: aaa}}\n",
        [
            "6:44: error: problem 'aaa': deprecated is missing required key 'since'",
            "6:44: error: problem 'aaa': replaced_by 'aaa' is not another slug of the catalog (it is this problem)",
        ],
        id="deprecated",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, examples: [{instance: 'a b'}]}\n",
        ["6:54: error: problem 'aaa': example 1: instance must be a URI reference"],
        id="example-instance",
    ),
    pytest.param(
        "problems:\n  aaa: {status: 409, title: A, members: [x]}\n",
        ["6:41: error: problem 'aaa': members: expected a mapping, got a list"],
        id="members-shape",
    ),
]


# gRPC: the code a problem names, and slugs that must fit `ErrorInfo.reason`.
ERROR_CASES += [
    pytest.param(
        "problems:\n  gone: {status: 410, title: Gone, grpc: NOT_FUND}\n",
        ["6:42: error: problem 'gone': grpc 'NOT_FUND' is no google.rpc.Code name (did you mean 'NOT_FOUND'?)"],
        id="grpc-unknown-code",
    ),
    pytest.param(
        "problems:\n  gone: {status: 410, title: Gone, grpc: not_found}\n",
        ["6:42: error: problem 'gone': grpc 'not_found' is no google.rpc.Code name (did you mean 'NOT_FOUND'?)"],
        id="grpc-code-in-lowercase",
    ),
    pytest.param(
        "problems:\n  gone:\n    status: 410\n    title: Gone\n    grpc: OK\n",
        ["9:11: error: problem 'gone': grpc 'OK' is the code of a success, not of a problem"],
        id="grpc-ok",
    ),
    pytest.param(
        "problems:\n  ab: {status: 409, title: A}\n  abc: {status: 410, title: C}\n",
        ["6:3: error: slug 'ab' must be 3 to 63 characters long: gRPC sends it as ErrorInfo.reason"],
        id="slug-too-short",
    ),
    pytest.param(
        f"problems:\n  {'x' * 59}-long: {{status: 409, title: A}}\n  {'x' * 58}-long: {{status: 410, title: B}}\n",
        [f"6:3: error: slug '{'x' * 59}-long' must be 3 to 63 characters long: gRPC sends it as ErrorInfo.reason"],
        id="slug-too-long",
    ),
]


@pytest.mark.parametrize(("body", "expected"), ERROR_CASES)
def test_validation_findings_are_exact(write: WriteCatalog, body: str, expected: list[str]) -> None:
    path = write(HEADER + body)
    assert findings(path) == [f"{path}:{line}" for line in expected]


def test_missing_status_is_its_own_finding(write: WriteCatalog) -> None:
    path = write(HEADER + "problems:\n  gone: {title: Gone}\n")
    assert findings(path) == [
        f"{path}:6:3: error: problem 'gone' is missing required key 'status' (only a child inherits its parent's)"
    ]


def test_every_finding_is_reported_not_just_the_first(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  gone: {stauts: 410, title: Gone}
  moved: {status: 301, title: Moved}
  child: {title: C, extends: nothing}
"""
    )
    lines = findings(path)
    assert len(lines) == 3
    assert [line.split(":")[1] for line in lines] == ["6", "7", "8"]


def test_header_rules(write: WriteCatalog, tmp_path: Path) -> None:
    bad = write(
        """\
catalog: {name: '', base_uri: errors.example.com/, language: 'english!', colour: red}
problems: {}
""",
        "bad/errors.yaml",
    )
    assert findings(bad) == [
        f"{bad}:1:17: error: catalog name must not be empty",
        f"{bad}:1:31: error: base_uri must be an absolute URI (RFC 9457 §3.1.1), not 'errors.example.com/'",
        f"{bad}:1:62: error: language must be a BCP 47 tag such as 'en' or 'pt-BR', not 'english!'",
        f"{bad}:1:74: error: unknown key 'colour' in catalog header; "
        "known: name, base_uri, version, language, framework_errors, domain",
    ]
    bad.write_text("catalog: {name: '', base_uri: errors.example.com/, language: 'english!'}\nproblems: {}\n")
    assert len(findings(bad)) == 3
    bad.write_text("catalog: {name: X, base_uri: 'https://errors.example.com'}\n")
    assert findings(bad) == [
        f"{bad}:1:30: error: base_uri must end with '/', '#', ':' or '=' so that base_uri + slug reads right "
        "(this one gives 'https://errors.example.comconflict')"
    ]
    urn = write("catalog: {name: X, base_uri: 'urn:problem-type:example:'}\nproblems: {abc: {status: 400, title: A}}\n")
    assert Catalog.load(urn).problems["abc"].type == "urn:problem-type:example:abc"


def test_headers_in_several_files_must_agree(write: WriteCatalog) -> None:
    write(HEADER + "problems: {}\n", "a.yaml")
    b = write(HEADER.replace("1.0.0", "2.0.0") + "problems: {}\n", "b.yaml")
    assert findings(b.parent) == [
        f"{b}:2:3: error: catalog header differs from the one at {b.parent / 'a.yaml'}:2 in version; "
        "headers in several files must be identical"
    ]


def test_empty_file_is_a_warning(write: WriteCatalog) -> None:
    empty = write("", "a/empty.yaml")
    write(HEADER + "problems: {abc: {status: 409, title: A}}\n", "a/errors.yaml")
    catalog = Catalog.load(empty.parent)
    assert [str(warning) for warning in catalog.warnings] == [f"{empty}:1:1: warning: empty catalog file"]


def test_missing_header_and_paths(write: WriteCatalog, tmp_path: Path) -> None:
    path = write("problems: {abc: {status: 400, title: A}}\n")
    assert findings(path) == [f"{path}: error: no `catalog:` header (name, base_uri) in any file"]
    assert findings(tmp_path / "nowhere.yaml") == [
        f"{tmp_path / 'nowhere.yaml'}: error: no such file or folder ({tmp_path / 'nowhere.yaml'})"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert findings(empty) == [f"{empty}: error: folder holds no .yaml or .yml catalog files"]


def test_a_missing_path_is_named_as_given_and_resolved_without_a_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")
    (finding,) = findings("catalogs/")
    assert str(finding) == f"catalogs/: error: no such file or folder ({tmp_path / 'app' / 'catalogs'})"
    with pytest.raises(CatalogError) as caught:
        Catalog.load("../app/./catalogs")
    (missing,) = caught.value.findings
    assert (missing.path, missing.line, missing.column) == ("../app/./catalogs", None, None)
    assert missing.message == f"no such file or folder ({tmp_path / 'app' / 'catalogs'})"


def test_duplicate_slugs_across_files(write: WriteCatalog) -> None:
    a = write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n", "a.yaml")
    b = write("problems:\n  gone: {status: 410, title: Gone again}\n", "b.yaml")
    assert findings(a.parent) == [f"{b}:2:3: error: duplicate slug 'gone', first defined at {a}:6:3"]


def test_not_utf8_and_not_a_mapping(write: WriteCatalog, tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert findings(binary) == [f"{binary}:1:1: error: not UTF-8 text (invalid start byte at byte 0)"]
    later = tmp_path / "later.yaml"
    later.write_bytes(b"catalog:\n  name: \xc3\x87a \xff\n")  # the column counts characters: \xc3\x87 is one
    assert findings(later) == [f"{later}:2:12: error: not UTF-8 text (invalid start byte at byte 21)"]
    listing = write("- a\n- b\n")
    assert findings(listing) == [
        f"{listing}:1:1: error: a catalog file is a mapping with `catalog` and `problems`, not list"
    ]


def test_warnings_do_not_fail_unless_strict(write: WriteCatalog) -> None:
    path = write(HEADER + "problems:\n  abc: {status: 400, title: A, members: {ip: str, Bad-Name: int}}\n")
    catalog = Catalog.load(path)
    assert [str(warning) for warning in catalog.warnings] == [
        f"{path}:6:42: warning: problem 'abc': member 'ip' should be three characters or longer (RFC 9457 §4)",
        f"{path}:6:51: warning: problem 'abc': member 'Bad-Name' should start with a letter and use only letters, "
        "digits and '_' (RFC 9457 §4)",
    ]
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path, strict=True)
    assert all(finding.severity == "warning" for finding in caught.value.findings)
    assert caught.value.findings[0] == Finding(
        path=str(path),
        line=6,
        column=42,
        message="problem 'abc': member 'ip' should be three characters or longer (RFC 9457 §4)",
        severity="warning",
    )


def test_catalog_error_message_lists_every_finding(write: WriteCatalog) -> None:
    path = write(HEADER + "problems:\n  aaa: {status: 1, title: A}\n  bbb: {status: 2, title: B}\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    assert str(caught.value).splitlines()[0] == "catalog has 2 error(s)"
    assert len(str(caught.value).splitlines()) == 3


def test_inheritance_resolves_status_retry_template_headers_and_members(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  forbidden:
    status: 403
    title: Forbidden
    retry: never
    detail: "denied for {subject}"
    headers: [X-Reason]
    members: {subject: str}
  ip-not-allowed:
    extends: forbidden
    title: IP not allowed
    headers: [X-Allowed]
    members: {detected_ip: str}
"""
    )
    catalog = Catalog.load(path)
    child = catalog.problems["ip-not-allowed"]
    assert (child.status, child.retry, child.detail, child.headers) == (
        403,
        "never",
        "denied for {subject}",
        ("X-Reason", "X-Allowed"),
    )
    assert [(member.name, member.declared_by) for member in child.members] == [
        ("subject", "forbidden"),
        ("detected_ip", "ip-not-allowed"),
    ]
    Forbidden, IpNotAllowed = catalog["forbidden"], catalog["ip-not-allowed"]
    assert issubclass(IpNotAllowed, Forbidden)
    with pytest.raises(Forbidden):
        raise IpNotAllowed(subject="key k1", detected_ip="203.0.113.42")


def test_required_defaults_to_not_nullable(write: WriteCatalog) -> None:
    path = write(HEADER + "problems:\n  abc: {status: 400, title: A, members: {x: 'int | None', y: int}}\n")
    members = {member.name: member.required for member in Catalog.load(path).problems["abc"].members}
    assert members == {"x": False, "y": True}


ALIASES = (
    HEADER
    + """\
problems:
  gone: {status: 410, title: Gone, aliases: [deleted, removed]}
  not-found: {status: 404, title: Not found, aliases: [Bad_Alias, gone, deleted]}
"""
)


def test_aliases_are_former_slugs_checked_like_slugs(write: WriteCatalog) -> None:
    path = write(ALIASES)
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    assert [str(finding) for finding in caught.value.findings] == [
        f"{path}:7:56: error: problem 'not-found': alias 'Bad_Alias' is not a slug",
        f"{path}:7:67: error: problem 'not-found': alias 'gone' is a current slug",
        f"{path}:7:73: error: problem 'not-found': alias 'deleted' is already an alias of 'gone'",
    ]


def test_an_unknown_key_hides_no_other_finding(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  conflict:
    titel: Conflict
    status: 409
    members:
      ids: {type: "lst[str]"}
  edit-conflict:
    extends: conflict
    title: Edit conflict
    status: 500
  other:
    extends: conflct
    title: Other
"""
    )
    found = [finding.removeprefix(f"{path}:") for finding in findings(path)]
    assert len(found) == 4, found
    assert found[0].startswith("7:5: error: unknown key 'titel' in problem 'conflict' (did you mean 'title'?)")
    assert found[1].startswith("10:20: error: problem 'conflict': member 'ids': unknown type 'lst'")
    assert found[2].startswith("14:13: error: problem 'edit-conflict' has status 500 but extends 'conflict' (409)")
    assert found[3] == "16:14: error: problem 'other' extends unknown slug 'conflct' (did you mean 'conflict'?)"


def test_a_problem_without_a_title_is_still_checked_through(write: WriteCatalog) -> None:
    path = write(HEADER + "problems:\n  gone:\n    status: 99\n")
    assert [finding.removeprefix(f"{path}:") for finding in findings(path)] == [
        "7:5: error: problem 'gone' is missing required key 'title'",
        "7:13: error: problem 'gone': status 99 is not a 4xx or 5xx error status (400..599)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"Nul \\0 here"', "U+0000 is a control character, which no output can carry"),
        ('"escape \\e"', "U+001B is a control character, which no output can carry"),
        ('"lone \\ud800"', "U+D800 is a lone surrogate, which no output can carry"),
    ],
)
def test_text_no_output_can_carry_is_refused_where_it_stands(write: WriteCatalog, text: str, message: str) -> None:
    path = write(HEADER + f"problems:\n  gone:\n    title: Gone\n    status: 410\n    summary: {text}\n")
    assert findings(path) == [f"{path}:9:14: error: {message}"]


def test_member_names_that_break_other_ecosystems_are_refused(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  gone:
    title: Gone
    status: 410
    members:
      __proto__: str
      constructor: str
      i: str
      "\ufb01le": str
      file: str
"""
    )
    found = [finding.removeprefix(f"{path}:") for finding in findings(path)]
    assert found == [
        "10:7: error: problem 'gone': member '__proto__': '__proto__' is a member of every JavaScript object: "
        "it breaks the generated TypeScript and JSON tools",
        "11:7: error: problem 'gone': member 'constructor': 'constructor' is a member of every JavaScript object: "
        "it breaks the generated TypeScript and JSON tools",
        "12:7: error: problem 'gone': member 'i': 'i' marks array items in problem+xml (RFC 9457 Appendix B): "
        "choose another name",
        "13:7: error: problem 'gone': member '\ufb01le' is not ASCII: problem+xml and Python names need ASCII member "
        "names",
    ]


def test_template_widths_are_bounded(write: WriteCatalog) -> None:
    path = write(
        HEADER + 'problems:\n  gone:\n    title: Gone\n    status: 410\n    detail: "{num:>2000000000}"\n'
        "    members: {num: int}\n"
    )
    (finding,) = findings(path)
    assert finding.endswith("detail template field {num:>2000000000}: widths and precisions are at most 200")


@pytest.mark.parametrize(
    ("spec", "bounded"),
    [
        ("0" * 5000 + "1", True),  # Python reads width 1; `int()` alone refuses 5001 digits
        ("0" * 5000 + "201", False),
        ("\u0660" * 10 + "\u0662\u0660\u0660", True),  # ARABIC-INDIC digits: 200, zeros first
        ("\u0662\u0660\u0661", False),  # 201
        ("9>5", True),  # a digit as the fill character
    ],
)
def test_template_width_digits_are_read_as_python_reads_them(write: WriteCatalog, spec: str, bounded: bool) -> None:
    path = write(
        HEADER + f'problems:\n  gone: {{status: 410, title: Gone, detail: "{{num:{spec}}}", members: {{num: int}}}}\n'
    )
    if bounded:
        assert Catalog.load(path)["gone"](num=7).detail == format(7, spec)
    else:
        (finding,) = findings(path)
        assert finding.endswith("widths and precisions are at most 200")


def test_a_datetime_template_is_checked_on_the_converted_value(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  paid:
    title: Paid
    status: 409
    detail: "Paid on {paid_at:%Y-%m-%d}."
    members: {paid_at: datetime}
    examples:
      - members: {paid_at: "2026-03-01T10:00:00Z"}
"""
    )
    (example,) = Catalog.load(path)["paid"].examples()
    assert example.detail == "Paid on 2026-03-01."


# -- which slug takes a framework error (`framework_errors`)

SHARED_422 = """\
catalog:
  name: Test API
  base_uri: https://errors.example.com/
  {extra}
problems:
  invalid-body: {{status: 422, title: Invalid body, members: {{errors: {{type: "list[error]"}}}}}}
  business-rule: {{status: 422, title: Business rule}}
  old-invalid: {{status: 400, title: Old, deprecated: {{since: 1.0.0}}}}
  needs-limit: {{status: 402, title: Quota, members: {{limit: {{type: int}}}}}}
  later: {{status: 400, title: Later, members: {{errors: {{type: "list[error]", required: false}}}}}}
"""


def test_a_status_shared_by_roots_warns_until_the_header_names_one(write: WriteCatalog) -> None:
    path = write(SHARED_422.format(extra=""))
    catalog = Catalog.load(path)
    assert [str(finding) for finding in catalog.warnings] == [
        f"{path}:6:3: warning: root problems 'business-rule', 'invalid-body' all have status 422; framework errors "
        "of that status take 'business-rule': name the one you mean in the header's framework_errors",
        f"{path}:7:3: warning: problem 'business-rule' takes the framework's 422 validation errors but declares no "
        "`errors` member: their items are sent as an undeclared `errors`; declare errors: "
        '{type: "list[error]", required: false}',
    ]
    # A retired root is never chosen, nor one with a member a framework error cannot fill.
    assert dict(catalog.status_slugs) == {422: "business-rule", 400: "later"}
    named = Catalog.load(write(SHARED_422.format(extra="framework_errors: {422: invalid-body}")))
    assert named.warnings == ()
    assert named.status_slugs[422] == "invalid-body"


_ERRORS = '{errors: {type: "list[error]", required: false}}'


def _no_errors(slug: str, status: int, line: int) -> str:
    return (
        f"{line}:3: warning: problem {slug!r} takes the framework's {status} validation errors but declares no "
        '`errors` member: their items are sent as an undeclared `errors`; declare errors: {type: "list[error]", '
        "required: false}"
    )


@pytest.mark.parametrize(
    ("header", "problems", "expected"),
    [
        pytest.param("", "  bad: {status: 400, title: Bad}\n", [_no_errors("bad", 400, 6)], id="400-root"),
        pytest.param(
            "",
            f"  bad: {{status: 400, title: Bad, members: {_ERRORS}}}\n  invalid: {{status: 422, title: Invalid}}\n",
            [_no_errors("invalid", 422, 7)],
            id="422-root",
        ),
        pytest.param(
            "  framework_errors: {400: specific}\n",
            f"  bad: {{status: 400, title: Bad, members: {_ERRORS}}}\n  specific: {{status: 400, title: Specific}}\n",
            [_no_errors("specific", 400, 8)],
            id="the-named-slug",
        ),
        pytest.param(
            "  framework_errors: {400: field-error}\n",
            f"  bad: {{status: 400, title: Bad, members: {_ERRORS}}}\n"
            "  field-error: {extends: bad, title: Field error}\n",
            [],
            id="inherited-errors",
        ),
        pytest.param(
            "",
            '  invalid: {status: 422, title: Invalid, members: {errors: "list[error]"}}\n',
            [],
            id="required-errors",
        ),
        pytest.param("", "  conflict: {status: 409, title: Conflict}\n", [], id="no-validation-status"),
        # A 400 whose required member a framework error cannot fill is not where validation lands.
        pytest.param("", "  bad: {status: 400, title: Bad, members: {field: str}}\n", [], id="not-a-target"),
    ],
)
def test_check_warns_when_framework_validation_lands_on_a_slug_without_errors(
    write: WriteCatalog, header: str, problems: str, expected: list[str]
) -> None:
    path = write(HEADER + header + "problems:\n" + problems)
    assert [str(finding) for finding in Catalog.load(path).warnings] == [f"{path}:{line}" for line in expected]


def test_a_required_list_of_items_is_filled_empty(write: WriteCatalog) -> None:
    from problemdetails._decider import problem_for_status

    catalog = Catalog.load(write(SHARED_422.format(extra="framework_errors: {422: invalid-body}")))
    assert problem_for_status(catalog, 422).members["errors"] == []
    assert problem_for_status(catalog, 402).type == "about:blank"  # `needs-limit` cannot be built from a status


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ("{422: nope}", "framework_errors: 422: 'nope' is not a slug of the catalog"),
        ("{400: business-rule}", "framework_errors: 400: 'business-rule' has status 422, not 400"),
        ("{400: old-invalid}", "framework_errors: 400: 'old-invalid' is retired; name the slug that replaces it"),
        (
            "{402: needs-limit}",
            "framework_errors: 402: 'needs-limit' requires members (limit) that a framework error cannot fill",
        ),
    ],
    ids=["unknown", "other-status", "retired", "required-members"],
)
def test_a_named_slug_must_take_framework_errors(write: WriteCatalog, named: str, message: str) -> None:
    path = write(SHARED_422.format(extra=f"framework_errors: {named}"))
    errors = [finding for finding in findings(path) if ": error: " in finding]
    assert errors == [f"{path}:4:27: error: {message}"]  # at the slug


def test_a_framework_errors_key_must_be_an_error_status(write: WriteCatalog) -> None:
    path = write(SHARED_422.format(extra="framework_errors: {200: later, x: later}"))
    assert [finding for finding in findings(path) if ": error: " in finding] == [
        f"{path}:4:22: error: framework_errors: '200' is not a status from 400 to 599",
        f"{path}:4:34: error: framework_errors: 'x' is not a status from 400 to 599",
    ]


# A child's own findings do not wait for its parent, or the header, to be fixed (README:
# every finding in one run). Each row: a catalog whose parent (or header) is broken, and
# every finding it must produce, the child's included.
_CHILD = "  upstream-conflict: {extends: conflict, status: 502, title: Upstream conflict}\n"
_BROKEN_MEMBER = "members: {things: 'lst[int]'}"
_MEMBER_FINDING = (
    "error: problem 'conflict': member 'things': unknown type 'lst' (known: str, int, float, bool, uri, datetime, "
    "error, list[T], dict[str, T], enum[...])"
)
_CLASS_FINDING = (
    "error: problem 'upstream-conflict' has status 502 but extends 'conflict' (409): a child must stay in its "
    "parent's status class, or `except` on the parent would catch the wrong errors"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            HEADER + f"problems:\n  conflict: {{status: 409, title: Conflict, {_BROKEN_MEMBER}}}\n" + _CHILD,
            [f"6:63: {_MEMBER_FINDING}", f"7:50: {_CLASS_FINDING}"],
            id="parent-with-a-bad-member-type",
        ),
        pytest.param(
            "catalog:\n  name: Test API\n"
            f"problems:\n  conflict: {{status: 409, title: Conflict, {_BROKEN_MEMBER}}}\n" + _CHILD,
            [
                "2:3: error: catalog header is missing required key 'base_uri'",
                f"4:63: {_MEMBER_FINDING}",
                f"5:50: {_CLASS_FINDING}",
            ],
            id="header-without-base-uri",
        ),
        pytest.param(
            "catalog:\n  name: Test API\n  base_uri: errors\n"
            f"problems:\n  conflict: {{status: 409, title: Conflict, {_BROKEN_MEMBER}}}\n" + _CHILD,
            [
                "3:13: error: base_uri must be an absolute URI (RFC 9457 §3.1.1), not 'errors'",
                f"5:63: {_MEMBER_FINDING}",
                f"6:50: {_CLASS_FINDING}",
            ],
            id="header-with-a-bad-base-uri",
        ),
        pytest.param(
            HEADER
            + f"problems:\n  conflict: {{extends: nothing, status: 409, title: Conflict, {_BROKEN_MEMBER}}}\n"
            + _CHILD,
            [
                "6:23: error: problem 'conflict' extends unknown slug 'nothing'",
                f"6:81: {_MEMBER_FINDING}",
                f"7:50: {_CLASS_FINDING}",
            ],
            id="parent-of-an-unknown-parent",
        ),
        pytest.param(
            HEADER + "problems:\n  aaa: {extends: conflict, title: A}\n"
            "  conflict: {extends: aaa, status: 409, title: Conflict}\n" + _CHILD,
            ["6:18: error: extends cycle: aaa -> conflict -> aaa", f"8:50: {_CLASS_FINDING}"],
            id="parent-in-a-cycle",
        ),
        pytest.param(
            # Without the parent's status the class cannot be checked; the child's own template still is.
            HEADER + f"problems:\n  conflict: {{title: Conflict, {_BROKEN_MEMBER}}}\n"
            "  upstream-conflict: {extends: conflict, status: 502, title: U, detail: '{n:>999} {things}', "
            "members: {count: int}}\n",
            [
                "6:3: error: problem 'conflict' is missing required key 'status' (only a child inherits its parent's)",
                f"6:50: {_MEMBER_FINDING}",
                # `{things}` is the parent's member, refused there: not reported again here.
                "7:73: error: problem 'upstream-conflict': detail template names unknown member 'n'; members: count",
                "7:73: error: problem 'upstream-conflict': detail template field {n:>999}: widths and precisions are "
                "at most 200",
            ],
            id="parent-without-status",
        ),
        pytest.param(
            # A parent that is not there may declare any member: only what is known to be wrong is reported.
            HEADER + "problems:\n  upstream-conflict: {extends: conflict, status: 502, title: U, "
            "detail: '{n:>999} {things}', examples: [{members: {things: 1, count: x}}], members: {count: int}}\n",
            [
                "6:32: error: problem 'upstream-conflict' extends unknown slug 'conflict'",
                "6:73: error: problem 'upstream-conflict': detail template field {n:>999}: widths and precisions are "
                "at most 200",
                "6:134: error: problem 'upstream-conflict': example 1: member 'count' does not fit int: expected "
                "`int`, got `str`",
            ],
            id="child-of-an-unknown-parent",
        ),
    ],
)
def test_a_broken_parent_or_header_hides_no_finding_of_a_child(
    write: WriteCatalog, text: str, expected: list[str]
) -> None:
    path = write(text)
    assert findings(path) == [f"{path}:{line}" for line in expected]


def test_grpc_codes_are_inherited_and_default_to_the_status(write: WriteCatalog) -> None:
    path = write(
        HEADER
        + """\
problems:
  conflict: {status: 409, title: Conflict, grpc: ALREADY_EXISTS}
  zone-exists: {extends: conflict, title: Zone exists}
  stale-version: {extends: conflict, title: Stale version, grpc: ABORTED}
  locked: {extends: stale-version, title: Locked}
  gone: {status: 410, title: Gone}
  throttled: {status: 429, title: Throttled}
  overloaded: {status: 529, title: Overloaded}
"""
    )
    catalog = Catalog.load(path)
    assert {slug: catalog.grpc_code(slug) for slug in catalog} == {
        "conflict": "ALREADY_EXISTS",
        "zone-exists": "ALREADY_EXISTS",  # the parent's
        "stale-version": "ABORTED",  # its own, over the parent's
        "locked": "ABORTED",  # its parent's own
        "gone": "FAILED_PRECONDITION",  # DESIGN.md's table: other 4xx
        "throttled": "RESOURCE_EXHAUSTED",
        "overloaded": "INTERNAL",  # other 5xx
    }
    assert catalog.problems["zone-exists"].grpc == "ALREADY_EXISTS"
    assert catalog.problems["gone"].grpc is None  # none named: the status decides, wherever it is read


def test_the_grpc_domain_is_the_headers_else_the_host_of_base_uri(write: WriteCatalog) -> None:
    plain = Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone, grpc: NOT_FOUND}\n"))
    assert plain.domain == "errors.example.com"
    named = Catalog.load(write(HEADER + "  domain: zones.example.com\nproblems: {}\n", "named/errors.yaml"))
    assert named.domain == "zones.example.com"
    urn = Catalog.load(write("catalog: {name: X, base_uri: 'urn:example:'}\nproblems: {}\n", "urn/errors.yaml"))
    assert urn.domain == "urn:example:"  # no host: the base itself, unique as a domain must be
    # Generated modules embed `to_json()`: both keys travel, and a catalog naming neither keeps its bytes.
    for catalog in (plain, named):
        again = Catalog.from_json(catalog.to_json())
        assert again == catalog
        assert again.domain == catalog.domain
    assert Catalog.from_json(plain.to_json()).grpc_code("gone") == "NOT_FOUND"
    assert b'"domain"' not in plain.to_json()
    assert b'"domain": "zones.example.com"' in named.to_json()
    assert b'"grpc": "NOT_FOUND"' in plain.to_json()
