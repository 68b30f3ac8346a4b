"""The public API is fully typed for users' type checkers (`pyright --verifytypes problemdetails`).

An attribute without a declared type, or a type that refers to one, is "ambiguous": each checker
may infer something else for it in a user's project. `make check` fails below 95%; this keeps it
at 100%.
"""

from __future__ import annotations

import pytest

from tests.tools import type_completeness
from tests.tools.type_completeness import PYRIGHT, completeness


def test_every_public_name_is_fully_typed() -> None:
    if not PYRIGHT.exists():
        pytest.fail(f"{PYRIGHT} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    score, found = completeness()
    assert found == []
    assert score == 1.0


@pytest.mark.parametrize(("score", "status"), [(0.949, 1), (0.95, 0), (1.0, 0)])
def test_the_check_fails_below_95_percent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], score: float, status: int
) -> None:
    monkeypatch.setattr(type_completeness, "completeness", lambda: (score, ["problemdetails.X: ambiguous"]))
    assert type_completeness.main([]) == status
    assert capsys.readouterr().out.splitlines()[0] == "problemdetails.X: ambiguous"  # what to fix is named
