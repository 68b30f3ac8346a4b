"""How much of the public API is fully typed, as `pyright --verifytypes problemdetails` counts it.

    python tests/tools/type_completeness.py [--min 0.95]

Prints the score and every public symbol pyright cannot type (an unknown or ambiguous type, a
missing annotation that checkers could infer differently), and exits 1 below `--min`. pyright's
own exit status only says whether the score is 100%: this reads `typeCompleteness` from its JSON.
`make check` runs it; `tests/test_type_completeness.py` keeps the score at 100%.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYRIGHT = ROOT / "tests" / "tools" / "node_modules" / ".bin" / "pyright"


def completeness(python: str = sys.executable) -> tuple[float, list[str]]:
    """The completeness score (0 to 1) of `problemdetails` installed for `python`, and what lacks types."""
    if not PYRIGHT.exists():
        raise FileNotFoundError(f"{PYRIGHT} is missing: `make check` installs it (npm ci --prefix tests/tools)")
    # pyright asks the first `python` on PATH for its import paths: put this environment's first.
    # (Given a virtualenv's interpreter as --pythonpath, it did not find the package installed there.)
    path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    run = subprocess.run(
        [str(PYRIGHT), "--verifytypes", "problemdetails", "--ignoreexternal", "--outputjson"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PATH": path},
    )
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"pyright --verifytypes failed (exit {run.returncode}): {run.stderr or run.stdout}"
        ) from None
    found = [_line(diagnostic) for diagnostic in report.get("generalDiagnostics", [])]
    typed = report["typeCompleteness"]
    checked = Path(typed.get("packageRootDirectory") or ".").resolve()
    if checked != ROOT / "problemdetails":  # another checkout's, or an installed copy
        raise RuntimeError(f"pyright checked {checked}, not {ROOT / 'problemdetails'}: is it installed for {python}?")
    for symbol in typed["symbols"]:
        found += [
            f"{symbol['name']}: {_line(diagnostic)}"
            for diagnostic in symbol["diagnostics"]
            if diagnostic["severity"] == "error"
        ]
    return float(typed["completenessScore"]), found


def _line(diagnostic: dict[str, Any]) -> str:
    where = Path(diagnostic.get("file") or ".").resolve()
    line = diagnostic.get("range", {}).get("start", {}).get("line", -1) + 1
    place = f"{where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}:{line}: " if line else ""
    return place + str(diagnostic["message"]).splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="How much of problemdetails' public API is fully typed.")
    parser.add_argument("--min", type=float, default=0.95, help="the lowest score that passes (default 0.95)")
    arguments = parser.parse_args(argv)
    try:
        score, found = completeness()
    except (OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in found:
        print(line)
    print(f"problemdetails: {score:.1%} of the public API is fully typed (at least {arguments.min:.0%} required)")
    return 0 if score >= arguments.min else 1


if __name__ == "__main__":
    sys.exit(main())
