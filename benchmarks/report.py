"""Where a benchmark's Markdown report goes (the file given with `--write`, else standard output), and its tables."""

from __future__ import annotations

from pathlib import Path


def publish(text: str, path: Path | None) -> None:
    if path is not None:
        path.write_text(text)
        print(f"wrote {path}")
    else:
        print(text)


def error_table(
    title: str, times: dict[str, float], floor: str, ours: str, media_types: dict[str, str] | None = None
) -> list[str]:
    """An error path's table: each contender's time, its cost above `floor`, and that cost over `ours`'.

    Each row is also printed, as the run goes.
    """
    base, cost = times[floor], times[ours] - times[floor]
    media = media_types is not None
    rows = [
        "",
        f"**{title}**",
        "",
        "| contender |" + (" media type |" if media else "") + " time per request | above the floor"
        " (error-handling cost) | cost ratio to problemdetails |",
        "|---|" + ("---|" if media else "") + "---:|---:|---:|",
    ]
    for name, seconds in times.items():
        ratio = f"{(seconds - base) / cost:.2f}x" if seconds > base else ""
        media_type = f" {media_types[name]} |" if media_types is not None else ""
        rows.append(f"| {name} |{media_type} {seconds * 1e6:.1f} µs | {(seconds - base) * 1e6:.1f} µs | {ratio} |")
        print(f"{title[:30]:30s} {name[:60]:60s} {seconds * 1e6:8.1f} µs", flush=True)
    return rows
