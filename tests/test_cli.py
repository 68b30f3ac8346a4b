from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from problemdetails._cli import main
from tests.conftest import BUNDLED, HEADER, WriteCatalog

BROKEN = (
    HEADER
    + """\
problems:
  gone: {stauts: 410, title: Gone}
  moved: {status: 301, title: Moved}
  child: {title: C, extends: nothing, members: {ip: str}}
"""
)


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(BUNDLED)]) == 0
    out, err = capsys.readouterr()
    assert out == "Standard problems: 19 problems, 0 warning(s)\n"
    assert err == ""


def test_check_prints_every_finding_with_position(write: WriteCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(BROKEN)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:6:10: error: unknown key 'stauts' in problem 'gone' (did you mean 'status'?); known: title, "
        "status, summary, description, resolution, extends, retry, detail, headers, members, examples, since, "
        "deprecated, aliases, grpc",
        f"{path}:7:19: error: problem 'moved': status 301 is not a 4xx or 5xx error status (400..599)",
        f"{path}:8:30: error: problem 'child' extends unknown slug 'nothing'",
        f"{path}:8:49: warning: problem 'child': member 'ip' should be three characters or longer (RFC 9457 §4)",
        "catalog has 3 error(s) and 1 warning(s)",
    ]


def test_warnings_fail_only_with_strict(write: WriteCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(HEADER + "problems:\n  abc: {status: 400, title: A, members: {ip: str}}\n")
    assert main(["check", str(path)]) == 0
    assert "warning: problem 'abc': member 'ip'" in capsys.readouterr().err
    assert main(["check", "--strict", str(path)]) == 1
    assert capsys.readouterr().err.endswith("catalog has 0 error(s) and 1 warning(s)\n")


def test_gen_writes_checks_and_refuses_to_clobber(
    write: WriteCatalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pkg" / "errors.py"
    assert main(["gen", str(BUNDLED), "--check", "--out", str(out)]) == 1
    assert "is missing" in capsys.readouterr().err

    assert main(["gen", str(BUNDLED), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (19 problem classes)\n"
    good = out.read_bytes()
    assert main(["gen", str(BUNDLED), "--check", "--out", str(out)]) == 0

    out.write_bytes(good + b"# edited\n")
    assert main(["gen", str(BUNDLED), "--check", "--out", str(out)]) == 1
    assert "is stale: run `problemdetails gen" in capsys.readouterr().err
    out.write_bytes(good)

    # A broken catalog prints its findings and leaves the previous module untouched.
    assert main(["gen", str(write(BROKEN)), "--out", str(out)]) == 1
    assert "error: problem 'moved'" in capsys.readouterr().err
    assert out.read_bytes() == good
    assert [p.name for p in out.parent.iterdir()] == ["errors.py"]  # no temporary files left


def test_gen_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen", str(BUNDLED)]) == 0
    assert capsys.readouterr().out.startswith('"""Typed problem classes for the Standard problems catalog')


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["gen", str(BUNDLED), "--check"])
    assert caught.value.code == 2
    assert "gen --check needs --out FILE" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli(write: WriteCatalog) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "problemdetails", "check", str(write(BROKEN))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count(": error: ") == 3


def _limited_memory() -> None:
    import resource

    # A template that renders a gigabyte fails fast here instead of swapping the machine.
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))


@pytest.mark.parametrize(
    ("problems", "mark"),
    [
        pytest.param(
            "  big:\n    status: 400\n    title: Big\n    detail: '{num:999999999}'\n    members: {num: int}\n"
            "    examples:\n      - members: {num: 1}\n",
            "9:13",
            id="width-of-a-template-with-an-example",
        ),
        pytest.param(
            "  big:\n    status: 400\n    title: Big\n    detail: '{num:.999999999f}'\n    members: {num: float}\n"
            "    examples:\n      - members: {num: 1.5}\n",
            "9:13",
            id="precision",
        ),
        pytest.param(
            # Python reads any Unicode decimal digit in a format spec: U+0669 is ARABIC-INDIC DIGIT NINE.
            "  big:\n    status: 400\n    title: Big\n    detail: '{num:" + "\u0669" * 9 + "}'\n"
            "    members: {num: int}\n    examples:\n      - members: {num: 1}\n",
            "9:13",
            id="width-in-unicode-digits",
        ),
        pytest.param(
            "  big:\n    status: 400\n    title: Big\n    detail: '{num:999999999}'\n    members: {num: int}\n"
            "  child:\n    extends: big\n    title: Child\n    examples:\n      - members: {num: 1}\n",
            "9:13",
            id="width-inherited-by-a-child-with-an-example",
        ),
    ],
)
@pytest.mark.parametrize("command", ["check", "build"])
def test_template_widths_are_bounded_before_any_example_renders(
    write: WriteCatalog, tmp_path: Path, command: str, problems: str, mark: str
) -> None:
    path = write(HEADER + "problems:\n" + problems)
    out = ["--out", str(tmp_path / "site")] if command == "build" else []
    result = subprocess.run(
        [sys.executable, "-m", "problemdetails", command, str(path), *out],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=_limited_memory,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{path}:{mark}: error: problem 'big': detail template field {{num:" in result.stderr
    assert "widths and precisions are at most 200" in result.stderr
    assert result.stderr.endswith("catalog has 1 error(s) and 0 warning(s)\n")
    assert not (tmp_path / "site").exists()


def test_check_warns_where_validation_items_have_no_errors_member(
    write: WriteCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(HEADER + "problems:\n  bad-input: {status: 400, title: Bad input}\n")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "Test API: 1 problems, 1 warning(s)\n"
    assert err.startswith(
        f"{path}:6:3: warning: problem 'bad-input' takes the framework's 400 validation errors but declares no "
        "`errors` member"
    )
    assert main(["check", "--strict", str(path)]) == 1
