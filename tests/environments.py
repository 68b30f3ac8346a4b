"""Virtualenvs that hold only what one install line installs, made offline from the suite's own.

The suite's environment has every framework, client and tool, so a command run
in it cannot show that an install line the project gives (`make demo`'s, the
README's) misses a package, or that what it does install behaves differently
(Starlette's TestClient warns with `httpx` and not with `httpx2`). `environment()`
resolves the requirements against the installed distributions, dependencies and
extras included, and links exactly their installed files into a new virtualenv:
the same code, no network, no build, nothing else importable.
"""

from __future__ import annotations

import sys
import venv
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["environment", "resolve"]


def resolve(requirements: Iterable[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `requirements` need, by canonical name; a missing or too old one fails."""
    found: dict[str, metadata.Distribution] = {}
    extras_of: dict[str, set[str]] = {}
    pending = [Requirement(line) for line in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        extras = {""} | {canonicalize_name(extra) for extra in requirement.extras}
        if name in found and extras <= extras_of[name]:
            continue
        distribution = found.setdefault(name, metadata.distribution(name))
        version = distribution.version
        assert requirement.specifier.contains(version, prereleases=True), f"{name} {version} is not {requirement}"
        extras_of.setdefault(name, set()).update(extras)
        for line in distribution.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(needed)
    return found


def environment(requirements: Iterable[str], folder: Path) -> Path:
    """A virtualenv in `folder` holding the distributions `requirements` resolve to; returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    python = folder / "bin" / "python"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = folder / "lib" / version / "site-packages"
    for distribution in resolve(requirements).values():
        for file in distribution.files or []:
            # Scripts live outside site-packages (`../../../bin/...`) and compiled files are rebuilt.
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            source = Path(str(distribution.locate_file(file)))
            target = site_packages / file
            if source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source)
    return python
