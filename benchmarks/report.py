"""Where a benchmark's Markdown report goes: the file given with `--write`, else standard output."""

from __future__ import annotations

from pathlib import Path


def publish(text: str, path: Path | None) -> None:
    if path is not None:
        path.write_text(text)
        print(f"wrote {path}")
    else:
        print(text)
