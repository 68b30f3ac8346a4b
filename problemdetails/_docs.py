"""Minimal documentation pages, rendered on the fly from the catalog.

RFC 9457 §4: "A problem type URI SHOULD resolve to HTML documentation that
explains how to resolve the problem." Until a built doc site is mounted, the
middleware can answer `GET <docs_path><slug>` with this page, so that type URIs
pointing at the running service resolve.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

from problemdetails._catalog import Catalog
from problemdetails._spec import ProblemSpec

__all__ = ["index_page", "problem_page"]

# Raw HTML in the catalog is escaped, never passed through.
_markdown = MarkdownIt("commonmark", {"html": False})

_RETRY = {
    "never": "Do not retry: the same request will not succeed.",
    "after-change": "Retry only after changing the request, the credentials or the resource's state.",
    "backoff": "Retry with exponential backoff and jitter: the condition is usually transient.",
    "after-delay": "Retry after the time the Retry-After header gives, not before.",
}

_PAGE = """<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #121212; color: #eaeaea; }} a {{ color: #8ab4f8; }} }}
code {{ font-family: ui-monospace, monospace; }}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def _page(catalog: Catalog, title: str, body: str) -> bytes:
    return _PAGE.format(language=html.escape(catalog.language), title=html.escape(title), body=body).encode()


def problem_page(catalog: Catalog, spec: ProblemSpec) -> bytes:
    """The page for one problem type."""
    escape = html.escape
    parts = [
        f'<p><a href="./">{escape(catalog.name)}</a></p>',
        f"<h1>{escape(spec.title)}</h1>",
        f"<p>HTTP {spec.status} · <code>{escape(spec.slug)}</code> · <code>{escape(spec.type)}</code></p>",
    ]
    if spec.deprecated is not None:
        replacement = spec.deprecated.replaced_by
        instead = f' Use <a href="{escape(replacement)}">{escape(replacement)}</a>.' if replacement else ""
        parts.append(f"<p><strong>Retired since {escape(spec.deprecated.since)}.</strong>{instead}</p>")
    if spec.summary:
        parts.append(f"<p>{escape(spec.summary)}</p>")
    if spec.description:
        parts += ["<h2>When it happens</h2>", _markdown.render(spec.description)]
    if spec.resolution:
        parts += ["<h2>How to resolve it</h2>", _markdown.render(spec.resolution)]
    parts.append(f"<h2>Retrying</h2><p>{escape(_RETRY[spec.retry])}</p>")
    if spec.members:
        rows = "".join(
            f"<tr><td><code>{escape(m.name)}</code></td><td><code>{escape(m.type)}</code></td>"
            f"<td>{'yes' if m.required else 'no'}</td><td>{escape(m.description)}</td></tr>"
            for m in spec.members
        )
        parts.append(
            "<h2>Extension members</h2><table><thead><tr><th>member</th><th>type</th><th>required</th>"
            f"<th>meaning</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return _page(catalog, f"{spec.title} ({spec.status})", "\n".join(parts))


def index_page(catalog: Catalog) -> bytes:
    """Every problem type of the catalog, with an `#slug` anchor each."""
    escape = html.escape
    items = "".join(
        f'<li id="{escape(slug)}"><a href="{escape(slug)}">{escape(spec.title)}</a> '
        f"({spec.status}, <code>{escape(slug)}</code>): {escape(spec.summary)}</li>"
        for slug, spec in sorted(catalog.problems.items(), key=lambda item: (item[1].status, item[0]))
    )
    return _page(catalog, catalog.name, f"<h1>{escape(catalog.name)}</h1><ul>{items}</ul>")
